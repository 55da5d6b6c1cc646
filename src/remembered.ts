/**
 * Values computed once per key and kept, for hot paths that see the same keys again and again (an
 * order intake's victims, targets and attack sources). Bounded: emptied when it reaches `limit`.
 * A computation that throws keeps nothing.
 */
export class Remembered<K, V> {
  private readonly values = new Map<K, V>();

  constructor(private readonly limit = 100_000) {}

  get(key: K, compute: (key: K) => V): V {
    const known = this.values.get(key);
    if (known !== undefined) return known;
    const value = compute(key);
    if (this.values.size >= this.limit) this.values.clear();
    this.values.set(key, value);
    return value;
  }
}
