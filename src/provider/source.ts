/**
 * Where a provider agent reads the chain: the head block and its service's logs.
 *
 * By default an agent asks the node itself on every poll (`nodeSource`: block number, block,
 * eth_getLogs for its one service). Many agents in one process would multiply those calls; a
 * `SharedLogPoller` serves them all from one poll: one head read per interval and one eth_getLogs
 * per new block for every watched service, and it wakes an agent only when its service emitted
 * something. Each agent still decides, verifies and answers on its own, from its own account.
 */
import type { Log, Provider } from "ethers";

import { toOperatorError } from "../errors";
import { checksumHex } from "../keccak";
import type { JsonRpc } from "../rpc";

/** The latest block, as an agent needs it: its number and its time. */
export interface ChainHead {
  number: number;
  /** Unix seconds (the chain's clock). */
  timestamp: number;
  /** The block's gas limit, where the source read it (settlement sizes its batches to it). */
  gasLimit?: bigint;
}

/** A log as the agents read it: the fields they use of ethers' `Log`. */
export type ChainLog = Pick<Log, "address" | "blockNumber" | "transactionHash" | "index" | "topics" | "data">;

export interface ChainSource {
  /** The latest block. */
  head(): Promise<ChainHead>;
  /** The logs `address` emitted in blocks `fromBlock` to `toBlock` (both included), in chain order. */
  logs(address: string, fromBlock: number, toBlock: number): Promise<ChainLog[]>;
  /**
   * Calls `onLogs` whenever new logs of `address` arrive; returns the function that stops it. A
   * source without it leaves the agent to its poll interval.
   */
  watch?(address: string, onLogs: () => void): () => void;
}

/** What a source needs of the node. */
export type LogProvider = Pick<Provider, "getBlockNumber" | "getBlock" | "getLogs">;

/** The node itself, asked on every call: what an agent on its own uses. */
export function nodeSource(provider: LogProvider): ChainSource {
  return {
    async head() {
      const number = await provider.getBlockNumber();
      const block = await provider.getBlock(number);
      if (block === null) throw new Error(`The node has no block ${number}.`);
      return { number, timestamp: block.timestamp, gasLimit: block.gasLimit };
    },
    logs: (address, fromBlock, toBlock) => provider.getLogs({ address, fromBlock, toBlock }),
  };
}

/** A log as eth_getLogs gives it. */
interface RawLog {
  address: string;
  topics: string[];
  data: string;
  blockNumber: string;
  transactionHash: string;
  logIndex: string;
}

/**
 * The node itself, asked straight over JSON-RPC (`rpc`, an HttpJsonRpc where the node has a URL):
 * one eth_getBlockByNumber for the head, and logs read as they come, without ethers' provider
 * (its pure-JavaScript UTF-8 and its Log objects weigh on a busy agent).
 */
export function rpcSource(rpc: JsonRpc): ChainSource {
  return {
    async head() {
      const block = (await rpc.request("eth_getBlockByNumber", ["latest", false])) as {
        number: string;
        timestamp: string;
        gasLimit: string;
      } | null;
      if (block === null) throw new Error("The node has no latest block.");
      return { number: Number(block.number), timestamp: Number(block.timestamp), gasLimit: BigInt(block.gasLimit) };
    },
    async logs(address, fromBlock, toBlock) {
      const hex = (n: number) => "0x" + n.toString(16);
      const raw = (await rpc.request("eth_getLogs", [
        { address, fromBlock: hex(fromBlock), toBlock: hex(toBlock) },
      ])) as RawLog[];
      return raw.map((log) => ({
        address: checksumHex(log.address.slice(2)),
        topics: log.topics,
        data: log.data,
        blockNumber: Number(log.blockNumber),
        transactionHash: log.transactionHash,
        index: Number(log.logIndex),
      }));
    },
  };
}

export interface SharedLogPollerOptions {
  provider: LogProvider;
  /** Milliseconds between head polls. */
  pollMs?: number;
  /**
   * Blocks a block must be below the head before its logs are read and cached. Give the agents'
   * confirmation depth on a chain that reorganises: a cached block is never read again.
   */
  confirmations?: number;
  /** Blocks of logs kept for agents that read behind; older ranges are read from the node. */
  retainBlocks?: number;
  /** The most blocks one eth_getLogs call spans when catching up. */
  maxBlockRange?: number;
  /** Called with one sentence when a poll fails (the next poll retries). */
  onError?: (message: string) => void;
}

/**
 * One poller for many agents in one process. It caches, per block, the logs of the addresses it
 * watches; an agent's read is served from the cache when the whole range is cached for that
 * address (watched since before it, not yet pruned), and from the node otherwise.
 */
export class SharedLogPoller implements ChainSource {
  private readonly provider: LogProvider;
  private readonly pollMs: number;
  private readonly confirmations: number;
  private readonly retainBlocks: number;
  private readonly maxBlockRange: number;
  private readonly onError: (message: string) => void;

  private readonly watchers = new Map<string, Set<() => void>>();
  /** The first block whose logs are cached for each watched address. */
  private readonly watchedFrom = new Map<string, number>();
  /** Cached logs by block, then by address (lower case); every cached block has an entry. */
  private readonly cache = new Map<number, Map<string, Log[]>>();
  private latest: ChainHead | undefined;
  /** The last block whose logs are cached; -1 before the first poll. */
  private cachedTo = -1;
  private loop: Promise<void> | undefined;
  private stopping = false;
  private wake: (() => void) | undefined;
  private inFlight: Promise<void> | undefined;
  private polls = 0;

