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
