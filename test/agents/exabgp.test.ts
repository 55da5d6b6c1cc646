/**
 * The ExaBGP back end for real: provider agents write ExaBGP API commands to their command files
 * (the back end's crash-safe journal); a real ExaBGP runs the bridge (scripts/exabgp-bridge.cjs)
 * that follows each file, and announces the FlowSpec routes (IPv4 and IPv6, discard and
 * rate-limit) to a real gobgpd over a BGP session on loopback. The routes are in gobgpd's RIB
 * while the mitigations run and gone after they end; a restarted ExaBGP announces again exactly
 * what is in force, and a restarted agent's back end knows it from its file. Skipped, saying why,
 * only when exabgp or gobgpd is not installed.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";

import { ExabgpBackend } from "../../src/backends/exabgp";
import {
  deploySmallInternet,
  providerAgent,
  requestFlowspecSample,
  SAMPLE_RATE_LIMIT,
  SAMPLE_ROUTES,
  until,
} from "./helpers";
import {
  established,
  flowspecRib as rib,
  installed,
  startExabgp,
  startGobgpd,
  type Daemon,
  type Gobgpd,
} from "../helpers/bgp";

const EXABGP = { as: 65002, address: "127.0.0.3" };

describe("ExaBGP back end (real exabgp peered with a real gobgpd on loopback)", function () {
  this.timeout(120_000);
  let dir: string | undefined;
  let gobgpd: Gobgpd | undefined;
  let exabgp: Daemon | undefined;
  let files: string[] = [];

  const startSpeaker = () =>
    startExabgp({
      dir: dir!,
      name: "exabgp",
      ...EXABGP,
      peer: { address: "127.0.0.1", as: 65000, port: gobgpd!.port },
      commandFiles: files,
    });

  before(async function () {
    if (!installed("exabgp") || !installed("gobgpd") || !installed("gobgp")) {
      console.log("    (skipped: exabgp / gobgpd are not installed: apt-get install exabgp gobgpd)");
      this.skip();
    }
    dir = mkdtempSync(path.join(tmpdir(), "exabgp-"));
    files = [path.join(dir, "alpha.cmd"), path.join(dir, "beta.cmd")];
    gobgpd = await startGobgpd({
      dir,
      name: "gobgpd",
      as: 65000,
      address: "127.0.0.1",
      neighbors: [{ address: EXABGP.address, as: EXABGP.as, passive: true }],
    });
    exabgp = startSpeaker();
    await established(gobgpd.api, EXABGP.address);
  });

  after(async function () {
    await exabgp?.stop();
    await gobgpd?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("announces the exact FlowSpec routes while the mitigations run, again after a restart, and withdraws them at the end", async function () {
    const net = await loadFixture(deploySmallInternet);
    const alpha = providerAgent(net, "alpha", { backend: new ExabgpBackend({ file: files[0] }) });
    const beta = providerAgent(net, "beta", {
      backend: new ExabgpBackend({ file: files[1] }),
      policy: { rateLimitBytesPerSecond: SAMPLE_RATE_LIMIT },
    });
    const v4 = await requestFlowspecSample(net);
    await alpha.tick();
    await beta.tick();

    const { ipv4, ipv6 } = SAMPLE_ROUTES;
    const ribIs = async (v4routes: string[], v6routes: string[]) =>
      JSON.stringify([await rib(gobgpd!.api, "ipv4-flowspec"), await rib(gobgpd!.api, "ipv6-flowspec")]) ===
      JSON.stringify([v4routes, v6routes]);
    await until(() => ribIs(ipv4, ipv6), 15_000, "the routes announced by ExaBGP in gobgpd's RIB");
    expect(await rib(gobgpd!.api, "ipv4-flowspec")).to.deep.equal(ipv4);
    expect(await rib(gobgpd!.api, "ipv6-flowspec")).to.deep.equal(ipv6);
    // One line per API command, in the file the bridge follows.
    expect(readFileSync(files[0], "utf8").trim().split("\n")).to.deep.equal([
      "announce flow route source 198.51.100.23/32 destination 203.0.113.10/32 discard",
      "announce flow route source 198.51.100.64/26 destination 203.0.113.10/32 discard",
      "announce flow route source 2001:db8:1000::66/128 destination 2001:db8:a::/48 discard",
    ]);

    // ExaBGP restarts: the session drops and gobgpd forgets the routes; the bridge replays the
    // files and they come back, the same.
    await exabgp!.stop();
    await until(() => ribIs([], []), 15_000, "gobgpd to drop the routes of the closed session");
    exabgp = startSpeaker();
    await until(() => ribIs(ipv4, ipv6), 30_000, "the routes announced again after ExaBGP restarted");

    // The agent restarts: its back end reads what is in force from the file and sends nothing twice.
    const alphaAgain = providerAgent(net, "alpha", {
      backend: new ExabgpBackend({ file: files[0] }),
      store: alpha.store,
    });
    expect((await alphaAgain.backend.list()).length).to.equal(3);
    const lines = readFileSync(files[0], "utf8").length;
    await alphaAgain.tick();
    expect(readFileSync(files[0], "utf8").length).to.equal(lines);

    const { endsAt } = await net.victim.getRequest(net.services.alpha, v4.requestId);
    await time.increaseTo(endsAt + 5);
    await alphaAgain.tick();
    await beta.tick();
    await until(() => ribIs([], []), 15_000, "the withdrawals in gobgpd's RIB");
    expect(alphaAgain.counts()).to.deep.equal({ ended: 2 });
    expect(beta.counts()).to.deep.equal({ ended: 1 });
    await alphaAgain.backend.close();
    await beta.backend.close();
  });
});
