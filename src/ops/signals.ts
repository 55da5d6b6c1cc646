/**
 * Signals of a long-running agent under systemd:
 * - SIGHUP reloads the policy (one reload at a time; a SIGHUP during a reload runs one more after
 *   it); a reload that fails leaves the policy in force as it was, and says why in one sentence.
 * - SIGTERM or SIGINT starts a graceful stop: the agent finishes what is in flight and persists its
 *   cursor (the caller's `stop`), within a deadline; a second one, or the deadline, ends the
 *   process at once (what is persisted is safe: a restart resumes from it).
 */
import { toOperatorError } from "../errors";

export type StopSignal = "SIGINT" | "SIGTERM";

/** Something that can receive signals: the process, or a stand-in in tests. */
export interface SignalTarget {
  on(signal: NodeJS.Signals, listener: () => void): unknown;
  off(signal: NodeJS.Signals, listener: () => void): unknown;
}

export interface SignalOptions {
  /** Reloads the policy; its failure is reported and the old policy stays. */
  reload?: () => void | Promise<void>;
  /** What a reload did, or why it failed (one sentence each). */
  onReload?: (outcome: { ok: boolean; message: string }) => void;
  /** Called on a second stop signal, or past the stop deadline: by default exits with code 1. */
  force?: (why: string) => void;
  target?: SignalTarget;
}

export interface SignalHandling {
  /** Resolves with the first stop signal. */
  readonly stopped: Promise<StopSignal>;
  /** Resolves when the reloads asked for so far are done (tests). */
  settled(): Promise<void>;
  /** Removes the handlers. */
  dispose(): void;
}

export function handleSignals(options: SignalOptions = {}): SignalHandling {
  const target: SignalTarget = options.target ?? process;
  const force =
    options.force ??
    ((why: string) => {
      process.stderr.write(`${why}\n`);
      process.exit(1);
    });
  let reloading: Promise<void> = Promise.resolve();
  let pending = false;

  const reloadOnce = async () => {
    if (!options.reload) return;
    try {
      await options.reload();
      options.onReload?.({ ok: true, message: "The policy was reloaded." });
    } catch (error) {
      options.onReload?.({
        ok: false,
        message: `The policy was not reloaded, the old one stays in force: ${toOperatorError(error).message}`,
      });
    }
  };
  const onHangUp = () => {
    // Coalesced: however many SIGHUPs arrive during a reload, one more reload follows it.
    if (pending) return;
    pending = true;
    reloading = reloading.then(() => {
      pending = false;
      return reloadOnce();
    });
  };

  let stopSignal: StopSignal | undefined;
  let resolveStopped: (signal: StopSignal) => void = () => undefined;
  const stopped = new Promise<StopSignal>((resolve) => (resolveStopped = resolve));
  const onStop = (signal: StopSignal) => () => {
    if (stopSignal !== undefined) {
      force(`${signal} again while stopping after ${stopSignal}: exiting now; a restart resumes from the store.`);
      return;
    }
    stopSignal = signal;
    resolveStopped(signal);
  };
  const onTerm = onStop("SIGTERM");
  const onInt = onStop("SIGINT");
  target.on("SIGHUP", onHangUp);
  target.on("SIGTERM", onTerm);
  target.on("SIGINT", onInt);
  return {
    stopped,
    settled: () => reloading,
    dispose() {
      target.off("SIGHUP", onHangUp);
      target.off("SIGTERM", onTerm);
      target.off("SIGINT", onInt);
    },
  };
}

/**
 * Runs the graceful stop (`stop`: finish what is in flight, persist the cursor, close the store)
 * within `deadlineMs`; past it, `force` ends the process. Resolves once `stop` has finished.
 */
export async function stopWithin(
  stop: () => Promise<void>,
  deadlineMs: number,
  force: (why: string) => void = (why) => {
    process.stderr.write(`${why}\n`);
    process.exit(1);
  },
): Promise<void> {
  const timer = setTimeout(
    () => force(`The agent did not stop within ${deadlineMs / 1000} s: exiting now; a restart resumes from the store.`),
    deadlineMs,
  );
  try {
    await stop();
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A value that a reload replaces as a whole (the policy): readers take `current` at the start of a
 * decision and keep that one for it, so a reload never mixes two policies in one decision.
 */
export class Reloadable<T> {
  constructor(private value: T) {}

  get current(): T {
    return this.value;
  }

  set(value: T): void {
    this.value = value;
  }
}
