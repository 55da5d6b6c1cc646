/**
 * The victim daemon fed by the notify script, with provider agents running, on the in-process
 * network: a ban buys from the providers near the sources, a repeated ban buys nothing, new
 * sources add purchases, a mitigation about to end is renewed while the attack goes on, an unban
 * withdraws; what it bought survives a restart (and a crash between sending and recording); and
 * bad input gets one sentence and buys nothing.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";

import type { ProviderAgent } from "../../src/provider/agent";
import { freePort } from "../../src/net";
import { parseTokens } from "../../src/format";
import type { VictimDaemon } from "../../src/victim/daemon";
import { startIntake, type Intake } from "../../src/victim/intake";
import { parseSpendingPolicy, type SpendingPolicy } from "../../src/victim/policy";
import { VictimStore, type PurchaseRecordState } from "../../src/victim/store";
import { startVictimDaemon } from "../helpers/victimDaemon";
import { chainNow, deploySmallInternet, providerAgent, until, type SmallInternet } from "../agents/helpers";

const NOTIFY = path.join(__dirname, "..", "..", "scripts", "fastnetmon-notify.cjs");
const TARGET = "203.0.113.10";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the notify script as FastNetMon does: the four arguments, the details on standard input. */
export function notify(url: string, args: string[], details = ""): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [NOTIFY, ...args],
      { env: { ...process.env, VICTIM_DAEMON_URL: url } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin!.end(details);
  });
}

/** FastNetMon's flow lines for these sources towards the target. */
function flows(sources: string[]): string {
  return ["Incoming", "", `UDP flows: ${sources.length}`]
    .concat(sources.map((s, i) => `${TARGET}:53 < ${s}:${40000 + i} 2000000 bytes 4000 packets`))
    .join("\n");
}

const POLICY = {
  budgetPerHour: "100",
  budgetPerDay: "500",
  maxPricePerPurchase: "10",
  kinds: ["flow-filtering", "rate-limiting"],
  duration: 600,
  renewBefore: 60,
  ackWindow: 120,
};

interface Harness {
  net: SmallInternet;
  daemon: VictimDaemon;
  intake: Intake;
  store: VictimStore;
  lines: string[];
  stop(): Promise<void>;
}

async function startVictim(net: SmallInternet, policy: SpendingPolicy, db = ":memory:"): Promise<Harness> {
  const lines: string[] = [];
  const store = new VictimStore(db);
  const daemon = await startVictimDaemon(net, store, policy, lines);
  const intake = await startIntake({ listen: { host: "127.0.0.1", port: 0 }, handle: (n) => daemon.notify(n) });
  return {
    net,
    daemon,
    intake,
    store,
    lines,
    stop: async () => {
      await intake.close();
      await daemon.stop();
      store.close();
    },
  };
}

function states(store: VictimStore): PurchaseRecordState[] {
  return store.purchases().map((p) => p.state);
}

