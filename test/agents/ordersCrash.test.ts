/**
 * Crash safety of signed orders, end to end: the provider agent runs as a child process (`npx
 * hardhat agent provider --orders-port 0`) against anvil mining a block a second, with the ExaBGP
 * back end writing to a file. Orders are posted over HTTP in small batches while the agent is
 * killed with SIGKILL at random points (and right after it sent a settlement, and right after one
 * was mined) and started again. At the end, every order it answered 202 was settled on chain
 * exactly once or expired unsettled, the agent says the same of each, and the rule set is exactly
 * the settled orders' rules with no command repeated.
 */
import type { ChildProcess } from "node:child_process";
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { HDNodeWallet, Mnemonic, type JsonRpcProvider } from "ethers";

import { replayExabgp } from "../../src/backends/exabgp";
import {
  ORDER_SKIP_REASONS,
  OrderSkipReason,
  signOrderWithKey,
  toOrderJson,
  type Order,
} from "../../src/clients/orders";
import { DEPLOYMENT_DIR_ENV } from "../../src/deployment";
import { parseTokens } from "../../src/format";
import { parsePrefix } from "../../src/prefix";
import { ProviderServiceContract__factory } from "../../typechain-types";
import { ANVIL_MNEMONIC, startTestAnvil } from "../helpers/anvil";
import { Random } from "../helpers/random";
import { until } from "../helpers/until";
import { AgentProcess } from "../helpers/agentProcess";
import { agentArgs, deployAnvilMarket } from "./anvilMarket";

/** Orders posted in all; each has its own target address and source, so each has its own rule. */
const ORDERS = 160;
const PER_POST = 4;
/** Seconds an order is valid: short, so that orders accepted just before a kill may expire. */
const LIFETIME = 12;

/** Orders posted per run of the agent. */
const PER_RUN = 40;

interface Posted {
  order: Order;
  hash: string;
  expiry: number;
  /** Its FlowSpec rule, as the ExaBGP replay lists it. */
  rule: string;
}

