/**
 * Pre-signs transactions on worker threads (one per core), so that JavaScript signing is done
 * before the measured window and never competes with sending.
 */
import path from "node:path";

import { WorkerPool } from "./workerPool";

/** A transaction to sign: `key` indexes the keys the pool was created with. */
export interface UnsignedTx {
  key: number;
  nonce: number;
  /** null for a contract creation. */
  to: string | null;
  data: string;
  gasLimit: bigint;
}

/** What every chunk of one signing call shares. */
export interface SignContext {
  chainId: bigint;
  gasPrice: bigint;
}

export interface SignedTx {
  raw: string;
  hash: string;
}

export class SignerPool {
  private readonly pool: WorkerPool<UnsignedTx, SignedTx>;

  constructor(
    keys: readonly string[],
    private readonly chainId: bigint,
    private readonly gasPrice: bigint,
    threads?: number,
  ) {
    this.pool = new WorkerPool(path.join(__dirname, "signWorker.ts"), { keys }, threads);
  }

  get threads(): number {
    return this.pool.threads;
  }

  /** Signs `txs`, spread over the workers; the result is in the same order. */
  sign(txs: readonly UnsignedTx[]): Promise<SignedTx[]> {
    const context: SignContext = { chainId: this.chainId, gasPrice: this.gasPrice };
    return this.pool.run(txs, context);
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
