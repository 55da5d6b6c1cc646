/**
 * The agents' soak (`npm run soak:agents -- --minutes N`): anvil with 1 s blocks behind a proxy
 * that can cut the agents off (an RPC outage), provider agents (ExaBGP command files) and victim
 * daemons as child processes, attacks arriving at random (Poisson) at the victims' intakes and
 * ending after a while (unban), random kill -9 and restart of agents, one or more outages, and
 * every agent's /metrics scraped every 10 s. Then it drains (no new attacks, every target
 * unbanned, every mitigation ended) and checks, against the chain:
 * - every request was answered before its deadline, or reclaimed;
 * - each provider's FlowSpec commands: every acknowledged request's rules announced, none
 *   announced twice or withdrawn when absent, none left in force;
 * - each long-lived agent's memory (RSS) grew less than 10 % after warm-up;
 * - the metrics' counts equal the chain's event counts.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import path from "node:path";
import type { JsonRpcProvider } from "ethers";

import { ProviderServiceContract__factory } from "../../typechain-types";
import { replayExabgp } from "../../src/backends/exabgp";
import { REQUEST_STATUSES } from "../../src/clients/market";
import { DEPLOYMENT_DIR_ENV } from "../../src/deployment";
import { formatPrefix } from "../../src/prefix";
import { freePort } from "../../src/net";
import { AgentProcess, scrape, total, type Samples } from "../../test/helpers/agentProcess";
import { startTestAnvil, type TestAnvil } from "../../test/helpers/anvil";
import { deployMarketOnAnvil } from "../../test/helpers/anvilMarket";
import { Outage } from "../../test/helpers/outage";
import { Random } from "../../test/helpers/random";
import { until } from "../../test/helpers/until";

export interface SoakOptions {
  minutes: number;
  /** Attacks per minute (Poisson arrivals). */
  attacksPerMinute: number;
  /** Mean seconds between kill -9 of an agent. */
  killEverySeconds: number;
  /** Seconds between RPC outages (at least one per run), and how long each lasts. */
  outageEverySeconds: number;
  outageSeconds: number;
  seed: number;
  /** Working folder (stores, ExaBGP files, configuration). */
  dir: string;
  onProgress: (line: string) => void;
}

export interface RssFigures {
  agent: string;
  startMb: number;
  endMb: number;
  growthPercent: number;
}

export interface SoakResult {
  minutes: number;
  seed: number;
  attacks: number;
  attacksHandled: number;
  restarts: number;
  /** Starts that ended in an exit before the agent served, each retried as systemd would. */
  failedStarts: number;
  outages: number;
  requests: number;
  requestsAnswered: number;
  acknowledged: number;
  rejected: number;
  reclaimed: number;
  /** Request mined → acknowledgement mined, chain time. */
  p50LatencySeconds: number;
  p99LatencySeconds: number;
  rss: RssFigures[];
  scrapes: number;
  /** Load average (1, 5, 15 min) at the start and at the end. */
  loadStart: number[];
  loadEnd: number[];
  violations: string[];
}

const PROVIDERS = ["alpha", "beta", "gamma"] as const;
const VICTIMS = [
  { key: "victim", hosts: (r: () => number) => `203.0.113.${1 + Math.floor(r() * 250)}` },
  { key: "zeta", hosts: (r: () => number) => `198.18.${Math.floor(r() * 250)}.${1 + Math.floor(r() * 250)}` },
];
/** Source hosts in the three providers' networks (IPv4): alpha 198.51.100.0/25, beta .128/25, gamma 192.0.2.0/25. */
const SOURCES = [
  (r: () => number) => `198.51.100.${1 + Math.floor(r() * 120)}`,
  (r: () => number) => `198.51.100.${129 + Math.floor(r() * 120)}`,
  (r: () => number) => `192.0.2.${1 + Math.floor(r() * 120)}`,
];
/** Agents spared from kill -9: their whole life is measured for memory growth. */
const SENTINELS = new Set(["provider alpha", "victim victim"]);
/** How many times an agent that exits while starting is started (systemd: Restart=always). */
const START_ATTEMPTS = 5;