  constructor(options: SharedLogPollerOptions) {
    this.provider = options.provider;
    this.pollMs = options.pollMs ?? 1000;
    this.confirmations = options.confirmations ?? 0;
    this.retainBlocks = options.retainBlocks ?? 1000;
    this.maxBlockRange = options.maxBlockRange ?? 5000;
    this.onError = options.onError ?? (() => undefined);
    if (!Number.isInteger(this.confirmations) || this.confirmations < 0) {
      throw new Error(`A confirmation depth of ${this.confirmations} is not valid: give 0 or more blocks.`);
    }
    if (!Number.isInteger(this.retainBlocks) || this.retainBlocks < 1) {
      throw new Error(`Keeping ${this.retainBlocks} blocks of logs is not valid: give 1 or more.`);
    }
  }

  /** Polls every `pollMs` until `stop()`; a failed poll is reported and retried. */
  start(): void {
    if (this.loop) return;
    this.stopping = false;
    this.loop = (async () => {
      while (!this.stopping) {
        try {
          await this.poll();
        } catch (error) {
          this.onError(`the shared log poller failed: ${toOperatorError(error).message}`);
        }
        if (this.stopping) break;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.pollMs);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = undefined;
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.loop;
    this.loop = undefined;
  }

  /** How many polls found a new head (for tests and reports). */
  get newHeads(): number {
    return this.polls;
  }

  watch(address: string, onLogs: () => void): () => void {
    const key = address.toLowerCase();
    let set = this.watchers.get(key);
    if (!set) {
      set = new Set();
      this.watchers.set(key, set);
      // Logs of the blocks cached so far were read without this address.
      this.watchedFrom.set(key, this.cachedTo + 1);
    }
    set.add(onLogs);
    return () => {
      set.delete(onLogs);
      if (set.size === 0) {
        this.watchers.delete(key);
        this.watchedFrom.delete(key);
      }
    };
  }

  async head(): Promise<ChainHead> {
    if (this.latest === undefined) await this.poll();
    return this.latest!;
  }

  async logs(address: string, fromBlock: number, toBlock: number): Promise<Log[]> {
    const key = address.toLowerCase();
    const since = this.watchedFrom.get(key);
    const oldest = this.cachedTo - this.cache.size + 1;
    if (since === undefined || fromBlock < Math.max(since, oldest) || toBlock > this.cachedTo) {
      return this.provider.getLogs({ address, fromBlock, toBlock });
    }
    const logs: Log[] = [];
    for (let block = fromBlock; block <= toBlock; block++) logs.push(...(this.cache.get(block)?.get(key) ?? []));
    return logs;
  }

  /** One poll: reads the head and, if it moved, the new blocks' logs of every watched address. */
  poll(): Promise<void> {
    // One poll at a time: the loop and a first head() may ask together.
    this.inFlight ??= this.pollOnce().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  private async pollOnce(): Promise<void> {
    const number = await this.provider.getBlockNumber();
    if (this.latest !== undefined && number < this.latest.number) {
      // The chain went back (a reorganisation deeper than the confirmations, or a reverted
      // snapshot): forget the cache and start again from the new head.
      this.cache.clear();
      this.cachedTo = -1;
      this.latest = undefined;
      for (const key of this.watchedFrom.keys()) this.watchedFrom.set(key, 0);
    }
    if (this.latest !== undefined && number === this.latest.number) return;
    const block = await this.provider.getBlock(number);
    if (block === null) throw new Error(`The node has no block ${number}.`);
    const safe = number - this.confirmations;
    const addresses = [...this.watchers.keys()];
    const asked = new Set(addresses);
    // The first poll caches from the head on: agents read older blocks from the node.
    const from = this.cachedTo < 0 ? Math.max(0, safe) : this.cachedTo + 1;
    const fetched: Log[] = [];
    for (let start = from; addresses.length > 0 && start <= safe; start += this.maxBlockRange) {
      const end = Math.min(safe, start + this.maxBlockRange - 1);
      fetched.push(...(await this.provider.getLogs({ address: addresses, fromBlock: start, toBlock: end })));
    }
    // Everything below changes together, after the last await: readers never see half a poll.
    const touched = new Set<string>();
    for (let b = from; b <= safe; b++) this.cache.set(b, new Map());
    for (const log of fetched) {
      const key = log.address.toLowerCase();
      // An address unwatched while its logs were being read no longer wants them.
      if (!this.watchers.has(key)) continue;
      const byAddress = this.cache.get(log.blockNumber)!;
      const list = byAddress.get(key) ?? [];
      list.push(log);
      byAddress.set(key, list);
      touched.add(key);
    }
    // A watcher added during the reads missed them: its cache starts after this poll.
    for (const key of this.watchedFrom.keys()) {
      if (!asked.has(key)) this.watchedFrom.set(key, Math.max(this.watchedFrom.get(key)!, safe + 1));
    }
    if (safe >= from) this.cachedTo = safe;
    for (const b of this.cache.keys()) {
      if (b > this.cachedTo - this.retainBlocks) break;
      this.cache.delete(b);
    }
    this.latest = { number, timestamp: block.timestamp, gasLimit: block.gasLimit };
    this.polls++;
    for (const key of touched) for (const onLogs of this.watchers.get(key) ?? []) onLogs();
  }
}
