/**
 * The DOTS codecs against the RFCs' own example messages: RFC 9132's mitigation request (JSON and
 * its CBOR encoding), status response, session configuration and heartbeat; RFC 9244's top
 * talkers; RFC 8323 framing; and the mid rules against a market that records what it is asked.
 */
import { expect } from "chai";

import {
  decodeDots,
  DotsCodecError,
  encodeDots,
  fromJsonMapping,
  parseMitigationRequest,
  telemetryTargetsAndSources,
  toJsonMapping,
  type DotsObject,
} from "../../src/dots/codec";
import { encodeTcpMessage, OPTION, RESPONSE, SIGNAL, TcpMessageReader, uintOption, uriPath } from "../../src/dots/coap";
import {
  DotsError,
  Mitigations,
  type MarketOrder,
  type MarketPort,
  type MarketPurchase,
  type PurchaseView,
} from "../../src/dots/mitigations";
import { formatPrefix, parsePrefix, type Prefix } from "../../src/prefix";

/** RFC 9132 §4.4.1's example mitigation request, in the JSON mapping. */
const RFC9132_REQUEST_JSON = {
  "ietf-dots-signal-channel:mitigation-scope": {
    scope: [
      {
        "target-prefix": ["2001:db8:6401::1/128", "2001:db8:6401::2/128"],
        "target-port-range": [{ "lower-port": 80 }, { "lower-port": 443 }, { "lower-port": 8080 }],
        "target-protocol": [6],
        lifetime: 3600,
      },
    ],
  },
};

/** The same request in CBOR, as RFC 9132 §4.4.1 gives it in diagnostic hex (one item a line there). */
const RFC9132_REQUEST_CBOR =
  "a1" + // map(1)
  "01" + // ietf-dots-signal-channel:mitigation-scope
  "a1" + // map(1)
  "02" + // scope
  "81" + // array(1)
  "a4" + // map(4)
  "06" + // target-prefix
  "82" +
  "74" +
  Buffer.from("2001:db8:6401::1/128").toString("hex") +
  "74" +
  Buffer.from("2001:db8:6401::2/128").toString("hex") +
  "07" + // target-port-range
  "83" +
  "a1081850" + // {lower-port: 80}
  "a1081901bb" + // {lower-port: 443}
  "a108191f90" + // {lower-port: 8080}
  "0a" + // target-protocol
  "8106" +
  "0e" + // lifetime
  "190e10"; // 3600

/** RFC 9132 §4.4.2's example GET response. */
const RFC9132_STATUS_JSON = {
  "ietf-dots-signal-channel:mitigation-scope": {
    scope: [
      {
        mid: 12332,
        "mitigation-start": "1507818434",
        "target-prefix": ["2001:db8:6401::1/128", "2001:db8:6401::2/128"],
        "target-protocol": [17],
        lifetime: 1756,
        status: "attack-successfully-mitigated",
        "bytes-dropped": "134334555",
        "bps-dropped": "43344",
        "pkts-dropped": "333334444",
        "pps-dropped": "432432",
      },
    ],
  },
};

/** A mitigation request augmented with RFC 9244 attack details and top talkers (one spoofed). */
const RFC9244_TOP_TALKERS = {
  "ietf-dots-signal-channel:mitigation-scope": {
    scope: [
      {
        "target-prefix": ["2001:db8::1/128"],
        lifetime: 3600,
        "ietf-dots-telemetry:attack-detail": [
          {
            "vendor-id": 32473,
            "attack-id": 77,
            "start-time": "1645057211",
            "attack-severity": 2,
            "top-talker": {
              talker: [
                { "source-prefix": "2001:db8:1::/48", "total-attack-traffic": [{ unit: 4, "peak-g": "55000" }] },
                { "spoofed-status": true, "source-prefix": "2001:db8:2::/48" },
                { "source-prefix": "198.51.100.0/25" },
              ],
            },
          },
        ],
      },
    ],
  },
};

