import { expect } from "chai";

import {
  IPV4_MAPPED,
  MAX_LENGTH,
  PrefixError,
  canonicalPrefix,
  contains,
  formatAddress,
  formatPrefix,
  isIPv4,
  mask,
  parseAddress,
  parsePrefix,
  prefixKey,
  truncate,
} from "../src/prefix";

const ALL_ONES = (1n << 128n) - 1n;

/** Runs `fn`, expecting a PrefixError, and returns its message. */
function prefixErrorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (!(error instanceof PrefixError)) expect.fail(`expected a PrefixError, but got ${String(error)}`);
    expect(error.name).to.equal("PrefixError");
    return error.message;
  }
  expect.fail("expected a PrefixError, but nothing was thrown");
}

describe("src/prefix", function () {
  describe("#mask", function () {
    it("is zero for /0 and all ones for /128", function () {
      expect(mask(0)).to.equal(0n);
      expect(mask(MAX_LENGTH)).to.equal(ALL_ONES);
    });

    it("sets the leading `length` bits of the 128-bit space", function () {
      expect(mask(1)).to.equal(1n << 127n);
      expect(mask(96)).to.equal(ALL_ONES ^ 0xffffffffn);
      expect(mask(120)).to.equal(ALL_ONES ^ 0xffn);
    });
  });

  describe("#parseAddress", function () {
    it("maps IPv4 into ::ffff:0:0/96", function () {
      expect(parseAddress("192.0.2.1")).to.equal(0xffff_c000_0201n);
      expect(parseAddress("0.0.0.0")).to.equal(IPV4_MAPPED.network);
      expect(parseAddress("255.255.255.255")).to.equal(0xffff_ffff_ffffn);
    });

    it("reads IPv6 as it is", function () {
      expect(parseAddress("::")).to.equal(0n);
      expect(parseAddress("::1")).to.equal(1n);
      expect(parseAddress("2001:db8::1")).to.equal(0x2001_0db8_0000_0000_0000_0000_0000_0001n);
      expect(parseAddress("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")).to.equal(ALL_ONES);
    });

    it("reads the IPv4-mapped IPv6 spelling as the IPv4 address", function () {
      expect(parseAddress("::ffff:192.0.2.1")).to.equal(parseAddress("192.0.2.1"));
      expect(parseAddress("::ffff:c000:201")).to.equal(parseAddress("192.0.2.1"));
    });

    it("reads the deprecated IPv4-compatible spelling ::a.b.c.d as ::a.b.c.d, not as IPv4", function () {
      expect(parseAddress("::1.2.3.4")).to.equal(0x0102_0304n);
      expect(parseAddress("::1.2.3.4")).to.equal(parseAddress("::102:304"));
    });

    it("ignores surrounding whitespace", function () {
      expect(parseAddress("  10.0.0.1\n")).to.equal(parseAddress("10.0.0.1"));
    });

    for (const text of ["1.2.3", "10.0.0.256", "010.0.0.1", "2001:db8::g", "1:2:3:4:5:6:7:8:9", "fe80::1%eth0", "x"]) {
      it(`rejects ${JSON.stringify(text)} as not an IP address`, function () {
        expect(prefixErrorOf(() => parseAddress(text))).to.equal(
          `${JSON.stringify(text)} is not an IP address: expected IPv4 like 192.0.2.1 or IPv6 like 2001:db8::1.`,
        );
      });
    }

    it("rejects empty text", function () {
      expect(prefixErrorOf(() => parseAddress("  "))).to.equal("An IP address is required, but the text is empty.");
    });
  });

  describe("#parsePrefix", function () {
    it("puts an IPv4 /n at length 96 + n", function () {
      expect(parsePrefix("192.0.2.0/24")).to.deep.equal({ network: 0xffff_c000_0200n, length: 120 });
      expect(parsePrefix("10.0.0.0/8")).to.deep.equal({ network: 0xffff_0a00_0000n, length: 104 });
      expect(parsePrefix("0.0.0.0/0")).to.deep.equal(IPV4_MAPPED);
      expect(parsePrefix("192.0.2.1/32")).to.deep.equal({ network: 0xffff_c000_0201n, length: 128 });
    });

    it("keeps an IPv6 length as it is", function () {
      expect(parsePrefix("2001:db8::/32")).to.deep.equal({ network: 0x2001_0db8n << 96n, length: 32 });
      expect(parsePrefix("::/0")).to.deep.equal({ network: 0n, length: 0 });
      expect(parsePrefix("::1/128")).to.deep.equal({ network: 1n, length: 128 });
    });

    it('reads "::ffff:10.0.0.0/104" as the same prefix as "10.0.0.0/8"', function () {
      expect(parsePrefix("::ffff:10.0.0.0/104")).to.deep.equal(parsePrefix("10.0.0.0/8"));
      expect(parsePrefix("::ffff:a00:0/104")).to.deep.equal(parsePrefix("10.0.0.0/8"));
    });

    it("accepts a bare address as a host prefix only with allowAddress", function () {
      expect(parsePrefix("192.0.2.1", { allowAddress: true })).to.deep.equal(parsePrefix("192.0.2.1/32"));
      expect(parsePrefix("2001:db8::1", { allowAddress: true })).to.deep.equal(parsePrefix("2001:db8::1/128"));
      expect(prefixErrorOf(() => parsePrefix("192.0.2.1"))).to.equal(
        '"192.0.2.1" has no prefix length: write it as 192.0.2.1/32.',
      );
      expect(prefixErrorOf(() => parsePrefix("2001:db8::1"))).to.equal(
        '"2001:db8::1" has no prefix length: write it as 2001:db8::1/128.',
      );
    });

    it("clears host bits only with allowHostBits", function () {
      expect(parsePrefix("10.0.0.1/24", { allowHostBits: true })).to.deep.equal(parsePrefix("10.0.0.0/24"));
      expect(parsePrefix("2001:db8::1/32", { allowHostBits: true })).to.deep.equal(parsePrefix("2001:db8::/32"));
    });

    describe("when the text is malformed", function () {
      it('rejects "10.0.0.1/24" for its host bits, suggesting the network', function () {
        const message = prefixErrorOf(() => parsePrefix("10.0.0.1/24"));
        expect(message).to.equal('"10.0.0.1/24" has host bits set beyond /24: did you mean 10.0.0.0/24?');
      });

      it('rejects "2001:db8::1/64" for its host bits, suggesting the network', function () {
        const message = prefixErrorOf(() => parsePrefix("2001:db8::1/64"));
        expect(message).to.equal('"2001:db8::1/64" has host bits set beyond /64: did you mean 2001:db8::/64?');
      });

      it('rejects "/33" for its missing address', function () {
        expect(prefixErrorOf(() => parsePrefix("/33"))).to.equal(
          '"/33" is not a prefix: the address before "/" is missing.',
        );
      });

      it('rejects "1.2.3" as not an IP address', function () {
        const message = prefixErrorOf(() => parsePrefix("1.2.3"));
        expect(message).to.contain('"1.2.3" is not an IP address');
        expect(message).to.contain("192.0.2.1");
      });

      it('rejects "2001:db8::/129" as longer than /128', function () {
        expect(prefixErrorOf(() => parsePrefix("2001:db8::/129"))).to.equal(
          '"2001:db8::/129" has prefix length /129, longer than the IPv6 maximum of /128.',
        );
      });

      it('rejects "10.0.0.0/33" as longer than the IPv4 /32', function () {
        expect(prefixErrorOf(() => parsePrefix("10.0.0.0/33"))).to.equal(
          '"10.0.0.0/33" has prefix length /33, longer than the IPv4 maximum of /32.',
        );
      });

      it('rejects "" as empty', function () {
        expect(prefixErrorOf(() => parsePrefix(""))).to.equal("An IP prefix is required, but the text is empty.");
      });

      it("rejects a length that is not a number", function () {
        expect(prefixErrorOf(() => parsePrefix("10.0.0.0/x"))).to.equal(
          '"10.0.0.0/x" has an invalid prefix length "x": expected 0 to 32.',
        );
        expect(prefixErrorOf(() => parsePrefix("2001:db8::/-1"))).to.equal(
          '"2001:db8::/-1" has an invalid prefix length "-1": expected 0 to 128.',
        );
        expect(prefixErrorOf(() => parsePrefix("10.0.0.0/"))).to.contain('invalid prefix length ""');
      });

      it('rejects more than one "/"', function () {
        expect(prefixErrorOf(() => parsePrefix("10.0.0.0/8/8"))).to.equal(
          '"10.0.0.0/8/8" is not a prefix: it has more than one "/".',
        );
      });
    });
  });

  describe("#formatAddress", function () {
    it("writes IPv4-mapped addresses as a dotted quad", function () {
      expect(formatAddress(0xffff_c000_0201n)).to.equal("192.0.2.1");
      expect(formatAddress(IPV4_MAPPED.network)).to.equal("0.0.0.0");
    });

    it("writes other addresses in RFC 5952 form", function () {
      expect(formatAddress(0n)).to.equal("::");
      expect(formatAddress(0x2001_0db8_0000_0000_0000_0000_0000_0001n)).to.equal("2001:db8::1");
      expect(formatAddress(ALL_ONES)).to.equal("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
      expect(formatAddress(0x0102_0304n)).to.equal("::102:304");
    });

    it("rejects values outside the 128-bit space", function () {
      expect(prefixErrorOf(() => formatAddress(-1n))).to.equal("-1 is outside the 128-bit address space.");
      expect(prefixErrorOf(() => formatAddress(1n << 128n))).to.equal(
        `${1n << 128n} is outside the 128-bit address space.`,
      );
    });
  });

  describe("#formatPrefix", function () {
    it("writes IPv4 prefixes in IPv4 lengths", function () {
      expect(formatPrefix({ network: 0xffff_c000_0200n, length: 120 })).to.equal("192.0.2.0/24");
      expect(formatPrefix(IPV4_MAPPED)).to.equal("0.0.0.0/0");
    });

    it("writes IPv6 prefixes in IPv6 lengths", function () {
      expect(formatPrefix({ network: 0x2001_0db8n << 96n, length: 32 })).to.equal("2001:db8::/32");
      expect(formatPrefix({ network: 0n, length: 0 })).to.equal("::/0");
      expect(formatPrefix({ network: 0n, length: 96 })).to.equal("::/96");
    });
  });

  describe("round trips", function () {
    const canonical = [
      "0.0.0.0/0",
      "10.0.0.0/8",
      "192.0.2.0/24",
      "198.51.100.128/25",
      "203.0.113.7/32",
      "255.255.255.255/32",
      "::/0",
      "::/96",
      "::1/128",
      "2001:db8::/32",
      "2001:db8:1:2::/64",
      "2001:db8::1/128",
      "fe80::/10",
      "ff00::/8",
      "::102:300/120",
    ];
    for (const text of canonical) {
      it(`formats parsePrefix(${JSON.stringify(text)}) back to the same text`, function () {
        expect(formatPrefix(parsePrefix(text))).to.equal(text);
        expect(canonicalPrefix(text)).to.equal(text);
      });
    }

    const addresses = ["0.0.0.0", "192.0.2.1", "255.255.255.255", "::", "::1", "2001:db8::1", "2001:db8:0:1:2:3:4:5"];
    for (const text of addresses) {
      it(`formats parseAddress(${JSON.stringify(text)}) back to the same text`, function () {
        expect(formatAddress(parseAddress(text))).to.equal(text);
      });
    }

    it("parses formatted prefixes back to the same values across the space", function () {
      for (let length = 0; length <= MAX_LENGTH; length++) {
        for (const address of [ALL_ONES, 0x2001_0db8_85a3_0000_0000_8a2e_0370_7334n, 0xffff_c633_6401n]) {
          const prefix = truncate(address, length);
          expect(parsePrefix(formatPrefix(prefix))).to.deep.equal(prefix, formatPrefix(prefix));
        }
      }
    });
  });

  describe("#canonicalPrefix", function () {
    it("canonicalises spelling", function () {
      expect(canonicalPrefix("2001:DB8:0::/32")).to.equal("2001:db8::/32");
      expect(canonicalPrefix("2001:0db8:0000:0000:0000:0000:0000:0000/32")).to.equal("2001:db8::/32");
      expect(canonicalPrefix(" 192.0.2.0/24 ")).to.equal("192.0.2.0/24");
      expect(canonicalPrefix("::ffff:192.0.2.0/120")).to.equal("192.0.2.0/24");
      expect(canonicalPrefix("::FFFF:C000:200/120")).to.equal("192.0.2.0/24");
      expect(canonicalPrefix("::ffff:0:0/96")).to.equal("0.0.0.0/0");
    });

    it("rejects host bits rather than clearing them", function () {
      expect(prefixErrorOf(() => canonicalPrefix("192.0.2.1/24"))).to.contain("did you mean 192.0.2.0/24?");
    });
  });

  describe("#contains", function () {
    const slash8 = parsePrefix("10.0.0.0/8");

    it("holds for a prefix and itself", function () {
      expect(contains(slash8, slash8)).to.be.true;
    });

    it("holds for a more specific prefix inside", function () {
      expect(contains(slash8, parsePrefix("10.1.2.0/24"))).to.be.true;
      expect(contains(parsePrefix("::/0"), parsePrefix("2001:db8::/32"))).to.be.true;
    });

    it("fails for a prefix outside or less specific", function () {
      expect(contains(slash8, parsePrefix("11.0.0.0/24"))).to.be.false;
      expect(contains(parsePrefix("10.1.2.0/24"), slash8)).to.be.false;
      expect(contains(slash8, parsePrefix("::a00:0/104"))).to.be.false;
    });
  });

  describe("#isIPv4", function () {
    it("holds inside ::ffff:0:0/96 only", function () {
      expect(isIPv4(parsePrefix("10.0.0.0/8"))).to.be.true;
      expect(isIPv4(parsePrefix("0.0.0.0/0"))).to.be.true;
      expect(isIPv4(parsePrefix("::/0"))).to.be.false;
      expect(isIPv4(parsePrefix("::/96"))).to.be.false;
      expect(isIPv4(parsePrefix("2001:db8::/32"))).to.be.false;
    });
  });

  describe("#truncate", function () {
    it("masks an address to a prefix", function () {
      expect(truncate(parseAddress("192.0.2.77"), 120)).to.deep.equal(parsePrefix("192.0.2.0/24"));
      expect(truncate(parseAddress("2001:db8::1"), 32)).to.deep.equal(parsePrefix("2001:db8::/32"));
      expect(truncate(ALL_ONES, 0)).to.deep.equal({ network: 0n, length: 0 });
    });
  });

  describe("#prefixKey", function () {
    it("packs network and length into one word, like PrefixMath.key", function () {
      expect(prefixKey(parsePrefix("192.0.2.0/24"))).to.equal((0xffff_c000_0200n << 8n) | 120n);
    });

    it("tells apart prefixes with the same network and different lengths", function () {
      expect(prefixKey(parsePrefix("10.0.0.0/8"))).not.to.equal(prefixKey(parsePrefix("10.0.0.0/16")));
    });
  });
});