describe("provider agent order crash safety (child process, anvil, ExaBGP file)", function () {
  // About two minutes on an idle machine; hardhat starts the agent four times.
  this.timeout(600_000);
  let anvil: ChildProcess | undefined;
  let node: JsonRpcProvider | undefined;
  let port = 0;
  let agent: AgentProcess | undefined;
  let dir: string | undefined;
  let phase = "set-up";

  before(async function () {
    const started = await startTestAnvil({ blockTime: 1 });
    if (started === null) this.skip();
    anvil = started.process;
    node = started.provider;
    port = started.port;
    dir = mkdtempSync(path.join(tmpdir(), "orders-crash-"));
  });

  afterEach(function () {
    if (this.currentTest?.state !== "failed" && !process.env.ORDERS_CRASH_DEBUG) return;
    console.log(`    failed while: ${phase}`);
    if (agent)
      console.log(
        agent.output
          .split("\n")
          .filter((l) => !l.includes(" install "))
          .slice(-60)
          .join("\n"),
      );
  });

  after(async function () {
    await agent?.kill("SIGKILL");
    node?.destroy();
    anvil?.kill();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("settles every accepted order exactly once or lets it expire, across kill -9 at random points", async function () {
    const random = new Random(Number(process.env.ORDERS_CRASH_SEED ?? 20261127));
    const rpc = node!;
    const { serviceAddress, victimAddress } = await deployAnvilMarket(rpc, path.join(dir!, "deployment"));
    const victimKey = HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(ANVIL_MNEMONIC), "m/44'/60'/0'/0/1").privateKey;
    const chainId = (await rpc.getNetwork()).chainId;
    const exabgpFile = path.join(dir!, "exabgp.cmd");
    agent = new AgentProcess("provider", agentArgs(dir!, 200, ["--orders-port", "0"]), {
      ANVIL_URL: `http://127.0.0.1:${port}`,
      [DEPLOYMENT_DIR_ENV]: path.join(dir!, "deployment"),
    });
    const startAgent = async (): Promise<string> => {
      agent!.start();
      if (process.env.ORDERS_CRASH_DEBUG) {
        agent!.child!.stdout!.on("data", (d: Buffer) => appendFileSync("/tmp/orders-crash-agent.log", d));
        agent!.child!.stderr!.on("data", (d: Buffer) => appendFileSync("/tmp/orders-crash-agent.log", d));
      }
      // The line is a JSON log event: its message ends with the intake's URL.
      await agent!.waitFor('/orders"}\n', 180_000);
      const url = /order intake listening at ([^\s"]+)/.exec(agent!.output)?.[1];
      if (url === undefined) throw new Error(`no intake URL in: ${agent!.output}`);
      const health = url.replace(/orders$/, "health");
      await until(
        async () => ((await (await fetch(health)).json()) as { synced: boolean }).synced,
        30_000,
        "the intake to sync",
        50,
      );
      return url;
    };

    const accepted: Posted[] = [];
    let next = 0;
    /** Posts the next PER_POST orders; those answered 202 are accepted. Fails quietly when the agent is down. */
    const postSome = async (url: string): Promise<void> => {
      const now = (await rpc.getBlock("latest"))!.timestamp;
      const batch: Posted[] = [];
      for (let k = 0; k < PER_POST && next < ORDERS; k++, next++) {
        const i = next;
        const [target, source] = [`203.0.113.${i % 256}/32`, `198.51.100.${(i * 7) % 256}/32`];
        const order: Order = {
          service: serviceAddress,
          requester: victimAddress,
          offeringId: 0,
          target: parsePrefix(target),
          sources: [parsePrefix(source)],
          duration: 600,
          maxPrice: parseTokens("1"),
          expiry: now + LIFETIME,
          salt: (BigInt(Date.now()) << 64n) | BigInt(i),
        };
        batch.push({ order, hash: "", expiry: order.expiry, rule: `ipv4 ${source} ${target} discard` });
      }
      if (batch.length === 0) return;
      const signed = batch.map((p) => signOrderWithKey(victimKey, p.order, chainId));
      let results: { status: number; orderHash?: string }[];
      try {
        const response = await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ orders: signed.map(toOrderJson) }),
        });
        results = ((await response.json()) as { results: { status: number; orderHash?: string }[] }).results;
      } catch {
        return; // The agent is down or died while answering: these orders were not accepted.
      }
      results.forEach((r, k) => {
        if (r.status === 202) accepted.push({ ...batch[k], hash: r.orderHash! });
        else if (r.status !== 503) throw new Error(`an order for ${batch[k].rule} was refused: ${JSON.stringify(r)}`);
      });
    };
    /** Posts until `stop` says so or `last` orders were posted, a post every 100–400 ms. */
    const postUntil = async (url: string, stop: () => boolean, last: number): Promise<void> => {
      while (!stop() && next < last) {
        await postSome(url);
        await new Promise((resolve) => setTimeout(resolve, 100 + random.int(300)));
      }
    };

    // Three runs killed with SIGKILL: right after a settlement was sent, at a random moment,
    // right after a settlement was mined; then a last run that is left to finish.
    const killAt: (() => Promise<void>)[] = [
      () => agent!.waitFor("for settlement in batch"),
      () => new Promise((resolve) => setTimeout(resolve, 300 + random.int(3000))),
      () => agent!.waitFor("settled "),
    ];
    for (const [run, trigger] of killAt.entries()) {
      phase = `run ${run + 1}`;
      if (process.env.ORDERS_CRASH_DEBUG) console.log(new Date().toISOString(), phase, next, accepted.length);
      const url = await startAgent();
      let killed = false;
      const posting = postUntil(url, () => killed, Math.min(ORDERS, next + PER_RUN));
      await trigger();
      await agent.kill("SIGKILL");
      killed = true;
      await posting;
    }
    phase = "last run";
    if (process.env.ORDERS_CRASH_DEBUG) console.log(new Date().toISOString(), phase, next, accepted.length);
    const url = await startAgent();
    await postUntil(url, () => false, ORDERS);
    expect(accepted.length, "orders accepted").to.be.greaterThan(ORDERS / 2);

    phase = "waiting for every accepted order to settle or expire";
    if (process.env.ORDERS_CRASH_DEBUG) console.log(new Date().toISOString(), phase, next, accepted.length);
    const lastExpiry = Math.max(...accepted.map((p) => p.expiry));
    await until(async () => (await rpc.getBlock("latest"))!.timestamp > lastExpiry + 1, 60_000, "the last expiry");
    const stateOf = async (hash: string) => ((await (await fetch(`${url}/${hash}`)).json()) as { state: string }).state;
    await until(
      async () =>
        (await Promise.all(accepted.map((p) => stateOf(p.hash)))).every((s) => s === "settled" || s === "expired"),
      60_000,
      "every accepted order settled or expired at the agent",
      200,
    );

    const service = ProviderServiceContract__factory.connect(serviceAddress, rpc);
    const settledEvents = await service.queryFilter(service.filters.OrderSettled());
    const skippedEvents = await service.queryFilter(service.filters.OrderSkipped());
    const settledCount = new Map<string, number>();
    for (const e of settledEvents) settledCount.set(e.args.orderHash, (settledCount.get(e.args.orderHash) ?? 0) + 1);
    const acceptedHashes = new Set(accepted.map((p) => p.hash));
    const expectedRules: string[] = [];
    let settled = 0;
    for (const p of accepted) {
      const onChain = settledCount.get(p.hash) ?? 0;
      const state = await stateOf(p.hash);
      expect(onChain, `settlements of order ${p.hash}`).to.be.at.most(1);
      expect(state, `the agent's state of order ${p.hash}`).to.equal(onChain === 1 ? "settled" : "expired");
      if (onChain === 1) {
        settled++;
        expectedRules.push(p.rule);
      }
    }
    expect(settled, "orders settled").to.be.greaterThan(0);
    // Orders the agent took but could not answer (killed first) settle at most once too.
    for (const [hash, n] of settledCount) {
      if (!acceptedHashes.has(hash)) expect(n, `settlements of unanswered order ${hash}`).to.equal(1);
    }
    // A second settlement of the same order would be skipped as "settled already": none was tried.
    // (An order sent in its last second may be skipped as expired: the agent then says expired.)
    expect(skippedEvents.map((e) => ORDER_SKIP_REASONS[Number(e.args.reason)])).to.not.include(
      ORDER_SKIP_REASONS[OrderSkipReason.AlreadySettled],
    );

    // The back end: the settled orders' rules (and those of orders settled but never answered).
    const unanswered = settledEvents.filter((e) => !acceptedHashes.has(e.args.orderHash)).length;
    await until(
      () => replayExabgp(readFileSync(exabgpFile, "utf8")).rules.length === expectedRules.length + unanswered,
      30_000,
      "the rules",
    );
    const replay = replayExabgp(readFileSync(exabgpFile, "utf8"));
    const rules = replay.rules.map((r) => `${r.family} ${r.source} ${r.destination} ${r.action.kind}`);
    expect(rules).to.include.members(expectedRules);
    expect(replay.redundant).to.deep.equal([]);
    // A clean stop does not wait for the DOTS reports still to send (one transaction each).
    expect(await agent.kill("SIGTERM")).to.equal(0);
    expect(agent.output).to.include("stopped; requests:");
  });
});
