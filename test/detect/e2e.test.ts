/**
 * No hand in it: a NetFlow v5 flood on loopback towards an address the victim holds → a real
 * FastNetMon bans it and calls the notify script → the victim daemon buys on anvil (1 s blocks)
 * from the providers near the sources → Alpha's agent announces through a real ExaBGP, Beta's
 * installs into a real gobgpd → the FlowSpec routes for the flood's sources are in gobgpd's RIB →
 * the flood stops → FastNetMon unbans → the victim withdraws → the routes are gone. Every link is
 * checked on the way, so the test fails wherever the chain breaks. Skipped, saying why, only when
 * FastNetMon, ExaBGP or gobgpd is not installed (.ci/run installs them).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";

import { labMissing, RATE_LIMIT, startLab, type Lab } from "../helpers/detectionLab";
import { NetflowFlood } from "../helpers/netflow";
import { until } from "../helpers/until";

const TARGET = "203.0.113.10";
const ALPHA_SOURCE = "198.51.100.23"; // AS64510: Alpha, flow filtering (discard), through ExaBGP
const BETA_SOURCE = "198.51.100.200"; // AS64520: Beta, rate limiting, through GoBGP
const NOBODY_SOURCE = "192.0.2.200"; // AS64550: Epsilon sells no mitigation

describe("From detection to filtering, end to end (FastNetMon → victim daemon → anvil → ExaBGP/GoBGP)", function () {
  this.timeout(180_000);
  let dir: string | undefined;
  let lab: Lab | undefined;
  let flood: NetflowFlood | undefined;
  const lines: string[] = [];

  before(async function () {
    const missing = labMissing();
    if (missing !== null) {
      console.log(`    (skipped: ${missing})`);
      this.skip();
    }
    dir = mkdtempSync(path.join(tmpdir(), "detection-e2e-"));
    lab = await startLab({ dir, onLine: (who, line) => lines.push(`${who}: ${line}`) });
  });

  after(async function () {
    await flood?.stop();
    await lab?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  afterEach(function () {
    if (process.env.E2E_VERBOSE) console.log(lines.join("\n"));
    if (this.currentTest?.state !== "failed") return;
    // What every agent and FastNetMon said, to see which link broke.
    console.log(lines.join("\n"));
    console.log(lab?.fastnetmon.logText());
  });

  it("bans, buys, filters, unbans, withdraws and removes the routes, without human intervention", async function () {
    const { store } = lab!;
    expect(await lab!.rib()).to.deep.equal([]);
    flood = new NetflowFlood({
      port: lab!.fastnetmon.netflowPort,
      flows: [ALPHA_SOURCE, BETA_SOURCE, NOBODY_SOURCE].map((source) => ({ source, destination: TARGET, pps: 20_000 })),
    });
    await flood.start();

    const routes = [
      `[destination: ${TARGET}/32][source: ${BETA_SOURCE}/32] rate: ${RATE_LIMIT}.000000`,
      `[destination: ${TARGET}/32][source: ${ALPHA_SOURCE}/32] discard`,
    ].sort();
    await until(
      async () => JSON.stringify(await lab!.rib()) === JSON.stringify(routes),
      60_000,
      "the FlowSpec routes in gobgpd's RIB",
      100,
    );

    // Each link on the way: FastNetMon banned and called the script, the daemon bought from the two
    // providers near the sources (and reported the one nobody serves), both acknowledged.
    expect(lab!.fastnetmon.logText()).to.match(/Attack with direction: incoming IP: 203\.0\.113\.10 Power: \d+/);
    expect(lines.some((l) => l.startsWith(`victim: ban of ${TARGET}/32`))).to.be.true;
    await until(
      () => store.purchases().filter((p) => p.state === "acknowledged").length === 2,
      30_000,
      "both acknowledgements",
    );
    expect(
      store
        .purchases()
        .map((p) => [p.service, p.sources, p.kind])
        .sort(),
    ).to.deep.equal(
      [
        [lab!.services.alpha, [`${ALPHA_SOURCE}/32`], "flow-filtering"],
        [lab!.services.beta, [`${BETA_SOURCE}/32`], "rate-limiting"],
      ].sort(),
    );
    expect(store.target(`${TARGET}/32`)!.skipped).to.deep.equal({
      [`${NOBODY_SOURCE}/32`]: "no provider covers AS64550",
    });

    await flood.stop();
    await until(
      () => store.purchases().every((p) => p.state === "withdrawn"),
      90_000,
      "FastNetMon's unban and the withdrawals",
      200,
    );
    expect(lab!.fastnetmon.logText()).to.match(/We will unban banned IP: 203\.0\.113\.10/);
    expect(store.target(`${TARGET}/32`)!.state).to.equal("ended");
    await until(async () => (await lab!.rib()).length === 0, 30_000, "the routes to leave gobgpd's RIB", 100);
    // Both providers end their mitigation (rules removed, "terminated" reported on chain).
    await until(
      () => JSON.stringify([lab!.alpha.counts(), lab!.beta.counts()]) === JSON.stringify([{ ended: 1 }, { ended: 1 }]),
      30_000,
      "both providers to end their mitigation",
    );
  });
});
