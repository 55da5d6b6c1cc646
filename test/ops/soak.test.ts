/**
 * The agents' soak, 2 minutes (`npm run soak:agents -- --minutes 2`, bench/soak/agents.ts): it
 * must exit 0 — no violation — and write its summary. The 30-minute run is in bench/results/.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";

const ROOT = path.join(__dirname, "..", "..");

describe("agents' soak (2 minutes: kill -9, an RPC outage, random attacks)", function () {
  this.timeout(900_000);
  let out: string;
  before(() => (out = mkdtempSync(path.join(tmpdir(), "soak-test-"))));
  after(() => rmSync(out, { recursive: true, force: true }));

  it("handles every attack and leaves the chain, the FlowSpec rules and the metrics in agreement", async function () {
    if (!existsSync(path.join(ROOT, "node_modules", ".bin", "anvil"))) this.skip();
    const script = path.join(ROOT, "scripts", "soak-agents.ts");
    const child = spawn(
      process.execPath,
      ["--require", "ts-node/register/transpile-only", script, "--minutes", "2", "--kill-every", "30", "--out", out],
      { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    if (code !== 0) console.log(output);
    expect(code).to.equal(0);
    const result = JSON.parse(readFileSync(path.join(out, "soak-agents-2min.json"), "utf8")) as {
      attacks: number;
      restarts: number;
      outages: number;
      requestsAnswered: number;
      violations: string[];
    };
    expect(result.violations).to.deep.equal([]);
    expect(result.attacks).to.be.greaterThan(0);
    expect(result.restarts).to.be.greaterThan(0);
    expect(result.outages).to.be.greaterThan(0);
    expect(result.requestsAnswered).to.be.greaterThan(0);
  });
});
