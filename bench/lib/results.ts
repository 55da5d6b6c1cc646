/** Writing a benchmark's results: `<base>.json`, `.md` and `.svg`, as `prettier --check .` expects. */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import prettier from "prettier";

async function writeFormatted(file: string, text: string): Promise<void> {
  const config = (await prettier.resolveConfig(file)) ?? {};
  await writeFile(file, await prettier.format(text, { ...config, filepath: file }));
}

export async function writeResults(base: string, result: unknown, markdown: string, svg: string): Promise<void> {
  await mkdir(path.dirname(base), { recursive: true });
  await writeFormatted(`${base}.json`, JSON.stringify(result, null, 2));
  await writeFormatted(`${base}.md`, markdown);
  await writeFile(`${base}.svg`, svg);
}

/**
 * For reading results written when figures were in milliseconds: renames the keys of `renames`
 * (old → new) and converts their values to seconds — a number, or every number of an object such
 * as a distribution or a median / max pair, except a `count`. Key order is kept; null (a NaN once
 * written as JSON) stays null.
 */
export function msFieldsToSeconds<T>(value: object, renames: Readonly<Record<string, string>>): T {
  const seconds = (v: unknown, key?: string): unknown =>
    typeof v === "number" && key !== "count"
      ? v / 1000
      : v !== null && typeof v === "object"
        ? Object.fromEntries(Object.entries(v).map(([k, inner]: [string, unknown]) => [k, seconds(inner, k)]))
        : v;
  const entries = Object.entries(value).map(([key, v]: [string, unknown]) =>
    renames[key] === undefined ? [key, v] : [renames[key], seconds(v)],
  );
  return Object.fromEntries(entries) as T;
}
