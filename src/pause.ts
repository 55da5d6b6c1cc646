/** Waiting in long-running loops: a pause between passes that can be cut short, and the end of a process. */

/** A wait between a loop's passes that another part of the program can end early (new work, a stop). */
export class Pause {
  private wakeUp: (() => void) | undefined;

  /** Waits `ms`, or until `wake()`. */
  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wakeUp = undefined;
        resolve();
      }, ms);
      this.wakeUp = () => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        resolve();
      };
    });
  }

  /** Ends the wait in progress, if there is one. */
  wake(): void {
    this.wakeUp?.();
  }
}

/** Resolves with the name of the first SIGINT or SIGTERM the process receives. */
export function terminationSignal(): Promise<"SIGINT" | "SIGTERM"> {
  return new Promise((resolve) => {
    process.once("SIGINT", () => resolve("SIGINT"));
    process.once("SIGTERM", () => resolve("SIGTERM"));
  });
}
