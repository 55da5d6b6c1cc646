/** `npx hardhat agent victim`, run in-process against the small Internet, with a provider agent. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import hre from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";

import type { VictimSummary } from "../../src/victim/agent";
import { systemAddresses } from "../../src/deploy";
import { DEPLOYMENT_DIR_ENV, writeDeployment } from "../../src/deployment";
import { deploySmallInternet, providerAgent } from "./helpers";

async function runTask(task: string, args: Record<string, unknown>, scope = "agent") {
  const out: string[] = [];
  const { log, error } = console;
  const previous = process.exitCode;
  process.exitCode = undefined;
  console.log = (...parts: unknown[]) => void out.push(parts.map(String).join(" "));
  console.error = (...parts: unknown[]) => void out.push(parts.map(String).join(" "));
  try {
    const result: unknown = await hre.run({ scope, task }, args);
    return { result, output: out.join("\n"), exitCode: Number(process.exitCode ?? 0) };
  } finally {
    console.log = log;
    console.error = error;
    process.exitCode = previous;
  }
}

describe("agent tasks", function () {
  let dir: string;
  const previousDir = process.env[DEPLOYMENT_DIR_ENV];

  before(function () {
    dir = mkdtempSync(path.join(tmpdir(), "agent-tasks-"));
    process.env[DEPLOYMENT_DIR_ENV] = path.join(dir, "deployment");
  });

  after(function () {
    if (previousDir === undefined) delete process.env[DEPLOYMENT_DIR_ENV];
    else process.env[DEPLOYMENT_DIR_ENV] = previousDir;
    rmSync(dir, { recursive: true, force: true });
  });

  /** `agent victim` for an attack from Gamma's network, with Gamma's provider agent running. */
  async function victimBuysFromGamma() {
    const net = await loadFixture(deploySmallInternet);
    // The fixture's snapshot brings back its last block, minutes old by now and behind the clock
    // other tests moved forward: the agent dates its deadline from the latest block, as on a
    // live chain, where that block is seconds old. Make it so here.
    await hre.network.provider.send("evm_mine", []);
    writeDeployment(path.join(dir, "deployment"), await systemAddresses(net.system));
    const report = path.join(dir, "attack.json");
    writeFileSync(report, JSON.stringify({ target: "203.0.113.10/32", lifetime: 3600, topTalkers: ["192.0.2.66"] }));
    const gamma = providerAgent(net, "gamma");
    gamma.start();
    try {
      const run = await runTask("victim", { from: "3", report, pollMs: "20", ackWindow: "120", json: false });
      return { net, run };
    } finally {
      await gamma.stop();
    }
  }

  it("agent victim buys for an attack report and prints a summary", async function () {
    const { net, run } = await victimBuysFromGamma();
    expect(run.exitCode, run.output).to.equal(0);
    expect(run.output).to.match(/time from attack report to last acknowledgement: \d+ ms/);
    expect((run.result as VictimSummary).providers).to.deep.equal([net.services.gamma]);
  });

  it("mitigation status finds the request the agent logged as #n, with its requester", async function () {
    const { net, run } = await victimBuysFromGamma();
    expect(run.exitCode, run.output).to.equal(0);
    const logged = /acknowledged (#\d+)/.exec(run.output)?.[1];
    expect(logged, run.output).to.equal("#1");
    const { requestId } = (run.result as VictimSummary).purchases[0];
    const victim = await net.accounts.orgs.victim.getAddress();

    // As the victim (--from), or as anyone with --requester; with or without the "#".
    for (const args of [
      { from: "3", id: logged! },
      { from: "0", id: logged!.slice(1), requester: victim },
    ]) {
      const status = await runTask("status", { service: net.services.gamma, json: false, ...args }, "mitigation");
      expect(status.exitCode, status.output).to.equal(0);
      expect(status.output).to.match(
        new RegExp(`^Request #1 \\(id ${requestId}\\) at ${net.services.gamma} is acknowledged: .* by ${victim}`),
      );
    }

    const wrong = await runTask(
      "status",
      { from: "0", service: net.services.gamma, id: logged!, json: false },
      "mitigation",
    );
    expect(wrong.exitCode).to.equal(1);
    expect(wrong.output).to.match(
      /^Request #1 by 0x[0-9a-fA-F]{40} \(id \d+\) does not exist at 0x[0-9a-fA-F]{40}: the id includes the requester, which --requester gives \(by default the --from account\)\.$/,
    );
  });

  it("agent victim without --report says so in one sentence", async function () {
    const run = await runTask("victim", { from: "3", pollMs: "20", ackWindow: "120", json: false });
    expect(run.exitCode).to.equal(1);
    expect(run.output).to.equal("--report is required.");
  });

  it("agent provider refuses an unknown back end before starting", async function () {
    const net = await loadFixture(deploySmallInternet);
    // The fixture's snapshot brings back its last block, minutes old by now and behind the clock
    // other tests moved forward: the agent dates its deadline from the latest block, as on a
    // live chain, where that block is seconds old. Make it so here.
    await hre.network.provider.send("evm_mine", []);
    writeDeployment(path.join(dir, "deployment"), await systemAddresses(net.system));
    const run = await runTask("provider", {
      from: "4",
      backend: "quagga",
      db: ":memory:",
      confirmations: "0",
      pollMs: "100",
      gobgpHost: "127.0.0.1",
      gobgpPort: "50051",
      gobgpBinary: "gobgp",
      rateLimit: "1000",
      minAckMargin: "2",
      noStatusReports: false,
      json: false,
    });
    expect(run.exitCode).to.equal(1);
    expect(run.output).to.equal('--backend must be one of log, exabgp, gobgp, not "quagga".');
  });

  it("agent victim-daemon refuses a missing or bad policy, or a bad address to listen on, before starting", async function () {
    const args = {
      from: "3",
      db: ":memory:",
      listen: "127.0.0.1:0",
      pollMs: "100",
      followMs: "50",
      dryRun: false,
      json: false,
    };
    // Every mistake at once: the address (port 0 is not one to listen on) and the missing policy.
    const badListen = '--listen must be host:port or unix:/path, not "127.0.0.1:0".';
    expect(await runTask("victim-daemon", args)).to.deep.include({
      exitCode: 1,
      output: `${badListen} --policy is required.`,
    });
    const policy = path.join(dir, "policy.json");
    writeFileSync(
      policy,
      JSON.stringify({ budgetPerHour: "5", budgetPerDay: "50", maxPricePerPurchase: "abc", kinds: ["flow-filtering"] }),
    );
    expect(await runTask("victim-daemon", { ...args, policy })).to.deep.include({
      exitCode: 1,
      output: `${badListen} ${policy}: "maxPricePerPurchase" must be a price in tokens, such as "50" or "12.5", not "abc".`,
    });
    writeFileSync(
      policy,
      JSON.stringify({ budgetPerHour: "5", budgetPerDay: "50", maxPricePerPurchase: "1", kinds: ["flow-filtering"] }),
    );
    expect(await runTask("victim-daemon", { ...args, policy, listen: "localhost" })).to.deep.include({
      exitCode: 1,
      output: '--listen must be host:port or unix:/path, not "localhost".',
    });
  });
});
