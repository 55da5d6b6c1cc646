/**
 * The DOTS gateway end to end: Debian's coap-client-openssl, a DOTS client nobody here wrote,
 * requests mitigation over coaps+tcp against anvil, observes the status as the provider agents
 * acknowledge and report, and withdraws; the providers' FlowSpec rules are installed and removed
 * accordingly. Bad messages get the RFC's codes and buy nothing. Skipped when coap-client-openssl
 * is not installed (`apt-get install libcoap3-bin`; .ci/run installs it).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import https from "node:https";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";

import { encodeDots, fromJsonMapping, type DotsObject } from "../../src/dots/codec";
import { formatPrefix } from "../../src/prefix";
import { until } from "../agents/helpers";
import {
  coap,
  coapClientInstalled,
  FIXTURES,
  Observer,
  type Credentials,
  startMarket,
  statusesIn,
  type Market,
} from "./helpers";

const TARGET = "203.0.113.10/32";

/** An RFC 9132 mitigation request with RFC 9244 top talkers: one source at Alpha, one at Gamma. */
function request(target: string, talkers: string[] = ["198.51.100.23/32", "192.0.2.7/32"]): DotsObject {
  return fromJsonMapping({
    "ietf-dots-signal-channel:mitigation-scope": {
      scope: [
        {
          "target-prefix": [target],
          "target-protocol": [17],
          lifetime: 3600,
          "ietf-dots-telemetry:attack-detail": [
            {
              "vendor-id": 32473,
              "attack-id": 77,
              "top-talker": { talker: talkers.map((source) => ({ "source-prefix": source })) },
            },
          ],
        },
      ],
    },
  }) as DotsObject;
}

