/**
 * Follows the system's events for the dashboard: reads them with eth_getLogs in bounded block
 * ranges from the deployment on, then polls the head and reads each new block's logs. The logs
 * read are those of the directory, the token and every service the directory created (a service
 * created in a range is read again over that range, so none of its first logs is missed).
 * Browser-safe.
 */
import { getAddress, type Log, type Provider } from "ethers";

import { toOperatorError } from "../errors";
import { SERVICE_CREATED_TOPIC, type ChainBatch } from "./model";

export type FollowProvider = Pick<Provider, "getBlockNumber" | "getBlock" | "getLogs">;

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
}

export class ChainFollower {
  private readonly services: string[] = [];
  /** The last block read. */
  private cursor: number;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = true;

  constructor(private readonly options: FollowerOptions) {
    this.cursor = options.startBlock - 1;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.tick();
  }

  stop(): void {
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
        if (!this.stopped) this.timer = setTimeout(() => this.tick(), this.options.pollMs);
      });
  }

  /** Reads every block up to the head. */
  async poll(): Promise<void> {
    const { provider, maxBlockRange } = this.options;
    const head = await provider.getBlockNumber();
    if (head < this.cursor) {
      this.cursor = this.options.startBlock - 1;
      this.services.length = 0;
      this.options.onReset();
    }
    while (this.cursor < head && !this.stopped) {
      const fromBlock = this.cursor + 1;
      const toBlock = Math.min(head, fromBlock + maxBlockRange - 1);
      const logs = await this.read(fromBlock, toBlock);
      const blocks = new Set(logs.map((l) => l.blockNumber)).add(toBlock);
      const times = new Map(
        await Promise.all(
          [...blocks].map(async (n) => {
            const block = await provider.getBlock(n);
            if (block === null) throw new Error(`The node has no block ${n}.`);
            return [n, block.timestamp] as const;
          }),
        ),
      );
      if (this.stopped) return;
      this.options.onBatch({ logs, times, fromBlock, toBlock });
      this.cursor = toBlock;
    }
  }

  private async read(fromBlock: number, toBlock: number): Promise<Log[]> {
    const { provider, directory, token } = this.options;
    const logs = await provider.getLogs({ address: [directory, token, ...this.services], fromBlock, toBlock });
    const created = logs
      .filter((l) => l.topics[0] === SERVICE_CREATED_TOPIC && getAddress(l.address) === getAddress(directory))
      .map((l) => getAddress("0x" + l.topics[2].slice(26)));
    if (created.length === 0) return logs;
    this.services.push(...created);
    const more = await provider.getLogs({ address: created, fromBlock, toBlock });
    return [...logs, ...more].sort((a, b) => a.blockNumber - b.blockNumber || a.index - b.index);
  }
}
