/**
 * Crash safety, end to end: the provider agent runs as a child process (`npx hardhat agent
 * provider`) against anvil, with the ExaBGP back end writing to a file. It is killed with SIGKILL
 * twice in the middle of a burst of requests and started again, and the node becomes unreachable
 * for a while; at the end every request is acknowledged or rejected exactly once, the rule set is
 * exactly the acknowledged requests' rules with no command repeated, and once the mitigations end
 * every rule is withdrawn and "terminated" reported once.
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { JsonRpcProvider, MaxUint256 } from "ethers";

import { replayExabgp } from "../../src/backends/exabgp";
import { DEPLOYMENT_DIR_ENV } from "../../src/deployment";
import { parseTokens } from "../../src/format";
import { ProviderServiceContract__factory } from "../../typechain-types";
import { startTestAnvil } from "../helpers/anvil";
import { Outage } from "../helpers/outage";
import { AgentProcess } from "../helpers/agentProcess";
import { agentArgs, deployAnvilMarket } from "./anvilMarket";

const BURST = 30;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => Promise<boolean> | boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe("provider agent crash safety (child process, anvil, ExaBGP file)", function () {
  this.timeout(300_000);
  let anvil: ChildProcess | undefined;
  let rpc: JsonRpcProvider | undefined;
  let agent: AgentProcess | undefined;
  let outage: Outage | undefined;
  let dir: string | undefined;
  /** Where the test is, for the failure message. */
  let phase = "set-up";

  before(async function () {
    const node = await startTestAnvil();
    if (node === null) this.skip();
    anvil = node.process;
    rpc = node.provider;
    const port = node.port;
    outage = new Outage(port);
    await outage.listen();
    dir = mkdtempSync(path.join(tmpdir(), "agent-crash-"));
  });

  afterEach(function () {
    // On failure, what the agent said is the first thing to read.
    if (this.currentTest?.state !== "failed") return;
    console.log(`    failed while: ${phase}`);
    if (agent) console.log(agent.output.split("\n").slice(-40).join("\n"));
  });

  after(async function () {
    await agent?.kill("SIGKILL");
    await outage?.close();
    rpc?.destroy();
    anvil?.kill();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("answers every request exactly once and leaves exactly the right rules, across kill -9 and an RPC outage", async function () {
    const node = rpc!;
    const { system, serviceAddress, victimAddress, market } = await deployAnvilMarket(
      node,
      path.join(dir!, "deployment"),
    );
    expect(await system.token.allowance(victimAddress, serviceAddress)).to.equal(MaxUint256);

    const exabgpFile = path.join(dir!, "exabgp.cmd");
    agent = new AgentProcess("provider", agentArgs(dir!, 100), {
      ANVIL_URL: `http://127.0.0.1:${outage!.port}`,
      [DEPLOYMENT_DIR_ENV]: path.join(dir!, "deployment"),
    });

    // Request i: every fourth from sources outside the provider's network (rejected), every
    // third over IPv6, the rest IPv4; each source distinct.
    const sourcesOf = (i: number): string[] =>
      i % 4 === 3
        ? [`192.0.2.${i}`]
        : i % 3 === 0
          ? [`2001:db8:1000::${i + 1}`]
          : [`198.51.100.${i + 1}`, `198.51.100.${i + 101}`];
    const targetOf = (i: number) => (i % 3 === 0 && i % 4 !== 3 ? "2001:db8:a::/48" : "203.0.113.0/24");
    let sent = 0;
    const sendBurst = async (count: number, gapMs: number) => {
      for (let k = 0; k < count; k++, sent++) {
        const i = sent;
        const now = (await node.getBlock("latest"))!.timestamp;
        await market.request({
          service: serviceAddress,
          offeringId: 0,
          target: targetOf(i),
          sources: sourcesOf(i),
          duration: 600,
          maxPrice: parseTokens("1"),
          ackDeadline: now + 3600,
        });
        if (gapMs > 0) await sleep(gapMs);
      }
    };

    phase = "first run";
    agent.start();
    await agent.waitFor("provider agent for");
    // Each burst runs while the agent works; its failure, if any, is kept and rethrown below.
    const settled = (p: Promise<void>) =>
      p.then(
        () => undefined,
        (error: unknown) => error,
      );
    const rethrow = (error: unknown) => {
      if (error !== undefined) throw error instanceof Error ? error : new Error("a request of the burst failed");
    };
    const burst = settled(sendBurst(12, 40));
    // Killed between installing rules and acknowledging…
    await agent.waitFor("install ");
    await agent.kill("SIGKILL");
    rethrow(await burst);
    phase = "second run";
    agent.start();
    const burst2 = settled(sendBurst(10, 40));
    // …and again right after an acknowledgement.
    await agent.waitFor("acknowledged ");
    await agent.kill("SIGKILL");
    rethrow(await burst2);
    phase = "third run, outage";
    agent.start();
    await agent.waitFor("provider agent for");
    // The node becomes unreachable for the agent while requests keep arriving.
    outage!.cutOff();
    await sendBurst(BURST - 22, 0);
    await sleep(1500);
    outage!.restore();

    phase = "waiting for every answer";
    const service = ProviderServiceContract__factory.connect(serviceAddress, node);
    const answered = async () => {
      const [acks, rejects] = await Promise.all([
        service.queryFilter(service.filters.MitigationAcknowledged()),
        service.queryFilter(service.filters.MitigationRejected()),
      ]);
      return acks.length + rejects.length;
    };
    await until(async () => (await answered()) >= BURST, 120_000, `${BURST} answers`);

    const requested = await service.queryFilter(service.filters.MitigationRequested());
    const acks = await service.queryFilter(service.filters.MitigationAcknowledged());
    const rejects = await service.queryFilter(service.filters.MitigationRejected());
    expect(requested).to.have.length(BURST);
    const ids = requested.map((e) => e.args.requestId);
    const count = (list: { args: { requestId: bigint } }[], id: bigint) =>
      list.filter((e) => e.args.requestId === id).length;
    const expectedRules: string[] = [];
    ids.forEach((id, i) => {
      const outside = i % 4 === 3;
      expect(count(acks, id), `acknowledgements of request ${i}`).to.equal(outside ? 0 : 1);
      expect(count(rejects, id), `rejections of request ${i}`).to.equal(outside ? 1 : 0);
      if (!outside) {
        for (const s of sourcesOf(i)) {
          const v6 = s.includes(":");
          expectedRules.push(`${v6 ? "ipv6" : "ipv4"} ${s}/${v6 ? 128 : 32} ${targetOf(i)} discard`);
        }
      }
    });
    expect(rejects.every((e) => Number(e.args.reason) === 4)).to.equal(true);
    for (const id of ids)
      expect(["acknowledged", "rejected"]).to.include((await market.getRequest(serviceAddress, id)).status);

    // The back end: exactly the acknowledged requests' rules, and no command sent twice.
    await until(
      () => replayExabgp(readFileSync(exabgpFile, "utf8")).rules.length === expectedRules.length,
      20_000,
      "the rules",
    );
    const replay = replayExabgp(readFileSync(exabgpFile, "utf8"));
    const ruleText = replay.rules.map((r) => `${r.family} ${r.source} ${r.destination} ${r.action.kind}`);
    expect(ruleText.sort()).to.deep.equal(expectedRules.sort());
    expect(replay.redundant).to.deep.equal([]);
    expect(replay.commands).to.equal(expectedRules.length);

    // Every acknowledged request reported "in progress" once.
    const reportsOf = async (status: number) =>
      (await service.queryFilter(service.filters.MitigationStatusReported()))
        .filter((e) => Number(e.args.status) === status)
        .map((e) => e.args.requestId);
    await until(async () => (await reportsOf(1)).length >= acks.length, 30_000, "in-progress reports");
    expect((await reportsOf(1)).sort()).to.deep.equal(acks.map((e) => e.args.requestId).sort());

    phase = "the mitigations end";
    // The mitigations end: every rule is withdrawn once and "terminated" reported once.
    await node.send("evm_increaseTime", [601]);
    await node.send("evm_mine", []);
    await until(async () => (await reportsOf(6)).length >= acks.length, 60_000, "terminated reports");
    const ended = replayExabgp(readFileSync(exabgpFile, "utf8"));
    expect(ended.rules).to.deep.equal([]);
    expect(ended.redundant).to.deep.equal([]);
    expect(ended.commands).to.equal(2 * expectedRules.length);
    expect((await reportsOf(6)).sort()).to.deep.equal(acks.map((e) => e.args.requestId).sort());

    // The third run saw the outage and came back from it.
    if (process.env.AGENT_CRASH_DEBUG) console.log(agent.output);
    // A failed pass is a warning event (JSON log), retried.
    expect(agent.output).to.match(/"level":"warn"[^\n]*retrying in/);
    expect(agent.output).to.include("the node answers again: caught up");
    expect(await agent.kill("SIGTERM")).to.equal(0);
    expect(agent.output).to.include("stopped; requests:");
  });
});
