/** Request ids as operators see them: "#n" in logs and reports, the full id on chain. */
import { expect } from "chai";

import {
  describeRequestId,
  formatRequestId,
  parseRequestRef,
  requestIdOf,
  requestSequence,
  requesterOf,
  resolveRequestId,
} from "../src/format";

const REQUESTER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const ID_1 = (BigInt(REQUESTER) << 64n) | 1n;

describe("request ids", function () {
  describe("#requestIdOf", function () {
    it("puts the requester above the 64-bit sequence, as the contract does", function () {
      expect(requestIdOf(REQUESTER, 1n)).to.equal(ID_1);
      expect(requesterOf(ID_1)).to.equal(REQUESTER);
      expect(requestSequence(ID_1)).to.equal(1n);
    });
  });

  describe("#formatRequestId and #describeRequestId", function () {
    it("print the number the logs print, and both forms", function () {
      expect(formatRequestId(ID_1)).to.equal("#1");
      expect(describeRequestId(ID_1)).to.equal(`#1 (id ${ID_1})`);
    });
  });

  describe("#parseRequestRef", function () {
    it("reads #n and n as the short form", function () {
      expect(parseRequestRef("#1")).to.deep.equal({ sequence: 1n });
      expect(parseRequestRef(" 42 ")).to.deep.equal({ sequence: 42n });
      expect(parseRequestRef("18446744073709551615")).to.deep.equal({ sequence: 2n ** 64n - 1n });
    });

    it("reads a number of 2^64 or more as the full id", function () {
      expect(parseRequestRef(ID_1.toString())).to.deep.equal({ id: ID_1 });
    });

    for (const text of ["", "#", "one", "#-1", "1.5", "##1", "#18446744073709551616", (2n ** 224n).toString()]) {
      it(`refuses ${JSON.stringify(text)} with one sentence`, function () {
        expect(() => parseRequestRef(text)).to.throw(
          `${JSON.stringify(text)} is not a request id: expected the number the logs print, such as #1 or 1, or the full id.`,
        );
      });
    }
  });

  describe("#resolveRequestId", function () {
    it("completes the short form with the requester and keeps a full id as it is", function () {
      expect(resolveRequestId({ sequence: 1n }, REQUESTER)).to.equal(ID_1);
      const other = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";
      expect(resolveRequestId({ id: ID_1 }, other)).to.equal(ID_1);
    });
  });
});
