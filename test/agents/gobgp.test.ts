/**
 * The GoBGP back end against a real gobgpd: the provider agents install BGP FlowSpec routes (IPv4
 * and IPv6, discard and rate-limit) in a gobgpd started on loopback with its own config and ports;
 * a second gobgpd peering with it over loopback receives them; when the mitigations end they are
 * withdrawn from both. Skipped, saying why, only when gobgpd is not installed.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";

import { GobgpBackend } from "../../src/backends/gobgp";
import { deploySmallInternet, order, providerAgent } from "./helpers";
import { freePort } from "../../src/net";

function gobgp(apiPort: number, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("gobgp", ["-u", "127.0.0.1", "-p", String(apiPort), ...args], (error, stdout, stderr) =>
      error ? reject(new Error(`gobgp ${args.join(" ")}: ${stderr || stdout || error.message}`)) : resolve(stdout),
    );
  });
}

/** The RIB as `gobgp global rib -a <family>` prints it: "[destination: …][source: …] [discard]". */
async function rib(apiPort: number, family: "ipv4-flowspec" | "ipv6-flowspec"): Promise<string[]> {
  const text = await gobgp(apiPort, ["global", "rib", "-a", family]);
  const routes: string[] = [];
  for (const line of text.split("\n")) {
    const network = /(\[destination: [^\]]+\]\[source: [^\]]+\])/.exec(line);
    const action = /Extcomms: \[([^\]]+)\]/.exec(line);
    if (network && action) routes.push(`${network[1]} ${action[1]}`);
  }
  return routes.sort();
}

const FAMILIES = `
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-flowspec"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv6-flowspec"`;

function speakerConfig(
  as: number,
  address: string,
  port: number,
  peer: { as: number; address: string; port: number; passive: boolean },
) {
  return `[global.config]
  as = ${as}
  router-id = "${address}"
  port = ${port}
  local-address-list = ["${address}"]

[[neighbors]]
  [neighbors.config]
    neighbor-address = "${peer.address}"
    peer-as = ${peer.as}
  [neighbors.transport.config]
    local-address = "${address}"
    remote-port = ${peer.port}
    passive-mode = ${peer.passive}
  [neighbors.timers.config]
    connect-retry = 1
${FAMILIES}
`;
}

async function until(condition: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("GoBGP back end (real gobgpd on loopback)", function () {
  this.timeout(120_000);
  const daemons: ChildProcess[] = [];
  let dir: string | undefined;
  let router = 0;
  let peer = 0;

  before(async function () {
    if (spawnSync("gobgpd", ["--version"]).error || spawnSync("gobgp", ["--version"]).error) {
      console.log("    (skipped: gobgpd / gobgp are not installed: apt-get install gobgpd)");
      this.skip();
    }
    dir = mkdtempSync(path.join(tmpdir(), "gobgp-"));
    const [bgpA, bgpB] = [await freePort(), await freePort()];
    [router, peer] = [await freePort(), await freePort()];
    const start = (name: string, config: string, api: number) => {
      const file = path.join(dir!, `${name}.toml`);
      writeFileSync(file, config);
      const daemon = spawn("gobgpd", ["-f", file, "--api-hosts", `127.0.0.1:${api}`, "--pprof-disable", "-p"], {
        stdio: "ignore",
      });
      daemons.push(daemon);
    };
    // The provider's router (AS65000, on 127.0.0.1) and a peer (AS65001, on 127.0.0.2) that
    // receives the FlowSpec routes over BGP.
    start(
      "router",
      speakerConfig(65000, "127.0.0.1", bgpA, { as: 65001, address: "127.0.0.2", port: bgpB, passive: false }),
      router,
    );
    start(
      "peer",
      speakerConfig(65001, "127.0.0.2", bgpB, { as: 65000, address: "127.0.0.1", port: bgpA, passive: true }),
      peer,
    );
    for (const api of [router, peer]) {
      await until(
        () =>
          gobgp(api, ["global"]).then(
            () => true,
            () => false,
          ),
        15_000,
        `gobgpd on ${api}`,
      );
    }
    await until(
      async () => /Establ/.test(await gobgp(router, ["neighbor"])),
      30_000,
      "the BGP session between the two gobgpd",
    );
  });

  after(function () {
    for (const d of daemons) d.kill();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("installs the exact FlowSpec routes, which the peer receives, and withdraws them at the end", async function () {
    const net = await loadFixture(deploySmallInternet);
    const alpha = providerAgent(net, "alpha", { backend: new GobgpBackend({ port: router }) });
    const beta = providerAgent(net, "beta", {
      backend: new GobgpBackend({ port: router }),
      policy: { rateLimitBytesPerSecond: 1_250_000 },
    });
    const { event: v4 } = await net.victim.request(
      await order(net, "alpha", ["198.51.100.23", "198.51.100.64/26"], { target: "203.0.113.10/32", duration: 600 }),
    );
    await net.victim.request(
      await order(net, "alpha", ["2001:db8:1000::66"], { target: "2001:db8:a::/48", duration: 600 }),
    );
    await net.victim.request(await order(net, "beta", ["198.51.100.200"], { duration: 600 }));
    await alpha.tick();
    await beta.tick();

    const ipv4 = [
      "[destination: 203.0.113.0/24][source: 198.51.100.200/32] rate: 1250000.000000",
      "[destination: 203.0.113.10/32][source: 198.51.100.23/32] discard",
      "[destination: 203.0.113.10/32][source: 198.51.100.64/26] discard",
    ];
    const ipv6 = ["[destination: 2001:db8:a::/48/0][source: 2001:db8:1000::66/128/0] discard"];
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
