/**
 * The direct decoder of static events (src/clients/eventDecoder.ts) gives what ethers'
 * Interface.decodeEventLog gives, for every event of every contract whose fields are all static,
 * with random values at the edges of each type.
 */
import { expect } from "chai";
import { EventFragment, getAddress, hexlify, randomBytes, type Interface, type ParamType } from "ethers";

import {
  MitigationToken__factory,
  PrefixRegistry__factory,
  ProviderServiceContract__factory,
  ServiceDirectory__factory,
} from "../typechain-types";
import { staticEventDecoder } from "../src/clients/eventDecoder";
import { parseServiceLog } from "../src/clients/market";

function randomValue(param: ParamType, round: number): unknown {
  const type = param.type;
  if (type === "address") return getAddress(hexlify(randomBytes(20)));
  if (type === "bool") return round % 2 === 0;
  if (type === "bytes32") return hexlify(randomBytes(32));
  const int = /^(u?)int(\d*)$/.exec(type)!;
  const bits = BigInt(int[2] === "" ? 256 : Number(int[2]));
  const max = (1n << (int[1] === "u" ? bits : bits - 1n)) - 1n;
  const min = int[1] === "u" ? 0n : -(max + 1n);
  // The edges first, then random values in range.
  if (round === 0) return max;
  if (round === 1) return min;
  return min + (BigInt(hexlify(randomBytes(32))) % (max - min + 1n));
}

const INTERFACES: [string, Interface][] = [
  ["ProviderServiceContract", ProviderServiceContract__factory.createInterface()],
  ["ServiceDirectory", ServiceDirectory__factory.createInterface()],
  ["PrefixRegistry", PrefixRegistry__factory.createInterface()],
  ["MitigationToken", MitigationToken__factory.createInterface()],
];

describe("decoding static events directly", function () {
  for (const [contract, iface] of INTERFACES) {
    const events = iface.fragments.filter((f): f is EventFragment => EventFragment.isFragment(f));
    it(`decodes ${contract}'s static events as ethers does, and leaves the others to it`, function () {
      let decoded = 0;
      for (const fragment of events) {
        const decode = staticEventDecoder(fragment);
        const dynamic = fragment.inputs.some((p) => !/^(u?int\d*|address|bool|bytes32)$/.test(p.type));
        expect(decode === undefined, `${fragment.name}: decoded directly iff all fields are static`).to.equal(dynamic);
        if (decode === undefined) continue;
        for (let round = 0; round < 6; round++) {
          const values = fragment.inputs.map((p) => randomValue(p, round));
          const log = iface.encodeEventLog(fragment, values);
          const expected = iface.decodeEventLog(fragment, log.data, log.topics);
          const actual = decode(log);
          expect(actual.toArray(), fragment.name).to.deep.equal(expected.toArray());
          for (const p of fragment.inputs) expect(actual.getValue(p.name)).to.deep.equal(expected.getValue(p.name));
        }
        decoded++;
      }
      expect(decoded).to.be.greaterThan(0);
    });
  }

  it("refuses a log with too few topics or words rather than reading past them", function () {
    const iface = ProviderServiceContract__factory.createInterface();
    const fragment = iface.getEvent("OrderSettled");
    const log = iface.encodeEventLog(fragment, [1n, hexlify(randomBytes(32)), 2n, 3n, 4n, 5n]);
    expect(parseServiceLog(log)?.name).to.equal("OrderSettled");
    expect(() => parseServiceLog({ topics: log.topics, data: log.data.slice(0, 66) })).to.throw(/OrderSettled log/);
    expect(() => parseServiceLog({ topics: log.topics.slice(0, 1), data: log.data })).to.throw(/OrderSettled log/);
  });
});
