/**
 * Pre-signs transactions on worker threads (one per core), so that JavaScript signing is done
 * before the measured window and never competes with sending.
 */
import os from "node:os";
import path from "node:path";
import { Worker } from "node:worker_threads";

/** A transaction to sign: `key` indexes the keys the pool was created with. */
export interface UnsignedTx {
  key: number;
  nonce: number;
  /** null for a contract creation. */
  to: string | null;
  data: string;
  gasLimit: bigint;
}

export interface SignJob {
  id: number;
  chainId: bigint;
  gasPrice: bigint;
  txs: UnsignedTx[];
}

export interface SignedTx {
  raw: string;
  hash: string;
}

export class SignerPool {
  private readonly workers: Worker[];
  private nextJob = 1;
  private readonly waiting = new Map<number, { resolve: (signed: SignedTx[]) => void; reject: (e: Error) => void }>();

  constructor(
    keys: readonly string[],
    private readonly chainId: bigint,
    private readonly gasPrice: bigint,
    threads = Math.max(1, os.availableParallelism()),
  ) {
    // The worker is TypeScript: load it through ts-node, like this process.
    const registered = process.execArgv.some((arg) => arg.includes("ts-node/register"));
    const execArgv = registered
      ? process.execArgv
      : [...process.execArgv, "--require", "ts-node/register/transpile-only"];
    this.workers = Array.from({ length: threads }, () => {
      const worker = new Worker(path.join(__dirname, "signWorker.ts"), { workerData: { keys }, execArgv });
      worker.on("message", (message: { id: number; signed: SignedTx[] }) => {
        const waiter = this.waiting.get(message.id);
        this.waiting.delete(message.id);
        waiter?.resolve(message.signed);
      });
      worker.on("error", (error) => {
        for (const waiter of this.waiting.values()) waiter.reject(error);
        this.waiting.clear();
      });
      return worker;
    });
  }

  get threads(): number {
    return this.workers.length;
  }

  /** Signs `txs`, spread over the workers; the result is in the same order. */
  async sign(txs: readonly UnsignedTx[]): Promise<SignedTx[]> {
    const chunk = Math.max(1, Math.ceil(txs.length / (this.workers.length * 4)));
    const jobs: Promise<SignedTx[]>[] = [];
    for (let start = 0, w = 0; start < txs.length; start += chunk, w++) {
      const id = this.nextJob++;
      const job: SignJob = { id, chainId: this.chainId, gasPrice: this.gasPrice, txs: txs.slice(start, start + chunk) };
      jobs.push(
        new Promise<SignedTx[]>((resolve, reject) => {
          this.waiting.set(id, { resolve, reject });
          this.workers[w % this.workers.length].postMessage(job);
        }),
      );
    }
    return (await Promise.all(jobs)).flat();
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }
}
