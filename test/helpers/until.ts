/** Polling until something holds: the tests' way to wait for another process, never a fixed sleep. */

/** Waits until `condition` holds, polling every `everyMs`; fails after `ms`, naming `what`. */
export async function until(
  condition: () => Promise<boolean> | boolean,
  ms = 20_000,
  what = "condition",
  everyMs = 25,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
