/**
 * Worker threads (one per core by default) that each run a TypeScript script: work is split into
 * chunks, spread over the workers, and the results come back in order. The benchmark signs
 * everything on them before the clock starts, so that signing never competes with sending.
 */
import os from "node:os";
import { Worker } from "node:worker_threads";

/** What a worker script receives (`payload`: its share of the items) and answers (`result`: one per item). */
export interface WorkerJob<T> {
  id: number;
  items: T[];
  /** The same for every chunk of one call (e.g. the chain id). */
  context: unknown;
}

export interface WorkerReply<R> {
  id: number;
  results?: R[];
  error?: string;
}

export class WorkerPool<T, R> {
  private readonly workers: Worker[];
  private nextJob = 1;
  private readonly waiting = new Map<number, { resolve: (results: R[]) => void; reject: (e: Error) => void }>();

  constructor(script: string, workerData: unknown, threads = Math.max(1, os.availableParallelism())) {
    // The worker is TypeScript: load it through ts-node, like this process.
    const registered = process.execArgv.some((arg) => arg.includes("ts-node/register"));
    const execArgv = registered
      ? process.execArgv
      : [...process.execArgv, "--require", "ts-node/register/transpile-only"];
    this.workers = Array.from({ length: threads }, () => {
      const worker = new Worker(script, { workerData, execArgv });
      worker.on("message", (message: WorkerReply<R>) => {
        const waiter = this.waiting.get(message.id);
        this.waiting.delete(message.id);
        if (message.error !== undefined) waiter?.reject(new Error(message.error));
        else waiter?.resolve(message.results ?? []);
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

  /** Runs `items` through the workers, in chunks of about a quarter of a worker's share. */
  async run(items: readonly T[], context: unknown): Promise<R[]> {
    const chunk = Math.max(1, Math.ceil(items.length / (this.workers.length * 4)));
    const jobs: Promise<R[]>[] = [];
    for (let start = 0, w = 0; start < items.length; start += chunk, w++) {
      const id = this.nextJob++;
      const job: WorkerJob<T> = { id, items: items.slice(start, start + chunk), context };
      jobs.push(
        new Promise<R[]>((resolve, reject) => {
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

/** The worker side: answers each job with `work(items, context)`, or the error it threw. */
export function serveJobs<T, R>(
  port: { on(event: "message", listener: (job: WorkerJob<T>) => void): void; postMessage(reply: WorkerReply<R>): void },
  work: (items: T[], context: unknown) => R[],
): void {
  port.on("message", (job) => {
    try {
      port.postMessage({ id: job.id, results: work(job.items, job.context) });
    } catch (error) {
      port.postMessage({ id: job.id, error: error instanceof Error ? error.message : String(error) });
    }
  });
}
