/**
 * Reading a detector's notification: FastNetMon 1.2.4's notify-script calls, captured from a real
 * FastNetMon fed NetFlow v5 (test/detect/fixtures), and the lines any detector can write.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { expect } from "chai";

import { MAX_TALKERS, parseNotification } from "../../src/victim/notification";
import { parseNotificationBody } from "../../src/victim/intake";

const fixture = (name: string) => readFileSync(path.join(__dirname, "fixtures", name), "utf8");

describe("Detector notifications", function () {
  describe("FastNetMon's calls", function () {
    it("reads a ban: the attacked address as a host prefix and the sources of the flows towards it", function () {
      const n = parseNotification(["203.0.113.10", "incoming", "75854", "ban"], fixture("fastnetmon-ban.txt"));
      expect(n).to.deep.include({ action: "ban", target: "203.0.113.10/32", direction: "incoming", pps: 75854 });
      // Equal talkers keep the order of the text.
      expect(n.talkers).to.deep.equal([
        { source: "198.51.100.23/32", packets: 40000, bytes: 20000000 },
        { source: "198.51.100.64/32", packets: 40000, bytes: 20000000 },
        { source: "192.0.2.7/32", packets: 40000, bytes: 20000000 },
      ]);
    });

    it("reads attack details: the sources of the sampled packets, most packets first", function () {
      const n = parseNotification(
        ["203.0.113.10", "incoming", "75854", "attack_details"],
        fixture("fastnetmon-attack_details.txt"),
      );
      expect(n.action).to.equal("attack_details");
      expect(n.talkers.map((t) => [t.source, t.packets])).to.deep.equal([
        ["198.51.100.23/32", 10000],
        ["198.51.100.64/32", 10000],
        ["192.0.2.7/32", 5000],
      ]);
    });

    it("reads an unban, which comes with no details", function () {
      const n = parseNotification(["203.0.113.10", "incoming", "75854", "unban"], "");
      expect(n).to.deep.equal({
        action: "unban",
        target: "203.0.113.10/32",
        direction: "incoming",
        pps: 75854,
        talkers: [],
      });
    });

    it("reads IPv6 packet lines, whose port follows the address's last colon", function () {
      const details =
        "2026-11-27 08:14:14.000000 2001:db8:1000::66:40000 > 2001:db8:a::10:53 protocol: udp frag: 0  packets: 7 size: 700 bytes ttl: 0 sample ratio: 1\n" +
        "2026-11-27 08:14:14.000000 2001:db8:a::10:53 > 2001:db8:1000::99:40000 protocol: udp frag: 0  packets: 9 size: 900 bytes ttl: 0 sample ratio: 1\n";
      const n = parseNotification(["2001:db8:a::10", "incoming", "1000", "attack_details"], details);
      expect(n.target).to.equal("2001:db8:a::10/128");
      // Only packets towards the target name sources.
      expect(n.talkers).to.deep.equal([{ source: "2001:db8:1000::66/128", packets: 7, bytes: 700 }]);
    });
  });

  describe("any detector", function () {
    it("takes one source address or prefix per line, and ignores the other family and the target", function () {
      const n = parseNotification(
        ["203.0.113.10", "incoming", "5000", "ban"],
        "198.51.100.23\n192.0.2.0/26\n2001:db8:1000::66\n203.0.113.10\nsome text the detector adds\n",
      );
      expect(n.talkers.map((t) => t.source)).to.deep.equal(["198.51.100.23/32", "192.0.2.0/26"]);
    });

    it(`keeps at most ${MAX_TALKERS} sources, the largest`, function () {
      const lines = Array.from(
        { length: 100 },
        (_, i) => `203.0.113.10:53 < 198.51.100.${i}:4000 ${i * 100} bytes ${i} packets`,
      );
      const n = parseNotification(["203.0.113.10", "incoming", "5000", "ban"], lines.join("\n"));
      expect(n.talkers).to.have.length(MAX_TALKERS);
      expect(n.talkers[0].source).to.equal("198.51.100.99/32");
    });
  });

  describe("a malformed notification", function () {
    const cases: [string, string[], string, RegExp][] = [
      [
        "too few arguments",
        ["203.0.113.10", "incoming", "ban"],
        "",
        /takes 4 arguments .*, not 3: "203.0.113.10" "incoming" "ban"\.$/,
      ],
      [
        "an unknown action",
        ["203.0.113.10", "incoming", "100", "block"],
        "",
        /action is "block", not one of ban, unban, attack_details\.$/,
      ],
      [
        "an address that is none",
        ["203.0.113.300", "incoming", "100", "ban"],
        "",
        /attacked address "203.0.113.300" is not an IP address\.$/,
      ],
      [
        "a power that is no number",
        ["203.0.113.10", "incoming", "lots", "ban"],
        "",
        /power "lots" is not a whole number of packets per second\.$/,
      ],
      ["an unknown direction", ["203.0.113.10", "sideways", "100", "ban"], "", /direction is "sideways", not one of/],
      [
        "a flow line with a bad address",
        ["203.0.113.10", "incoming", "100", "ban"],
        "203.0.113.10:53 < 198.51.100.999:40000 1 bytes 1 packets",
        /Line 1 .* names no valid address: "203\.0\.113\.10:53 < 198\.51\.100\.999:40000 1 bytes 1 packets"\.$/,
      ],
    ];
    for (const [what, args, details, message] of cases) {
      it(`refuses ${what} with one sentence`, function () {
        expect(() => parseNotification(args, details)).to.throw(message);
      });
    }

    it("refuses a body that is not the notify script's JSON", function () {
      expect(() => parseNotificationBody("ban 203.0.113.10")).to.throw(/is not JSON/);
      expect(() => parseNotificationBody('{"args": [1, 2]}')).to.throw(/no "args" list of strings/);
      expect(() => parseNotificationBody('{"args": ["a"], "details": 5}')).to.throw(/"details" must be text/);
    });
  });
});