describe("Victim daemon", function () {
  this.timeout(120_000);
  let agents: ProviderAgent[] = [];
  let victim: Harness | undefined;

  async function setUp(policy: object = POLICY): Promise<Harness> {
    const net = await loadFixture(deploySmallInternet);
    agents = ["alpha", "beta", "gamma"].map((k) => providerAgent(net, k));
    for (const a of agents) a.start();
    victim = await startVictim(net, parseSpendingPolicy(policy));
    return victim;
  }

  afterEach(async function () {
    // The daemon's own account of what happened, when a test fails.
    if (this.currentTest?.state === "failed") console.log(victim?.lines.join("\n"));
    await victim?.stop();
    victim = undefined;
    await Promise.all(agents.map((a) => a.stop()));
    agents = [];
  });

  describe("when FastNetMon bans and unbans", function () {
    it("buys near the sources, buys nothing twice, adds new sources, and withdraws at the unban", async function () {
      const { intake, store, net } = await setUp();
      const ban = await notify(
        intake.url,
        [TARGET, "incoming", "75854", "ban"],
        flows(["198.51.100.23", "198.51.100.200"]),
      );
      expect(ban).to.deep.include({ code: 0, stderr: "" });
      expect(ban.stdout).to.match(
        /^Buying for 203\.0\.113\.10\/32: .*flow-filtering from 0x\w+ \(198\.51\.100\.23\/32 → 203\.0\.113\.10\/32\).*rate-limiting from 0x\w+ \(198\.51\.100\.200\/32 → /,
      );
      await until(() => states(store).join() === "acknowledged,acknowledged", 20_000, "two acknowledged purchases");
      const [alpha, beta] = store.purchases();
      expect([alpha.service, beta.service].sort()).to.deep.equal([net.services.alpha, net.services.beta].sort());
      expect((await net.victim.getRequest(alpha.service, alpha.requestId)).status).to.equal("acknowledged");

      const again = await notify(
        intake.url,
        [TARGET, "incoming", "80000", "ban"],
        flows(["198.51.100.23", "198.51.100.200"]),
      );
      expect(again.code).to.equal(0);
      expect(again.stdout).to.match(/^203\.0\.113\.10\/32 is already mitigated: its 2 sources are covered until /);
      expect(store.purchases()).to.have.length(2);

      // The sampled packets name a new source (Gamma's): only it is bought.
      const details = await notify(
        intake.url,
        [TARGET, "incoming", "80000", "attack_details"],
        "2026-11-27 08:14:14.000000 198.51.100.23:40000 > 203.0.113.10:53 protocol: udp frag: 0  packets: 5000 size: 2500000 bytes ttl: 0 sample ratio: 1\n" +
          "2026-11-27 08:14:14.000000 192.0.2.7:40001 > 203.0.113.10:53 protocol: udp frag: 0  packets: 5000 size: 2500000 bytes ttl: 0 sample ratio: 1\n",
      );
      expect(details.code).to.equal(0);
      expect(details.stdout).to.match(
        /^Buying for 203\.0\.113\.10\/32: .* from 0x\w+ \(192\.0\.2\.7\/32 → 203\.0\.113\.10\/32\)\.\n$/,
      );
      await until(
        () => states(store).join() === "acknowledged,acknowledged,acknowledged",
        20_000,
        "the third purchase",
      );
      expect(store.purchases()[2].service).to.equal(net.services.gamma);

      const unban = await notify(intake.url, [TARGET, "incoming", "0", "unban"]);
      expect(unban).to.deep.include({ code: 0 });
      expect(unban.stdout).to.equal("The attack on 203.0.113.10/32 is over: its 3 mitigations will be ended early.\n");
      await until(() => states(store).every((s) => s === "withdrawn"), 20_000, "three withdrawals");
      for (const p of store.purchases()) {
        expect((await net.victim.getRequest(p.service, p.requestId)).status).to.equal("withdrawn");
      }
      // The providers see the withdrawal and end their mitigations (rules removed).
      await until(() => agents.every((a) => (a.counts().active ?? 0) === 0), 20_000, "the providers to end");
    });

    it("renews a mitigation about to end while the attack goes on", async function () {
      const { intake, store, lines } = await setUp({ ...POLICY, duration: 120, renewBefore: 30 });
      expect((await notify(intake.url, [TARGET, "incoming", "1000", "ban"], flows(["198.51.100.23"]))).code).to.equal(
        0,
      );
      await until(() => states(store).join() === "acknowledged", 20_000, "the purchase");
      const [first] = store.purchases();
      // 100 s later the mitigation has 20 s left, under the 30 s margin: bought again.
      await time.increaseTo(first.endsAt! - 20);
      await until(() => store.purchases().length === 2 && states(store)[1] === "acknowledged", 20_000, "the renewal");
      const second = store.purchases()[1];
      expect(second.sources).to.deep.equal(first.sources);
      expect(second.endsAt! - first.endsAt!).to.be.greaterThanOrEqual(100);
      expect(lines.some((l) => l.startsWith("203.0.113.10/32: renewing for 1 source: 198.51.100.23/32"))).to.be.true;
      // It does not renew again while the new one lasts.
      await victim!.daemon.tick();
      expect(store.purchases()).to.have.length(2);
      // The old one ends on its own; the unban withdraws the new one.
      await time.increaseTo(first.endsAt! + 1);
      await victim!.daemon.tick();
      expect(store.purchase(first.service, first.requestId)!.state).to.equal("ended");
      await notify(intake.url, [TARGET, "incoming", "0", "unban"]);
      await until(
        () => store.purchase(second.service, second.requestId)!.state === "withdrawn",
        20_000,
        "the withdrawal",
      );
    });
  });

  describe("across a restart", function () {
    let dir: string | undefined;
    after(() => dir && rmSync(dir, { recursive: true, force: true }));

    it("remembers what it bought for which target, and finds on chain what a crash left unrecorded", async function () {
      const net = await loadFixture(deploySmallInternet);
      agents = ["alpha", "beta"].map((k) => providerAgent(net, k));
      for (const a of agents) a.start();
      dir = mkdtempSync(path.join(tmpdir(), "victim-daemon-"));
      const db = path.join(dir, "victim.db");
      const policy = parseSpendingPolicy(POLICY);
      const first = await startVictim(net, policy, db);
      expect(
        (await notify(first.intake.url, [TARGET, "incoming", "1000", "ban"], flows(["198.51.100.23"]))).code,
      ).to.equal(0);
      await until(() => states(first.store).join() === "acknowledged", 20_000, "the purchase");
      // A crash right after a request was mined, before it was recorded: the intent is on disk.
      const block = await ethers.provider.getBlockNumber();
      first.store.addIntent(`${TARGET}/32`, ["198.51.100.200/32"], block);
      await first.stop();
      const { event } = await net.victim
        .requestMany([
          {
            service: net.services.beta,
            offeringId: 0,
            target: `${TARGET}/32`,
            sources: ["198.51.100.200"],
            duration: 600,
            maxPrice: parseTokens("5"),
            ackDeadline: (await chainNow()) + 120,
          },
        ])
        .then((r) => ({ event: r.events[0] }));

      victim = await startVictim(net, policy, db);
      const { store, lines } = victim;
      expect(lines.some((l) => l.includes(`recovered #${event.requestId & ((1n << 64n) - 1n)}`))).to.be.true;
      expect(store.purchases().map((p) => [p.service, p.target])).to.deep.equal([
        [net.services.alpha, `${TARGET}/32`],
        [net.services.beta, `${TARGET}/32`],
      ]);
      await until(() => states(store).join() === "acknowledged,acknowledged", 20_000, "the recovered one acknowledged");
      // The restarted daemon ends what the first one bought.
      expect((await notify(victim.intake.url, [TARGET, "incoming", "0", "unban"])).stdout).to.match(
        /its 2 mitigations/,
      );
      await until(() => states(store).join() === "withdrawn,withdrawn", 20_000, "both withdrawn");
    });
  });

  describe("bad input: one sentence, nothing bought", function () {
    async function balance(net: SmallInternet): Promise<bigint> {
      return net.system.token.balanceOf(await net.accounts.orgs.victim.getAddress());
    }

    it("refuses a malformed notification", async function () {
      const { intake, store, net } = await setUp();
      const before = await balance(net);
      const run = await notify(intake.url, [TARGET, "incoming", "a lot", "ban"], flows(["198.51.100.23"]));
      expect(run).to.deep.equal({
        code: 1,
        stdout: "",
        stderr: 'The attack\'s power "a lot" is not a whole number of packets per second.\n',
      });
      expect(store.purchases()).to.deep.equal([]);
      expect(store.targets()).to.deep.equal([]);
      expect(await balance(net)).to.equal(before);
    });

    it("refuses an attacked address the victim does not hold", async function () {
      const { intake, store, net } = await setUp();
      const run = await notify(intake.url, ["198.51.100.5", "incoming", "1000", "ban"], flows(["192.0.2.7"]));
      const victimAddress = await net.accounts.orgs.victim.getAddress();
      const alpha = await net.accounts.orgs.alpha.getAddress();
      expect(run).to.deep.equal({
        code: 1,
        stdout: "",
        stderr: `${victimAddress} does not hold 198.51.100.5/32: it is held by ${alpha} (198.51.100.0/25).\n`,
      });
      expect(store.purchases()).to.deep.equal([]);
    });

    it("refuses what is beyond the budget, with one log line saying why", async function () {
      const { intake, store, net, lines } = await setUp({ ...POLICY, budgetPerHour: "2", maxPricePerPurchase: "2" });
      const before = await balance(net);
      // Alpha's 600 s cost 1.67 MIT, Beta's (rate-limiting, 8 per hour) 1.34 MIT: together above 2.
      const run = await notify(
        intake.url,
        [TARGET, "incoming", "1000", "ban"],
        flows(["198.51.100.23", "198.51.100.200"]),
      );
      expect(run.code).to.equal(0);
      expect(run.stdout).to.match(
        /; the spending policy refuses 1\.3{3,}4 MIT of rate-limiting from 0x\w+ \(198\.51\.100\.200\/32 → 203\.0\.113\.10\/32\) \(it would bring the last hour's spending to 3\.0+1 MIT, above the policy's budget of 2 MIT per hour\)\.\n$/,
      );
      const refusals = lines.filter((l) => l.includes("the spending policy refuses"));
      expect(refusals).to.have.length(1);
      await until(() => states(store).join() === "acknowledged", 20_000, "the one purchase within budget");
      expect(before - (await balance(net))).to.equal(store.purchases()[0].price);

      // Everything refused: exit 1, nothing more bought.
      const more = await notify(intake.url, [TARGET, "incoming", "1000", "ban"], flows(["192.0.2.7"]));
      expect(more.code).to.equal(1);
      // A new ban gives the source refused before another chance: both are refused.
      expect(more.stderr).to.match(
        /^The spending policy refuses all 2 orders for 203\.0\.113\.10\/32: .*above the policy's budget of 2 MIT per hour\.\n$/,
      );
      expect(store.purchases()).to.have.length(1);
    });

    it("buys nothing in a dry run, and logs what it would buy", async function () {
      const { intake, store, net, lines } = await setUp({ ...POLICY, dryRun: true });
      const before = await balance(net);
      const run = await notify(intake.url, [TARGET, "incoming", "1000", "ban"], flows(["198.51.100.23"]));
      expect(run.code).to.equal(0);
      expect(run.stdout).to.match(
        /^Dry run for 203\.0\.113\.10\/32: would buy 1\.6+7 MIT of flow-filtering from 0x\w+ \(198\.51\.100\.23\/32 → 203\.0\.113\.10\/32\)\.\n$/,
      );
      expect(lines.filter((l) => l.includes("dry run: would buy"))).to.have.length(1);
      await until(() => !victim!.daemon.busy(), 10_000, "the dry run to end");
      await victim!.daemon.tick();
      expect(store.purchases()).to.deep.equal([]);
      expect(await balance(net)).to.equal(before);
    });

    it("says the daemon is unreachable when nothing listens", async function () {
      const port = await freePort();
      const run = await notify(
        `http://127.0.0.1:${port}`,
        [TARGET, "incoming", "1000", "ban"],
        flows(["198.51.100.23"]),
      );
      expect(run.code).to.equal(1);
      expect(run.stdout).to.equal("");
      expect(run.stderr).to.equal(
        `The victim daemon at http://127.0.0.1:${port} is unreachable (connect ECONNREFUSED 127.0.0.1:${port}): nothing was bought.\n`,
      );
    });
  });
});
