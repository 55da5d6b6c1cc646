/**
 * Operating the agents (docs/operations.md), each in its own process on anvil with 1 s blocks:
 * /metrics shows the metrics and counts what happened on chain; /healthz turns unready when the
 * node stops and ready again when it comes back; SIGHUP reloads the victim daemon's spending
 * policy from its configuration file, and a bad file leaves the old policy in force; SIGTERM
 * stops an agent cleanly.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";

import { MarketClient } from "../../src/clients/market";
import { DEPLOYMENT_DIR_ENV } from "../../src/deployment";
import { parseTokens } from "../../src/format";
import { freePort } from "../../src/net";
import { AgentProcess, health, scrape, total } from "../helpers/agentProcess";
import { anvilWallet, startTestAnvil, type TestAnvil } from "../helpers/anvil";
import { deployMarketOnAnvil, type AnvilMarket } from "../helpers/anvilMarket";
import { until } from "../helpers/until";

describe("operating the agents (child processes, anvil with 1 s blocks)", function () {
  this.timeout(180_000);
  let node: TestAnvil | undefined;
  let market: AnvilMarket;
  let dir: string;
  const agents: AgentProcess[] = [];

  before(async function () {
    dir = mkdtempSync(path.join(tmpdir(), "ops-"));
    node = (await startTestAnvil({ statePath: path.join(dir, "anvil.json") })) ?? undefined;
    if (node === undefined) this.skip();
    market = await deployMarketOnAnvil(node, dir, 1);
  });

  afterEach(function () {
    if (this.currentTest?.state !== "failed") return;
    for (const a of agents) console.log(`--- ${a.task}:\n${a.output.split("\n").slice(-30).join("\n")}`);
  });

  after(async function () {
    await Promise.all(agents.map((a) => a.kill("SIGKILL")));
    if (node && node.process.exitCode === null && node.process.signalCode === null) {
      // anvil saves its state file as it exits: remove the folder after that.
      const exited = new Promise((resolve) => node!.process.once("exit", resolve));
      node.stop();
      await exited;
    }
    if (dir) rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  });

  async function startAgent(
    task: "provider" | "victim-daemon",
    args: string[],
  ): Promise<{ agent: AgentProcess; url: string }> {
    const port = await freePort();
    const agent = new AgentProcess(
      task,
      ["--network", "anvil", "--metrics-listen", `127.0.0.1:${port}`, "--log-format", "json", ...args],
      { ANVIL_URL: `http://127.0.0.1:${node!.port}`, [DEPLOYMENT_DIR_ENV]: market.deploymentDir },
    );
    agents.push(agent);
    agent.start();
    await agent.waitFor("Metrics, /healthz and /livez at");
    return { agent, url: `http://127.0.0.1:${port}` };
  }

  /** A provider agent (log back end), once /healthz says it is ready. */
  async function startProvider(key: string): Promise<{ agent: AgentProcess; url: string }> {
    const args = ["--from", String(market.accountIndex[key]), "--db", path.join(dir, `${key}.db`), "--poll-ms", "200"];
    const started = await startAgent("provider", args);
    await until(async () => (await health(started.url)).status === 200, 30_000, "the provider to be ready");
    return started;
  }

  it("serves the provider's metrics, counts a request it answered, and logs it as JSON events", async function () {
    const { agent, url } = await startProvider("alpha");
    const victim = new MarketClient(
      market.system.directory,
      market.system.token,
      anvilWallet(node!.provider, market.accountIndex.victim),
    );
    await victim.ensureAllowance(await market.system.directory.getAddress(), parseTokens("100"));
    const now = (await node!.provider.getBlock("latest"))!.timestamp;
    await victim.request({
      service: market.services.alpha,
      offeringId: 0,
      target: "203.0.113.10/32",
      sources: ["198.51.100.23"],
      duration: 600,
      maxPrice: parseTokens("100"),
      ackDeadline: now + 600,
    });
    await until(
      async () => total(await scrape(url), "market_provider_requests_acknowledged_total") === 1,
      30_000,
      "the acknowledgement in the metrics",
    );
    const samples = await scrape(url);
    expect(total(samples, "market_provider_requests_seen_total")).to.equal(1);
    expect(total(samples, "market_provider_flowspec_installs_total")).to.equal(1);
    expect(total(samples, "market_provider_mitigations_active")).to.equal(1);
    expect(total(samples, "market_provider_ack_latency_seconds_count")).to.equal(1);
    expect(total(samples, "market_provider_earned_tokens_total")).to.be.greaterThan(0);
    expect(total(samples, "market_agent_rpc_requests_total", { method: "eth_getLogs" })).to.be.greaterThan(0);
    expect(total(samples, "market_provider_cursor_block")).to.be.greaterThan(0);
    expect(total(samples, "process_resident_memory_bytes")).to.be.greaterThan(10_000_000);
    // Every line is one JSON event; the answer names the request, the service and the target.
    const events = agent.output
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const accepted = events.find((e) => String(e.msg).includes("accepted"));
    expect(accepted).to.include({ agent: "provider", target: "203.0.113.10/32", level: "info" });
    expect(String(accepted!.service).toLowerCase()).to.equal(market.services.alpha.toLowerCase());
    expect(accepted!.request).to.match(/^#\d+$/);

    expect(await agent.kill("SIGTERM")).to.equal(0);
    expect(agent.output).to.include("agent stopped at cursor");
  });

  it("turns /healthz unready when the node stops and ready again when it comes back", async function () {
    const { agent, url } = await startProvider("beta");
    expect((await health(url)).body.checks.backend.ok).to.equal(true);
    const port = node!.port;
    const stopped = new Promise((resolve) => node!.process.once("exit", resolve));
    node!.stop(); // SIGTERM: anvil saves its chain to the state file
    await stopped;
    await until(async () => (await health(url)).status === 503, 30_000, "/healthz to turn unready");
    const down = await health(url);
    expect(down.body.ready).to.equal(false);
    expect(down.body.checks.chain.ok).to.equal(false);
    expect((await fetch(`${url}/livez`)).status).to.equal(200);
    // The agent's own loop notices the outage too (the probe above may have been quicker than a pass).
    await until(
      async () => total(await scrape(url), "market_agent_retries_total") > 0,
      30_000,
      "the agent's loop to count a failed pass",
    );

    node = (await startTestAnvil({ port, statePath: path.join(dir, "anvil.json"), blockTime: 1 }))!;
    await until(async () => (await health(url)).status === 200, 60_000, "/healthz to turn ready again");
    await agent.waitFor("the node answers again: caught up");
    expect(total(await scrape(url), "market_agent_rpc_errors_total")).to.be.greaterThan(0);
    expect(await agent.kill("SIGTERM")).to.equal(0);
  });

  it("reloads the victim daemon's spending policy on SIGHUP, and keeps it when the file is wrong", async function () {
    const config = path.join(dir, "victim.json");
    const intake = await freePort();
    const writeWith = (budgetPerHour: string | number) =>
      writeFileSync(
        config,
        JSON.stringify({
          chain: { account: String(market.accountIndex.victim) },
          db: path.join(dir, "victim.db"),
          listen: `127.0.0.1:${intake}`,
          policy: { budgetPerHour, budgetPerDay: "500", maxPricePerPurchase: "20", kinds: ["flow-filtering"] },
        }),
      );
    writeWith("50");
    const { agent, url } = await startAgent("victim-daemon", ["--config-file", config]);
    const budget = async () => total(await scrape(url), "market_victim_budget_left_tokens", { window: "hour" });
    expect(await budget()).to.equal(50);

    writeWith("80");
    agent.signal("SIGHUP");
    await until(async () => (await budget()) === 80, 20_000, "the new budget in force");
    expect(total(await scrape(url), "market_agent_config_reloads_total", { outcome: "ok" })).to.equal(1);

    writeWith(-3);
    agent.signal("SIGHUP");
    await agent.waitFor("The policy was not reloaded, the old one stays in force");
    expect(agent.output).to.include('\\"budgetPerHour\\" must be');
    expect(await budget()).to.equal(80);
    expect(total(await scrape(url), "market_agent_config_reloads_total", { outcome: "failed" })).to.equal(1);
    expect(await agent.kill("SIGTERM")).to.equal(0);
  });
});