describe("DOTS codec (RFC 9132, RFC 9244 examples)", () => {
  describe("the mitigation request of RFC 9132 §4.4.1", () => {
    it("encodes the JSON mapping to the RFC's CBOR bytes", () => {
      expect(encodeDots(fromJsonMapping(RFC9132_REQUEST_JSON) as DotsObject).toString("hex")).to.equal(
        RFC9132_REQUEST_CBOR,
      );
    });

    it("decodes the RFC's CBOR bytes to the JSON mapping", () => {
      expect(toJsonMapping(decodeDots(Buffer.from(RFC9132_REQUEST_CBOR, "hex")))).to.deep.equal(RFC9132_REQUEST_JSON);
    });

    it("reads the scope", () => {
      const scope = parseMitigationRequest(decodeDots(Buffer.from(RFC9132_REQUEST_CBOR, "hex")), 1800);
      expect(scope.targets.map((t) => formatPrefix(t))).to.deep.equal(["2001:db8:6401::1/128", "2001:db8:6401::2/128"]);
      expect(scope.portRanges).to.deep.equal([
        { lower: 80, upper: 80 },
        { lower: 443, upper: 443 },
        { lower: 8080, upper: 8080 },
      ]);
      expect(scope.protocols).to.deep.equal([6]);
      expect(scope.lifetime).to.equal(3600);
      expect(scope.sources).to.deep.equal([]);
    });
  });

  it("round-trips RFC 9132's status response (uint64 and enumerations as the JSON mapping writes them)", () => {
    const cbor = encodeDots(fromJsonMapping(RFC9132_STATUS_JSON) as DotsObject);
    // status is key 16 with the value 2 (attack-successfully-mitigated).
    expect(cbor.includes(Buffer.from("1002", "hex"))).to.equal(true);
    expect(toJsonMapping(decodeDots(cbor))).to.deep.equal(RFC9132_STATUS_JSON);
  });

  it("encodes RFC 9132's heartbeat as {49: {51: true}}", () => {
    const hb = { "ietf-dots-signal-channel:heartbeat": { "peer-hb-status": true } };
    expect(encodeDots(hb).toString("hex")).to.equal("a11831a11833f5");
  });

  it("encodes the session configuration's decimals as CBOR decimal fractions (tag 4)", () => {
    const config = {
      "ietf-dots-signal-channel:signal-config": {
        "mitigating-config": { "ack-timeout": { "current-value-decimal": 2 } },
      },
    };
    const cbor = encodeDots(fromJsonMapping(config) as DotsObject);
    expect(cbor.toString("hex")).to.equal("a1181ea11820a11827a1182bc4822118c8");
    expect(decodeDots(cbor)).to.deep.equal(config);
  });

  it("takes RFC 9244's non-spoofed top talkers as the attack sources", () => {
    const scope = parseMitigationRequest(fromJsonMapping(RFC9244_TOP_TALKERS) as DotsObject, 3600);
    expect(scope.sources.map((s) => s.text)).to.deep.equal(["2001:db8:1::/48", "198.51.100.0/25"]);
    const cbor = encodeDots(fromJsonMapping(RFC9244_TOP_TALKERS) as DotsObject);
    expect(parseMitigationRequest(decodeDots(cbor), 3600).sources.map((s) => s.text)).to.deep.equal([
      "2001:db8:1::/48",
      "198.51.100.0/25",
    ]);
  });

  it("reads RFC 9244 pre-or-ongoing-mitigation telemetry", () => {
    const body = fromJsonMapping({
      "ietf-dots-telemetry:telemetry": {
        "pre-or-ongoing-mitigation": [
          {
            target: { "target-prefix": ["203.0.113.0/24"] },
            "attack-detail": [
              { "vendor-id": 1, "attack-id": 2, "top-talker": { talker: [{ "source-prefix": "192.0.2.7/32" }] } },
            ],
          },
        ],
      },
    }) as DotsObject;
    const [entry] = telemetryTargetsAndSources(decodeDots(encodeDots(body)));
    expect(entry.targets.map((t) => formatPrefix(t))).to.deep.equal(["203.0.113.0/24"]);
    expect(entry.sources.map((s) => s.text)).to.deep.equal(["192.0.2.7/32"]);
  });

  describe("refusals (4.00 Bad Request)", () => {
    const refuse = (hex: string, message: RegExp) =>
      expect(() => decodeDots(Buffer.from(hex, "hex"))).to.throw(DotsCodecError, message);

    it("refuses an unknown comprehension-required key", () =>
      refuse("a1191234 01".replace(" ", ""), /unknown comprehension-required key 4660/));
    it("ignores an unknown comprehension-optional key", () => {
      expect(decodeDots(Buffer.from("a2194001010e190e10", "hex"))).to.deep.equal({ lifetime: 3600 });
    });
    it("refuses text keys", () => refuse("a1636d696401", /unsigned integers/));
    it("refuses bytes that are not CBOR", () => refuse("ff", /not valid CBOR/));
    it("refuses two scopes, a mid in the body, and no target", () => {
      const body = (scope: unknown[]) =>
        fromJsonMapping({ "ietf-dots-signal-channel:mitigation-scope": { scope } }) as DotsObject;
      expect(() =>
        parseMitigationRequest(
          body([{ "target-prefix": ["192.0.2.0/24"] }, { "target-prefix": ["192.0.2.0/24"] }]),
          60,
        ),
      ).to.throw(/exactly one scope/);
      expect(() => parseMitigationRequest(body([{ mid: 1, "target-prefix": ["192.0.2.0/24"] }]), 60)).to.throw(
        /Uri-Path/,
      );
      expect(() => parseMitigationRequest(body([{ lifetime: 60 }]), 60)).to.throw(/at least one target-prefix/);
      expect(() => parseMitigationRequest(body([{ "target-prefix": ["192.0.2.1/24"] }]), 60)).to.throw(/not a prefix/);
    });
  });
});

