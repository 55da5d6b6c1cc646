/**
 * The GoBGP back end against a real gobgpd: the provider agents install BGP FlowSpec routes (IPv4
 * and IPv6, discard and rate-limit) in a gobgpd started on loopback with its own config and ports;
 * a second gobgpd peering with it over loopback receives them; when the mitigations end they are
 * withdrawn from both. Skipped, saying why, only when gobgpd is not installed.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";

import { GobgpBackend } from "../../src/backends/gobgp";
import {
  deploySmallInternet,
  providerAgent,
  requestFlowspecSample,
  SAMPLE_RATE_LIMIT,
  SAMPLE_ROUTES,
  until,
} from "./helpers";
import { freePort } from "../../src/net";
import { established, flowspecRib as rib, installed, startGobgpd, type Gobgpd } from "../helpers/bgp";

describe("GoBGP back end (real gobgpd on loopback)", function () {
  this.timeout(120_000);
  const daemons: Gobgpd[] = [];
  let dir: string | undefined;
  let router = 0;
  let peer = 0;

  before(async function () {
    if (!installed("gobgpd") || !installed("gobgp")) {
      console.log("    (skipped: gobgpd / gobgp are not installed: apt-get install gobgpd)");
      this.skip();
    }
    dir = mkdtempSync(path.join(tmpdir(), "gobgp-"));
    const [bgpA, bgpB] = [await freePort(), await freePort()];
    // The provider's router (AS65000, on 127.0.0.1) and a peer (AS65001, on 127.0.0.2) that
    // receives the FlowSpec routes over BGP.
    const a = await startGobgpd({
      dir,
      name: "router",
      as: 65000,
      address: "127.0.0.1",
      port: bgpA,
      neighbors: [{ address: "127.0.0.2", as: 65001, port: bgpB, passive: false }],
    });
    daemons.push(a);
    const b = await startGobgpd({
      dir,
      name: "peer",
      as: 65001,
      address: "127.0.0.2",
      port: bgpB,
      neighbors: [{ address: "127.0.0.1", as: 65000, port: bgpA, passive: true }],
    });
    daemons.push(b);
    [router, peer] = [a.api, b.api];
    await established(router, "127.0.0.2");
  });

  after(async function () {
    await Promise.all(daemons.map((d) => d.stop()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("installs the exact FlowSpec routes, which the peer receives, and withdraws them at the end", async function () {
    const net = await loadFixture(deploySmallInternet);
    const alpha = providerAgent(net, "alpha", { backend: new GobgpBackend({ port: router }) });
    const beta = providerAgent(net, "beta", {
      backend: new GobgpBackend({ port: router }),
      policy: { rateLimitBytesPerSecond: SAMPLE_RATE_LIMIT },
    });
    const v4 = await requestFlowspecSample(net);
    await alpha.tick();
    await beta.tick();

    const { ipv4, ipv6 } = SAMPLE_ROUTES;
    expect(await rib(router, "ipv4-flowspec")).to.deep.equal(ipv4);
    expect(await rib(router, "ipv6-flowspec")).to.deep.equal(ipv6);
    // The peer learns them over the BGP session.
    await until(async () => (await rib(peer, "ipv4-flowspec")).length === 3, 15_000, "the peer's IPv4 routes");
    await until(async () => (await rib(peer, "ipv6-flowspec")).length === 1, 15_000, "the peer's IPv6 routes");
    expect(await rib(peer, "ipv4-flowspec")).to.deep.equal(ipv4);
    expect(await rib(peer, "ipv6-flowspec")).to.deep.equal(ipv6);

    // The back end lists the daemon's whole RIB; a second pass changes nothing (idempotent), and
    // alpha's agent leaves beta's route alone.
    expect(await alpha.backend.list()).to.have.length(4);
    await alpha.tick();
    expect(await rib(router, "ipv4-flowspec")).to.deep.equal(ipv4);

    const { endsAt } = await net.victim.getRequest(net.services.alpha, v4.requestId);
    await time.increaseTo(endsAt + 5);
    await alpha.tick();
    await beta.tick();
    expect(await rib(router, "ipv4-flowspec")).to.deep.equal([]);
    expect(await rib(router, "ipv6-flowspec")).to.deep.equal([]);
    await until(async () => (await rib(peer, "ipv4-flowspec")).length === 0, 15_000, "the peer's withdrawals");
    await until(async () => (await rib(peer, "ipv6-flowspec")).length === 0, 15_000, "the peer's withdrawals");
    expect(alpha.counts()).to.deep.equal({ ended: 2 });
    expect(beta.counts()).to.deep.equal({ ended: 1 });
  });
});