interface Agent {
  name: string;
  process: AgentProcess;
  url: string;
  /** The ExaBGP command file of a provider. */
  exabgp?: string;
  /** The intake of a victim daemon. */
  intake?: string;
  /** RSS samples of the current life: [ms since start, bytes]. */
  rss: [number, number][];
  lives: [number, number][][];
  last?: Samples;
  /** Starting: not killed again until it is up. */
  starting: boolean;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const say = options.onProgress;
  const prng = new Random(options.seed);
  const random = () => prng.next() / 2 ** 32;
  const loadStart = loadavg().map((l) => Math.round(l * 100) / 100);
  const violations: string[] = [];
  let node: TestAnvil | undefined;
  let outage: Outage | undefined;
  const agents: Agent[] = [];
  try {
    node = (await startTestAnvil()) ?? undefined;
    if (node === undefined) throw new Error("anvil is not installed: npm ci installs it.");
    const chain: JsonRpcProvider = node.provider;
    const market = await deployMarketOnAnvil(node, options.dir, 1);
    outage = new Outage(node.port);
    await outage.listen();
    const env = { ANVIL_URL: `http://127.0.0.1:${outage.port}`, [DEPLOYMENT_DIR_ENV]: market.deploymentDir };

    for (const key of PROVIDERS) {
      const port = await freePort();
      const exabgp = path.join(options.dir, `${key}.exabgp`);
      const args = [
        "--network",
        "anvil",
        "--from",
        String(market.accountIndex[key]),
        "--db",
        path.join(options.dir, `${key}.db`),
        "--backend",
        "exabgp",
        "--exabgp-output",
        exabgp,
        "--poll-ms",
        "500",
        "--metrics-listen",
        `127.0.0.1:${port}`,
        "--log-format",
        "json",
      ];
      agents.push({
        name: `provider ${key}`,
        process: new AgentProcess("provider", args, env),
        url: `http://127.0.0.1:${port}`,
        exabgp,
        rss: [],
        lives: [],
        starting: false,
      });
    }
    for (const { key } of VICTIMS) {
      const [port, intake] = [await freePort(), await freePort()];
      const config = path.join(options.dir, `${key}.json`);
      const policy = {
        budgetPerHour: "900",
        budgetPerDay: "900",
        maxPricePerPurchase: "20",
        kinds: ["flow-filtering"],
        duration: 60,
        renewBefore: 10,
        ackWindow: 30,
      };
      const text = JSON.stringify({
        chain: { account: String(market.accountIndex[key]) },
        db: path.join(options.dir, `${key}.db`),
        listen: `127.0.0.1:${intake}`,
        pollMs: 500,
        followMs: 250,
        policy,
        metrics: { listen: `127.0.0.1:${port}` },
        log: { format: "json" },
      });
      writeFileSync(config, text);
      const args = ["--network", "anvil", "--config-file", config];
      agents.push({
        name: `victim ${key}`,
        process: new AgentProcess("victim-daemon", args, env),
        url: `http://127.0.0.1:${port}`,
        intake: `http://127.0.0.1:${intake}`,
        rss: [],
        lives: [],
        starting: false,
      });
    }
    // Supervised as the systemd units in docs/operations.md do it (Restart=always, RestartSec=5):
    // an agent that exits while starting (e.g. during an RPC outage) is started again, up to
    // START_ATTEMPTS times; each such exit is counted and printed, never hidden.
    let failedStarts = 0;
    const start = async (agent: Agent) => {
      if (agent.rss.length > 0) agent.lives.push(agent.rss);
      agent.rss = [];
      agent.starting = true;
      try {
        for (let attempt = 1; ; attempt++) {
          agent.process.start();
          try {
            await agent.process.waitFor("Metrics, /healthz and /livez at", 300_000);
            return;
          } catch (error) {
            if (agent.process.running || attempt >= START_ATTEMPTS) throw error;
            failedStarts++;
            say(`${agent.name} exited while starting (${(error as Error).message.slice(0, 200)}); again in 5 s`);
            await sleep(5000);
          }
        }
      } finally {
        agent.starting = false;
      }
    };
    // Two at a time: Hardhat's start-up is heavy on a loaded machine.
    for (let i = 0; i < agents.length; i += 2) await Promise.all(agents.slice(i, i + 2).map(start));
    say(`${agents.length} agents up; soaking for ${options.minutes} min (seed ${options.seed})`);

    const t0 = Date.now();
    const endAt = t0 + options.minutes * 60_000;
    let scrapes = 0;
    const scrapeAll = async () => {
      for (const agent of agents) {
        if (!agent.process.running) continue;
        try {
          agent.last = await scrape(agent.url);
          agent.rss.push([Date.now() - t0, total(agent.last, "process_resident_memory_bytes")]);
          scrapes++;
        } catch {
          // Starting or just killed: the next scrape counts.
        }
      }
    };

    // ---- attacks ----
    interface Attack {
      victim: Agent;
      target: string;
      sources: string[];
      endsAt: number;
      banned: boolean;
      done: boolean;
    }
    const attacks: Attack[] = [];
    const notify = async (victim: Agent, args: string[], details: string, deadline: number): Promise<boolean> => {
      // The detector's script is retried while the daemon restarts (as a wrapper around it would).
      while (Date.now() < deadline) {
        try {
          const response = await fetch(`${victim.intake}/notify`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ args, details }),
          });
          // Answered: taken, or refused with a reason (the daemon handled it either way).
          if (response.status < 500) return true;
        } catch {
          // down: retry
        }
        await sleep(1000);
      }
      return false;
    };
    const launch = (): Attack => {
      const v = Math.floor(random() * VICTIMS.length);
      const victim = agents.find((a) => a.name === `victim ${VICTIMS[v].key}`)!;
      const target = VICTIMS[v].hosts(random);
      const count = 1 + Math.floor(random() * 3);
      const sources = Array.from({ length: count }, (_, i) => SOURCES[(i + Math.floor(random() * 3)) % 3](random));
      const attack: Attack = {
        victim,
        target,
        sources,
        endsAt: Date.now() + 15_000 + random() * 30_000,
        banned: false,
        done: false,
      };
      attacks.push(attack);
      return attack;
    };
    const pending: Promise<unknown>[] = [];
    const runAttack = async (attack: Attack) => {
      // A daemon that is restarting gets the ban when it is back (the detector's wrapper retries).
      attack.banned = await notify(
        attack.victim,
        [attack.target, "incoming", "80000", "ban"],
        attack.sources.join("\n"),
        Date.now() + 180_000,
      );
      await sleep(Math.max(0, attack.endsAt - Date.now()));
      await notify(attack.victim, [attack.target, "incoming", "0", "unban"], "", Date.now() + 120_000);
      attack.done = true;
    };

    // ---- the run ----
    let restarts = 0;
    let outages = 0;
    let nextAttack = Date.now() + 2000;
    let nextKill = Date.now() + options.killEverySeconds * 1000 * (0.5 + random());
    // One outage in the middle of a short run; then one every outageEverySeconds.
    let nextOutage = t0 + Math.min(options.outageEverySeconds * 1000, options.minutes * 30_000);
    let nextScrape = Date.now();
    const restarting: Promise<void>[] = [];
    while (Date.now() < endAt) {
      const now = Date.now();
      if (now >= nextAttack) {
        pending.push(runAttack(launch()));
        nextAttack = now + (-Math.log(1 - random()) * 60_000) / options.attacksPerMinute;
      }
      if (now >= nextKill) {
        const candidates = agents.filter((a) => !SENTINELS.has(a.name) && a.process.running && !a.starting);
        if (candidates.length > 0) {
          const victim = candidates[Math.floor(random() * candidates.length)];
          await victim.process.kill("SIGKILL");
          restarts++;
          say(`kill -9 ${victim.name}`);
          restarting.push(
            sleep(2000 + random() * 3000)
              .then(() => start(victim))
              .catch((error: Error) => {
                violations.push(`${victim.name} did not restart: ${error.message.slice(0, 300)}`);
              }),
          );
        }
        nextKill = now + options.killEverySeconds * 1000 * (0.5 + random());
      }
      if (now >= nextOutage && !outage.down) {
        outage.cutOff();
        outages++;
        say(`RPC outage for ${options.outageSeconds} s`);
        setTimeout(() => outage!.restore(), options.outageSeconds * 1000);
        nextOutage = now + options.outageEverySeconds * 1000;
      }
      if (now >= nextScrape) {
        await scrapeAll();
        nextScrape = now + 10_000;
        const load = loadavg()[0].toFixed(2);
        say(
          `${Math.round((now - t0) / 1000)} s: ${attacks.length} attacks, ${restarts} restarts, ${outages} outages, load ${load}`,
        );
      }
      await sleep(200);
    }

    // ---- drain ----
    say("draining: no new attacks; every attack ends; every mitigation ends");
    outage.restore();
    await Promise.all(restarting);
    await Promise.all(pending);
    const services = PROVIDERS.map((k) => ProviderServiceContract__factory.connect(market.services[k], chain));
    const allRequests = async () =>
      (await Promise.all(services.map((s) => s.queryFilter(s.filters.MitigationRequested(), 0)))).flat();
    // Every request answered or reclaimed, and every mitigation over (chain time), then rules gone.
    await until(
      async () => {
        const now = (await chain.getBlock("latest"))!.timestamp;
        for (const event of await allRequests()) {
          const service = services.find((s) => s.target === event.address) ?? services[0];
          const r = await service.getRequest(event.args.requestId);
          const status = REQUEST_STATUSES[Number(r.status)];
          if (status === "pending") return false;
          if ((status === "acknowledged" || status === "withdrawn") && Number(r.endsAt) > now) return false;
        }
        return true;
      },
      300_000,
      "every request answered and every mitigation ended",
      2000,
    );
    await until(
      () =>
        agents.filter((a) => a.exabgp).every((a) => replayExabgp(readFileSync(a.exabgp!, "utf8")).rules.length === 0),
      120_000,
      "the providers to withdraw their rules",
      1000,
    ).catch(() => undefined);
    // Let every agent record what it saw last, then read the metrics.
    await sleep(3000);
    await scrapeAll();

    // ---- checks ----
    const blockTime = new Map<number, number>();
    const timeOf = async (block: number) => {
      if (!blockTime.has(block)) blockTime.set(block, (await chain.getBlock(block))!.timestamp);
      return blockTime.get(block)!;
    };
    const latencies: number[] = [];
    let acknowledged = 0;
    let rejected = 0;
    let reclaimed = 0;
    let requests = 0;
    for (const [i, service] of services.entries()) {
      const key = PROVIDERS[i];
      const requested = await service.queryFilter(service.filters.MitigationRequested(), 0);
      const acks = await service.queryFilter(service.filters.MitigationAcknowledged(), 0);
      const rejects = await service.queryFilter(service.filters.MitigationRejected(), 0);
      const reclaims = await service.queryFilter(service.filters.MitigationReclaimed(), 0);
      requests += requested.length;
      acknowledged += acks.length;
      rejected += rejects.length;
      reclaimed += reclaims.length;
      const requestedById = new Map(requested.map((e) => [e.args.requestId, e]));
      for (const ack of acks) {
        const req = requestedById.get(ack.args.requestId);
        if (!req) continue;
        const [asked, answered] = [await timeOf(req.blockNumber), await timeOf(ack.blockNumber)];
        latencies.push(answered - asked);
        if (answered > Number(req.args.ackDeadline))
          violations.push(`${key}: request ${ack.args.requestId} acknowledged after its deadline.`);
      }
      for (const event of requested) {
        const r = await service.getRequest(event.args.requestId);
        if (REQUEST_STATUSES[Number(r.status)] === "pending")
          violations.push(`${key}: request ${event.args.requestId} neither answered nor reclaimed.`);
      }
      // FlowSpec: every acknowledged request's target announced, nothing twice, nothing left.
      const agent = agents.find((a) => a.name === `provider ${key}`)!;
      const text = readFileSync(agent.exabgp!, "utf8");
      const replay = replayExabgp(text);
      if (replay.rules.length > 0) violations.push(`${key}: ${replay.rules.length} FlowSpec rule(s) left over.`);
      if (replay.redundant.length > 0)
        violations.push(
          `${key}: ${replay.redundant.length} FlowSpec command(s) duplicated, e.g. ${replay.redundant[0]}.`,
        );
      for (const ack of acks) {
        const target = requestedById.get(ack.args.requestId)?.args.target;
        if (!target) continue;
        const prefix = formatPrefix({ network: target.network, length: Number(target.prefixLength) });
        if (!text.includes(`destination ${prefix}`))
          violations.push(`${key}: no rule was installed for request ${ack.args.requestId} (${prefix}).`);
      }
      // Metrics equal the chain.
      const m = agent.last;
      if (!m) violations.push(`${key}: no metrics were scraped.`);
      else {
        const pairs: [string, number, number][] = [
          ["requests seen", total(m, "market_provider_requests_seen_total"), requested.length],
          ["requests acknowledged", total(m, "market_provider_requests_acknowledged_total"), acks.length],
          ["requests rejected", total(m, "market_provider_requests_rejected_total"), rejects.length],
        ];
        for (const [what, metric, onChain] of pairs) {
          if (metric !== onChain) violations.push(`${key}: ${what} ${metric} in the metrics, ${onChain} on chain.`);
        }
      }
    }
    for (const { key } of VICTIMS) {
      const agent = agents.find((a) => a.name === `victim ${key}`)!;
      const me = ((await chain.send("eth_accounts", [])) as string[])[market.accountIndex[key]];
      let bought = 0;
      let acked = 0;
      let back = 0;
      for (const service of services) {
        const mine = await service.queryFilter(service.filters.MitigationRequested(undefined, me), 0);
        bought += mine.length;
        const ids = new Set(mine.map((e) => e.args.requestId));
        acked += (await service.queryFilter(service.filters.MitigationAcknowledged(), 0)).filter((e) =>
          ids.has(e.args.requestId),
        ).length;
        back += (await service.queryFilter(service.filters.MitigationReclaimed(), 0)).filter((e) =>
          ids.has(e.args.requestId),
        ).length;
      }
      const m = agent.last;
      if (!m) violations.push(`${key}: no metrics were scraped.`);
      else {
        const pairs: [string, number, number][] = [
          ["purchases", total(m, "market_victim_purchases_total"), bought],
          ["purchases acknowledged", total(m, "market_victim_purchases_acknowledged_total"), acked],
          ["reclaims", total(m, "market_victim_reclaims_total"), back],
        ];
        for (const [what, metric, onChain] of pairs) {
          if (metric !== onChain)
            violations.push(`victim ${key}: ${what} ${metric} in the metrics, ${onChain} on chain.`);
        }
      }
    }
    // Memory: each agent's life that spans warm-up to the end, from after warm-up to its end.
    const warmUp = Math.max(30_000, options.minutes * 60_000 * 0.25);
    const rss: RssFigures[] = [];
    for (const agent of agents) {
      const life = agent.rss.filter(([t]) => t >= warmUp);
      if (life.length < 4 || agent.rss[0][0] > warmUp) continue;
      const startBytes = median(life.slice(0, 3).map(([, b]) => b));
      const endBytes = median(life.slice(-3).map(([, b]) => b));
      const growth = ((endBytes - startBytes) / startBytes) * 100;
      rss.push({
        agent: agent.name,
        startMb: Math.round(startBytes / 1e5) / 10,
        endMb: Math.round(endBytes / 1e5) / 10,
        growthPercent: Math.round(growth * 10) / 10,
      });
      if (growth >= 10) violations.push(`${agent.name}: RSS grew ${growth.toFixed(1)} % after warm-up (at most 10 %).`);
    }
    if (rss.length === 0) violations.push("No agent lived long enough to measure its memory.");

    latencies.sort((a, b) => a - b);
    const handled = attacks.filter((a) => a.banned && a.done).length;
    if (handled < attacks.length)
      violations.push(`${attacks.length - handled} attack(s) could not be notified to their daemon.`);
    const result: SoakResult = {
      minutes: options.minutes,
      seed: options.seed,
      attacks: attacks.length,
      attacksHandled: handled,
      restarts,
      failedStarts,
      outages,
      requests,
      requestsAnswered: acknowledged + rejected + reclaimed,
      acknowledged,
      rejected,
      reclaimed,
      p50LatencySeconds: percentile(latencies, 50),
      p99LatencySeconds: percentile(latencies, 99),
      rss,
      scrapes,
      loadStart,
      loadEnd: loadavg().map((l) => Math.round(l * 100) / 100),
      violations,
    };
    await Promise.all(
      agents.map(async (a) => {
        const code = await a.process.kill("SIGTERM");
        if (code !== 0 && code !== null) violations.push(`${a.name} exited with code ${code} on SIGTERM.`);
      }),
    );
    return result;
  } finally {
    await Promise.all(agents.map((a) => a.process.kill("SIGKILL")));
    await outage?.close();
    node?.stop();
  }
}

/** The summary an operator reads. */
export function describeSoak(r: SoakResult): string[] {
  return [
    `soak of ${r.minutes} min (seed ${r.seed}): ${r.attacksHandled}/${r.attacks} attacks handled, ${r.restarts} kill -9 and restarts, ${r.outages} RPC outage(s)`,
    `${r.failedStarts} start(s) ended in an exit before serving, each started again as systemd would`,
    `requests: ${r.requests}, answered ${r.requestsAnswered} (${r.acknowledged} acknowledged, ${r.rejected} rejected, ${r.reclaimed} reclaimed)`,
    `request → acknowledgement (chain time): p50 ${r.p50LatencySeconds} s, p99 ${r.p99LatencySeconds} s`,
    ...r.rss.map((x) => `RSS ${x.agent}: ${x.startMb} MB → ${x.endMb} MB (${x.growthPercent} %)`),
    `${r.scrapes} scrapes; load average ${r.loadStart.join(" ")} at start, ${r.loadEnd.join(" ")} at end`,
    r.violations.length === 0 ? "no violation" : `${r.violations.length} violation(s):`,
    ...r.violations.map((v) => `  - ${v}`),
  ];
}