describe("CoAP over TCP framing (RFC 8323)", () => {
  it("frames a request and reads it back across arbitrary chunk boundaries", () => {
    const message = {
      code: 3,
      token: Buffer.from([1, 2]),
      options: [
        { number: OPTION.uriPath, value: Buffer.from(".well-known") },
        { number: OPTION.uriPath, value: Buffer.from("dots") },
        { number: OPTION.contentFormat, value: uintOption(271) },
      ],
      payload: Buffer.from(RFC9132_REQUEST_CBOR, "hex"),
    };
    const bytes = encodeTcpMessage(message);
    // Len 13: one extended-length byte (RFC 8323 §3.2).
    expect(bytes[0] >> 4).to.equal(13);
    const reader = new TcpMessageReader();
    const got = [...bytes].flatMap((byte) => reader.push(Buffer.from([byte])));
    expect(got).to.have.length(1);
    expect(uriPath(got[0])).to.deep.equal([".well-known", "dots"]);
    expect(got[0].payload.equals(message.payload)).to.equal(true);
  });

  it("frames an empty Ping as two bytes plus its token", () => {
    expect(
      encodeTcpMessage({ code: SIGNAL.ping, token: Buffer.from([7]), options: [], payload: Buffer.alloc(0) }).toString(
        "hex",
      ),
    ).to.equal("01e207");
    expect(RESPONSE.created).to.equal(0x41);
  });
});

/** A market that records what it is asked and buys instantly. */
class RecordingMarket implements MarketPort {
  orders: MarketOrder[] = [];
  holders = new Map<string, string[]>();
  holderOf(accounts: readonly string[], targets: readonly Prefix[]): Promise<string | null> {
    return Promise.resolve(
      accounts.find((a) => targets.every((t) => (this.holders.get(a) ?? []).includes(formatPrefix(t)))) ?? null,
    );
  }
  sourcesFor(_targets: unknown, reported: readonly string[]): string[] {
    return reported.length > 0 ? [...reported] : ["192.0.2.7"];
  }
  buy(order: MarketOrder): Promise<MarketPurchase> {
    this.orders.push(order);
    const purchases: PurchaseView[] = [
      { service: "0xs", requestId: BigInt(this.orders.length), state: "pending", bytesDropped: 0n, packetsDropped: 0n },
    ];
    return Promise.resolve({ purchases, unserved: [], onChange: () => undefined, withdraw: () => Promise.resolve() });
  }
  resume(): MarketPurchase {
    throw new Error("nothing to resume");
  }
}

