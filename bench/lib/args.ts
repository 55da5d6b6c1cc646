/** Command-line options of the benchmarks. */

/** The value of `--<name>` as a whole number of at least `min`; one sentence when it is not one. */
export function wholeNumberOption(name: string, text: string | undefined, min: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) {
    throw new Error(`--${name} is "${text}": give a whole number of at least ${min}.`);
  }
  return value;
}