describe("DOTS gateway with coap-client-openssl", function () {
  this.timeout(180_000);
  let market: Market | null = null;
  const cleanup: (() => Promise<void> | void)[] = [];
  let dir: string;
  const observers: Observer[] = [];

  before(async function () {
    if (!coapClientInstalled()) {
      console.log("    (skipped: coap-client-openssl is not installed; apt-get install libcoap3-bin)");
      this.skip();
    }
    dir = mkdtempSync(path.join(tmpdir(), "dots-"));
    // Our own deadline, below mocha's, so that a stalled start-up says where it stalled.
    let step = "starting anvil";
    let timer: NodeJS.Timeout | undefined;
    const stalled = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the market's start-up stalled after: ${step}`)), 150_000);
    });
    try {
      market = await Promise.race([startMarket(["alpha", "gamma"], cleanup, (s) => (step = s)), stalled]);
    } finally {
      clearTimeout(timer);
    }
    if (!market) this.skip();
  });

  after(async () => {
    for (const o of observers) o.stop();
    while (cleanup.length > 0) await cleanup.pop()!();
    if (dir && existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  });

  function file(name: string, body: Buffer): string {
    const full = path.join(dir, name);
    writeFileSync(full, body);
    return full;
  }

  /** PUTs `body` (CBOR, Content-Format 271) to `resource` with coap-client-openssl. */
  function put(resource: string, body: DotsObject, credentials: Credentials = "psk", extra: string[] = []) {
    const name = `${resource.replace(/[^\w]+/g, "_")}.cbor`;
    return coap(market!.gateway.signalPort, "put", resource, credentials, [
      "-t",
      "271",
      "-f",
      file(name, encodeDots(body)),
      ...extra,
    ]);
  }

  /** What a refused request must leave alone: no transaction from the victim, the same balance. */
  async function nothingBought<T>(action: () => Promise<T>): Promise<T> {
    const { anvil, victim, system } = market!;
    const nonce = await anvil.provider.getTransactionCount(victim);
    const balance = await system.token.balanceOf(victim);
    const result = await action();
    expect(await anvil.provider.getTransactionCount(victim)).to.equal(nonce);
    expect(await system.token.balanceOf(victim)).to.equal(balance);
    return result;
  }

  it("buys near the reported sources, reports the status as providers acknowledge and report, and withdraws", async () => {
    const m = market!;
    const port = m.gateway.signalPort;
    const before = await m.system.token.balanceOf(m.victim);

    const created = await put("mitigate/cuid=dz6pHjaADkaFTbjr0JGBpw/mid=100", request(TARGET));
    expect(created.code, created.log).to.equal("2.01");
    const [mitigation] = m.gateway.mitigations.list("example-hosting", "dz6pHjaADkaFTbjr0JGBpw", 100);
    const services = mitigation.purchase!.purchases.map((p) => p.service);
    expect(services).to.have.members([m.services.alpha, m.services.gamma]);
    expect(await m.system.token.balanceOf(m.victim)).to.be.below(before);

    const out = path.join(dir, "observe.cbor");
    const observer = new Observer(port, "mitigate/cuid=dz6pHjaADkaFTbjr0JGBpw/mid=100", "certificate", out);
    observers.push(observer);
    const seen = () => (existsSync(out) ? statusesIn(readFileSync(out)) : []);
    await until(() => seen().length > 0, 20_000, "the observation's first response");
    expect(seen()[0]).to.equal(1);

    m.agents.alpha.start();
    m.agents.gamma.start();
    await until(
      async () => (await m.backends.alpha.list()).length === 1 && (await m.backends.gamma.list()).length === 1,
      30_000,
      "rules at both providers",
    );
    expect((await m.backends.alpha.list())[0]).to.include({ source: "198.51.100.23/32", destination: TARGET });
    expect((await m.backends.gamma.list())[0]).to.include({ source: "192.0.2.7/32", destination: TARGET });

    // Alpha reports that the attack is being mitigated (DOTS status 2), with what it dropped.
    const alpha = mitigation.purchase!.purchases.find((p) => p.service === m.services.alpha)!;
    await until(() => alpha.state === "acknowledged", 20_000, "Alpha's acknowledgement seen by the gateway");
    await m.providerMarkets.alpha.reportStatus(m.services.alpha, alpha.requestId, 2, 123_456n, 789n);
    await until(() => seen().includes(2), 20_000, "status 2 observed");

    const del = await coap(port, "delete", "mitigate/cuid=dz6pHjaADkaFTbjr0JGBpw/mid=100", "psk");
    expect(del.code, del.log).to.equal("2.02");
    await until(() => seen().at(-1) === 6, 30_000, "status 6 (terminated) observed");
    expect(seen()).to.include(5);
    expect(await m.backends.alpha.list()).to.deep.equal([]);
    expect(await m.backends.gamma.list()).to.deep.equal([]);
    for (const p of mitigation.purchase!.purchases) {
      expect((await m.victimMarket.getRequest(p.service, p.requestId)).status).to.equal("withdrawn");
    }
    observer.stop();
  });

  it("locates the attack from earlier RFC 9244 telemetry when the request reports no talkers", async () => {
    const m = market!;
    const telemetry = fromJsonMapping({
      "ietf-dots-telemetry:telemetry": {
        "pre-or-ongoing-mitigation": [
          {
            target: { "target-prefix": ["203.0.113.60/32"] },
            "attack-detail": [
              { "vendor-id": 1, "attack-id": 9, "top-talker": { talker: [{ "source-prefix": "192.0.2.9/32" }] } },
            ],
          },
        ],
      },
    }) as DotsObject;
    const tm = await put("tm/cuid=t1/tmid=1", telemetry);
    expect(tm.code, tm.log).to.equal("2.01");
    const bare = fromJsonMapping({
      "ietf-dots-signal-channel:mitigation-scope": { scope: [{ "target-prefix": ["203.0.113.60/32"], lifetime: 600 }] },
    }) as DotsObject;
    const created = await put("mitigate/cuid=t1/mid=1", bare);
    expect(created.code, created.log).to.equal("2.01");
    const [mitigation] = m.gateway.mitigations.list("example-hosting", "t1", 1);
    // Only Gamma serves 192.0.2.9; the configured neighbours (Alpha's and Gamma's prefixes) are not used.
    expect(mitigation.purchase!.purchases.map((p) => p.service)).to.deep.equal([m.services.gamma]);
    const del = await coap(m.gateway.signalPort, "delete", "mitigate/cuid=t1/mid=1", "psk");
    expect(del.code).to.equal("2.02");
  });

  it("remembers its mitigations across a restart, and withdraws after it what a DELETE asks", async () => {
    const m = market!;
    const created = await put("mitigate/cuid=r1/mid=1", request("203.0.113.90/32", ["198.51.100.24/32"]));
    expect(created.code, created.log).to.equal("2.01");
    const [before] = m.gateway.mitigations.list("example-hosting", "r1", 1);
    const [bought] = before.purchase!.purchases;
    await until(() => bought.state === "acknowledged", 20_000, "Alpha's acknowledgement");

    await m.restartGateway();
    const [after] = m.gateway.mitigations.list("example-hosting", "r1", 1);
    expect(after.purchase!.purchases.map((p) => p.requestId)).to.deep.equal([bought.requestId]);
    await until(() => after.purchase!.purchases[0].state === "acknowledged", 20_000, "the acknowledgement read again");
    const out = path.join(dir, "restart-get.cbor");
    const get = await coap(m.gateway.signalPort, "get", "mitigate/cuid=r1/mid=1", "certificate", ["-o", out]);
    expect(get.code, get.log).to.equal("2.05");
    expect(statusesIn(readFileSync(out))).to.deep.equal([1]);

    const del = await coap(m.gateway.signalPort, "delete", "mitigate/cuid=r1/mid=1", "psk");
    expect(del.code).to.equal("2.02");
    await until(
      async () => (await m.victimMarket.getRequest(bought.service, bought.requestId)).status === "withdrawn",
      20_000,
      "the withdrawal on chain",
    );
    await until(
      async () => !(await m.backends.alpha.list()).some((r) => r.destination === "203.0.113.90/32"),
      20_000,
      "Alpha's rule removed",
    );
  });

  describe("the data channel (RFC 8783)", () => {
    const root = "/restconf/data/ietf-dots-data-channel:dots-data";
    function rest(method: string, url: string, body?: unknown, credentials: "certificate" | "rogue" = "certificate") {
      const key = credentials === "certificate" ? "client" : "rogue";
      return new Promise<{ status: number; json: unknown }>((resolve, reject) => {
        const req = https.request(
          {
            host: "127.0.0.1",
            port: market!.gateway.dataPort,
            method,
            path: url,
            ca: readFileSync(path.join(FIXTURES, "ca.crt")),
            cert: readFileSync(path.join(FIXTURES, `${key}.crt`)),
            key: readFileSync(path.join(FIXTURES, `${key}.key`)),
            headers: body === undefined ? {} : { "content-type": "application/yang-data+json" },
          },
          (res) => {
            let text = "";
            res.setEncoding("utf8");
            res.on("data", (chunk: string) => (text += chunk));
            res.on("end", () =>
              resolve({ status: res.statusCode ?? 0, json: text ? (JSON.parse(text) as unknown) : undefined }),
            );
          },
        );
        req.on("error", reject);
        req.end(body === undefined ? undefined : JSON.stringify(body));
      });
    }

    it("registers an alias that the signal channel then uses as alias-name", async () => {
      const m = market!;
      expect((await rest("POST", root, { "ietf-dots-data-channel:dots-client": [{ cuid: "dc1" }] })).status).to.equal(
        201,
      );
      const alias = {
        name: "www",
        "target-prefix": ["203.0.113.70/32"],
        "target-protocol": [6],
        "target-port-range": [{ "lower-port": 443 }],
      };
      expect(
        (await rest("POST", `${root}/dots-client=dc1`, { "ietf-dots-data-channel:aliases": { alias: [alias] } }))
          .status,
      ).to.equal(201);
      const listed = await rest("GET", `${root}/dots-client=dc1/aliases`);
      expect(listed.json).to.deep.equal({ "ietf-dots-data-channel:aliases": { alias: [alias] } });
      const request = fromJsonMapping({
        "ietf-dots-signal-channel:mitigation-scope": { scope: [{ "alias-name": ["www"], lifetime: 600 }] },
      }) as DotsObject;
      const created = await put("mitigate/cuid=dc1/mid=1", request, "certificate");
      expect(created.code, created.log).to.equal("2.01");
      const [mitigation] = m.gateway.mitigations.list("example-hosting", "dc1", 1);
      expect(mitigation.targets.map((t) => formatPrefix(t))).to.deep.equal(["203.0.113.70/32"]);
      expect((await coap(m.gateway.signalPort, "delete", "mitigate/cuid=dc1/mid=1", "certificate")).code).to.equal(
        "2.02",
      );
    });

    it("buys a drop-list ACL near its source from flow-filtering offerings only", async () => {
      const m = market!;
      // Beta sells rate limiting (8 MIT/h) cheaper than flow filtering (12 MIT/h): a drop rule must buy the latter.
      const acl = {
        name: "drop-beta",
        type: "ipv4-acl-type",
        "activation-type": "immediate",
        aces: {
          ace: [
            {
              name: "r1",
              matches: {
                ipv4: { "destination-ipv4-network": "203.0.113.80/32", "source-ipv4-network": "198.51.100.200/32" },
              },
              actions: { forwarding: "drop" },
            },
          ],
        },
      };
      const created = await rest("POST", `${root}/dots-client=dc1`, { "ietf-dots-data-channel:acls": { acl: [acl] } });
      expect(created.status, JSON.stringify(created.json)).to.equal(201);
      const beta = m.victimMarket.service(m.services.beta, m.anvil.provider);
      const [event] = await beta.queryFilter(beta.filters.MitigationRequested());
      expect(Number(event.args.offeringId)).to.equal(1);
      expect(event.args.requester).to.equal(m.victim);
      expect(
        formatPrefix({ network: event.args.target.network, length: Number(event.args.target.prefixLength) }),
      ).to.equal("203.0.113.80/32");
      expect((await rest("DELETE", `${root}/dots-client=dc1/acls/acl=drop-beta`)).status).to.equal(204);
      expect((await rest("GET", `${root}/dots-client=dc1/acls/acl=drop-beta`)).status).to.equal(404);
    });

    it("buys an activate-when-mitigating ACL only when a mitigation over its destination starts", async () => {
      const m = market!;
      const beta = m.victimMarket.service(m.services.beta, m.anvil.provider);
      const requested = async () => (await beta.queryFilter(beta.filters.MitigationRequested())).length;
      const before = await requested();
      const acl = {
        name: "when-mitigating",
        type: "ipv4-acl-type",
        aces: {
          ace: [
            {
              name: "r1",
              matches: {
                ipv4: { "destination-ipv4-network": "203.0.113.85/32", "source-ipv4-network": "198.51.100.201/32" },
              },
              actions: { forwarding: "drop" },
            },
          ],
        },
      };
      expect(
        (await rest("POST", `${root}/dots-client=dc1`, { "ietf-dots-data-channel:acls": { acl: [acl] } })).status,
      ).to.equal(201);
      expect(await requested()).to.equal(before);
      const created = await put(
        "mitigate/cuid=dc1/mid=2",
        request("203.0.113.85/32", ["192.0.2.10/32"]),
        "certificate",
      );
      expect(created.code, created.log).to.equal("2.01");
      await until(async () => (await requested()) === before + 1, 20_000, "the ACL bought from Beta");
    });

    it("refuses an alias the client does not hold (403) and an unknown certificate (401), buying nothing", async () => {
      const held = await nothingBought(() =>
        rest("POST", `${root}/dots-client=dc1`, {
          "ietf-dots-data-channel:aliases": { alias: [{ name: "x", "target-prefix": ["198.51.100.0/25"] }] },
        }),
      );
      expect(held.status).to.equal(403);
      const rogue = await nothingBought(() =>
        rest("POST", root, { "ietf-dots-data-channel:dots-client": [{ cuid: "r" }] }, "rogue"),
      );
      expect(rogue.status).to.equal(401);
    });
  });

  describe("bad messages get the RFC's codes and buy nothing", () => {
    before(async () => {
      // An active request for the mid rules to conflict with, bought from the configured neighbours.
      const neighbours = fromJsonMapping({
        "ietf-dots-signal-channel:mitigation-scope": {
          scope: [{ "target-prefix": ["203.0.113.20/32"], lifetime: 600 }],
        },
      }) as DotsObject;
      const created = await put("mitigate/cuid=c2/mid=50", neighbours);
      expect(created.code, created.log).to.equal("2.01");
    });

    it("answers 4.15 to a body that is not application/dots+cbor", async () => {
      const body = file("json.cbor", encodeDots(request(TARGET)));
      const result = await nothingBought(() =>
        coap(market!.gateway.signalPort, "put", "mitigate/cuid=c2/mid=60", "psk", ["-t", "50", "-f", body]),
      );
      expect(result.code).to.equal("4.15");
    });

    it("answers 4.00 to an unknown comprehension-required key", async () => {
      // {1: {2: [{6: ["203.0.113.30/32"], 0x1234: 1}]}}
      const body = Buffer.concat([
        Buffer.from("a101a10281a20681", "hex"),
        Buffer.from([0x70]),
        Buffer.from("203.0.113.30/32"),
        Buffer.from("191234" + "01", "hex"),
      ]);
      const result = await nothingBought(() =>
        coap(market!.gateway.signalPort, "put", "mitigate/cuid=c2/mid=61", "psk", [
          "-t",
          "271",
          "-f",
          file("unknown.cbor", body),
        ]),
      );
      expect(result.code, result.log).to.equal("4.00");
    });

    it("answers 4.09 to a mid that does not increase over the same targets", async () => {
      const result = await nothingBought(() => put("mitigate/cuid=c2/mid=49", request("203.0.113.20/32")));
      expect(result.code).to.equal("4.09");
    });

    it("answers 4.03 to a target the client does not hold", async () => {
      const result = await nothingBought(() => put("mitigate/cuid=c2/mid=70", request("198.51.100.0/25")));
      expect(result.code).to.equal("4.03");
    });

    it("answers 4.01 to a certificate the CA did not sign, and refuses a wrong PSK at the handshake", async () => {
      const body = request("203.0.113.40/32");
      const rogue = await nothingBought(() => put("mitigate/cuid=c3/mid=1", body, "rogue", ["-n"]));
      expect(rogue.code).to.equal("4.01");
      const wrong = await nothingBought(() => put("mitigate/cuid=c3/mid=1", body, "wrong-psk"));
      expect(wrong.code).to.equal(undefined);
      expect(wrong.log).to.match(/alert|handshake|closed/i);
    });
  });
});