describe("DOTS mid rules (RFC 9132 §4.4.1)", () => {
  const client = { name: "c", accounts: ["0xA"] };
  const scope = (target: string) =>
    parseMitigationRequest(
      fromJsonMapping({
        "ietf-dots-signal-channel:mitigation-scope": { scope: [{ "target-prefix": [target] }] },
      }) as DotsObject,
      600,
    );
  let market: RecordingMarket;
  let mitigations: Mitigations;
  beforeEach(() => {
    market = new RecordingMarket();
    market.holders.set("0xA", ["203.0.113.10/32", "203.0.113.0/24", "203.0.113.99/32"]);
    mitigations = new Mitigations(market, {
      defaultLifetime: 600,
      maxLifetime: 3600,
      retention: 60,
      resolveAliases: () => [],
    });
  });

  it("creates, then refreshes the same mid without buying again", async () => {
    expect((await mitigations.put(client, "u", 5, scope("203.0.113.10/32"))).code).to.equal(RESPONSE.created);
    expect((await mitigations.put(client, "u", 5, scope("203.0.113.10/32"))).code).to.equal(RESPONSE.changed);
    expect(market.orders).to.have.length(1);
  });

  it("refuses a lower mid over overlapping targets with 4.09 and conflict information", async () => {
    await mitigations.put(client, "u", 5, scope("203.0.113.0/24"));
    const refused = await mitigations.put(client, "u", 4, scope("203.0.113.10/32")).catch((e: unknown) => e);
    expect(refused).to.be.instanceOf(DotsError);
    expect((refused as DotsError).code).to.equal(RESPONSE.conflict);
    expect(JSON.stringify((refused as DotsError).body)).to.contain("conflict-information");
    expect(market.orders).to.have.length(1);
  });

  it("lets a higher mid over the same targets replace the older request", async () => {
    await mitigations.put(client, "u", 5, scope("203.0.113.10/32"));
    await mitigations.put(client, "u", 6, scope("203.0.113.10/32"));
    const [older] = mitigations.list("c", "u", 5);
    expect(older.replacedBy).to.equal(6);
    expect(market.orders).to.have.length(2);
  });

  it("refuses a lower mid over the targets of a withdrawn request", async () => {
    await mitigations.put(client, "u", 5, scope("203.0.113.10/32"));
    await mitigations.delete("c", "u", 5);
    const refused = await mitigations.put(client, "u", 4, scope("203.0.113.10/32")).catch((e: unknown) => e);
    expect((refused as DotsError).code).to.equal(RESPONSE.conflict);
    expect((await mitigations.put(client, "u", 6, scope("203.0.113.10/32"))).code).to.equal(RESPONSE.created);
  });

  it("accepts a lower mid over other targets", async () => {
    await mitigations.put(client, "u", 5, scope("203.0.113.10/32"));
    expect((await mitigations.put(client, "u", 3, scope("203.0.113.99/32"))).code).to.equal(RESPONSE.created);
  });

  it("refuses a target the client does not hold with 4.03 and buys nothing", async () => {
    const refused = await mitigations.put(client, "u", 5, scope("198.51.100.0/25")).catch((e: unknown) => e);
    expect((refused as DotsError).code).to.equal(RESPONSE.forbidden);
    expect(market.orders).to.deep.equal([]);
  });

  it("grants at most the maximum lifetime (an indefinite request included)", async () => {
    const body = fromJsonMapping({
      "ietf-dots-signal-channel:mitigation-scope": { scope: [{ "target-prefix": ["203.0.113.10/32"], lifetime: -1 }] },
    });
    const m = await mitigations.put(client, "u", 9, parseMitigationRequest(body as DotsObject, 600));
    expect(m.lifetime).to.equal(3600);
    expect(market.orders[0].lifetime).to.equal(3600);
    expect(parsePrefix("203.0.113.10/32")).to.deep.equal(market.orders[0].targets[0]);
  });
});
