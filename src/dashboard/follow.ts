/**
 * Follows the system's events for the dashboard: reads them with eth_getLogs in bounded block
 * ranges from the deployment on, then polls the head and reads each new block's logs. The logs
 * read are those of the directory, the token and every service the directory created (a service
 * created in a range is read again over that range, so none of its first logs is missed), and the
 * transactions that settled signed orders (their calldata holds the orders' targets and sources).
 * Browser-safe.
 */
import { getAddress, type Log, type Provider } from "ethers";

import { toOperatorError } from "../errors";
import { ORDER_SETTLED_TOPIC, SERVICE_CREATED_TOPIC, type ChainBatch, type SettlementTransaction } from "./model";

export type FollowProvider = Pick<Provider, "getBlock" | "getLogs" | "getTransaction">;

export interface FollowerOptions {
  provider: FollowProvider;
  directory: string;
  token: string;
  startBlock: number;
  pollMs: number;
  maxBlockRange: number;
  /** Each range of blocks read, in order. */
  onBatch: (batch: ChainBatch) => void;
  /** One sentence when a poll fails; the next poll tries again. */
  onError: (message: string | null) => void;
  /** The chain went back below what was read (a restarted node): start again from empty. */
  onReset: () => void;
  /**
   * The services that exist now (the directory's allServices), asked with the first head: the
   * first read then takes their logs too, instead of finding them in the directory's events and
   * reading again.
   */
  listServices?: () => Promise<readonly string[]>;
}

export class ChainFollower {
  private readonly services: string[] = [];
  /** The last block read. */
  private cursor: number;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running = false;
  /** Set by stop(): a read in flight delivers nothing more. */
  private stopped = false;

  constructor(private readonly options: FollowerOptions) {
    this.cursor = options.startBlock - 1;
  }

  /** Polls every `pollMs` until stop(). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopped = false;
    this.tick();
  }

  stop(): void {
    this.running = false;
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private tick(): void {
    // Every outcome is handled here: a failure is reported and the next poll tries again.
    void this.poll()
      .then(
        () => this.options.onError(null),
        (error: unknown) => this.options.onError(toOperatorError(error).message),
      )
      .finally(() => {
        if (this.running) this.timer = setTimeout(() => this.tick(), this.options.pollMs);
      });
  }

  /** Reads every block up to the head. */
  async poll(): Promise<void> {
    const { provider, maxBlockRange } = this.options;
    // The head block itself, not just its number: a poll that finds one new block then needs no
    // other call for its time.
    const [latest, services] = await Promise.all([
      provider.getBlock("latest"),
      this.services.length === 0 && this.options.listServices ? this.options.listServices() : [],
    ]);
    if (latest === null) throw new Error("The node returned no latest block.");
    // Each is read from its first block on anyway: knowing it early only saves a second read.
    for (const service of services.map((s) => getAddress(s))) {
      if (!this.services.includes(service)) this.services.push(service);
    }
    const head = latest.number;
    if (head < this.cursor) {
      this.cursor = this.options.startBlock - 1;
      this.services.length = 0;
      this.options.onReset();
    }
    while (this.cursor < head && !this.stopped) {
      const fromBlock = this.cursor + 1;
      const toBlock = Math.min(head, fromBlock + maxBlockRange - 1);
      const logs = await this.read(fromBlock, toBlock);
      const times = new Map([[head, latest.timestamp]]);
      const missing = [...new Set(logs.map((l) => l.blockNumber)).add(toBlock)].filter((n) => !times.has(n));
      const [blockTimes, settlements] = await Promise.all([
        Promise.all(missing.map((n) => this.blockTime(n))),
        this.settlements(logs),
      ]);
      for (const [n, time] of blockTimes) times.set(n, time);
      if (this.stopped) return;
      this.options.onBatch({ logs, times, toBlock, settlements });
      this.cursor = toBlock;
    }
  }

  private async blockTime(number: number): Promise<[number, number]> {
    const block = await this.options.provider.getBlock(number);
    if (block === null) throw new Error(`The node has no block ${number}.`);
    return [number, block.timestamp];
  }

  /**
   * Each transaction that carries OrderSettled logs, read once (a JsonRpcProvider sends the calls
   * of one tick as one batch); null for one the node cannot return, so the orders still show.
   */
  private async settlements(logs: readonly Log[]): Promise<Map<string, SettlementTransaction | null>> {
    const hashes = [...new Set(logs.filter((l) => l.topics[0] === ORDER_SETTLED_TOPIC).map((l) => l.transactionHash))];
    const read = async (hash: string): Promise<[string, SettlementTransaction | null]> => {
      try {
        const tx = await this.options.provider.getTransaction(hash);
        return [hash, tx === null ? null : { data: tx.data, chainId: tx.chainId }];
      } catch {
        return [hash, null];
      }
    };
    return new Map(await Promise.all(hashes.map(read)));
  }

  private async read(fromBlock: number, toBlock: number): Promise<Log[]> {
    const { provider, directory, token } = this.options;
    const logs = await provider.getLogs({ address: [directory, token, ...this.services], fromBlock, toBlock });
    const created = logs
      .filter((l) => l.topics[0] === SERVICE_CREATED_TOPIC && getAddress(l.address) === getAddress(directory))
      .map((l) => getAddress("0x" + l.topics[2].slice(26)))
      .filter((service) => !this.services.includes(service));
    if (created.length === 0) return logs;
    this.services.push(...created);
    const more = await provider.getLogs({ address: created, fromBlock, toBlock });
    return [...logs, ...more].sort((a, b) => a.blockNumber - b.blockNumber || a.index - b.index);
  }
}
