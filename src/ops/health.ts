/**
 * Readiness and liveness of a long-running agent, as checks an HTTP endpoint runs on each probe.
 * A check resolves with a short note when it holds and throws one sentence when it does not; a
 * check that does not answer in time (a node that stopped answering) counts as failed.
 */
import { toOperatorError } from "../errors";

export interface Check {
  name: string;
  /** Resolves with a note ("cursor 120, head 121") when it holds; throws one sentence when not. */
  run(): Promise<string>;
}

export interface CheckResult {
  ok: boolean;
  /** The note, or the sentence saying what is wrong. */
  message: string;
}

export interface Readiness {
  ready: boolean;
  checks: Record<string, CheckResult>;
}

/** Resolves as `promise` does, or rejects with `message` after `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Runs every check at once, each within `timeoutMs`; ready when all hold. */
export async function runChecks(checks: readonly Check[], timeoutMs = 2000): Promise<Readiness> {
  const results = await Promise.all(
    checks.map(async (check): Promise<[string, CheckResult]> => {
      try {
        const note = await withTimeout(
          check.run(),
          timeoutMs,
          `The ${check.name} check did not answer within ${timeoutMs} ms.`,
        );
        return [check.name, { ok: true, message: note }];
      } catch (error) {
        return [check.name, { ok: false, message: toOperatorError(error).message }];
      }
    }),
  );
  return { ready: results.every(([, r]) => r.ok), checks: Object.fromEntries(results) };
}

export interface SyncCheckOptions {
  /** The chain head, asked of the node on each probe (so that a stopped node fails the check). */
  head(): Promise<number>;
  /** The last block the agent has dealt with (its cursor), or null before its first pass. */
  position(): number | null;
  /** The most blocks the agent may be behind the head and still be ready. */
  maxLagBlocks: number;
}

/** "synced": the node answers and the agent is within `maxLagBlocks` of its head. */
export function syncCheck(options: SyncCheckOptions): Check {
  return {
    name: "chain",
    async run() {
      let head: number;
      try {
        head = await options.head();
      } catch (error) {
        throw new Error(`The node does not answer: ${toOperatorError(error).message}`);
      }
      const position = options.position();
      if (position === null) throw new Error(`The agent has not read the chain yet (head ${head}).`);
      const lag = Math.max(0, head - position);
      if (lag > options.maxLagBlocks) {
        throw new Error(
          `The agent is at block ${position}, ${lag} blocks behind the head ${head} (at most ${options.maxLagBlocks} allowed).`,
        );
      }
      return `block ${position}, head ${head}, ${lag} behind`;
    },
  };
}

/** The back end answers: its list of rules comes back. */
export function backendCheck(backend: { readonly name: string; list(): Promise<readonly unknown[]> }): Check {
  return {
    name: "backend",
    async run() {
      let rules: readonly unknown[];
      try {
        rules = await backend.list();
      } catch (error) {
        throw new Error(`The ${backend.name} back end does not answer: ${toOperatorError(error).message}`);
      }
      return `${backend.name}: ${rules.length} rule(s) in force`;
    },
  };
}

/** Alive when the loop finished a pass (or tried one) within `maxSilenceMs`: a stuck loop is dead. */
export function loopCheck(lastActivityMs: () => number | null, maxSilenceMs: number, now = Date.now): Check {
  return {
    name: "loop",
    run() {
      const last = lastActivityMs();
      if (last === null) return Promise.resolve("starting");
      const silence = now() - last;
      if (silence > maxSilenceMs) {
        return Promise.reject(
          new Error(
            `The agent's loop has not run for ${Math.round(silence / 1000)} s (at most ${maxSilenceMs / 1000} s).`,
          ),
        );
      }
      return Promise.resolve(`last pass ${Math.round(silence / 1000)} s ago`);
    },
  };
}
