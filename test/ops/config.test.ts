/** The agents' configuration file: every mistake in one sentence each, flags over the file. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";

import {
  ConfigSource,
  explicitFlags,
  parseProviderConfig,
  parseVictimConfig,
  PROVIDER_FLAGS,
} from "../../src/ops/config";
import { OperatorError } from "../../src/errors";

const POLICY = { budgetPerHour: "50", budgetPerDay: "500", maxPricePerPurchase: "20", kinds: ["flow-filtering"] };

function mistakes(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).to.be.instanceOf(OperatorError);
    return (error as Error).message;
  }
  throw new Error("no mistake was found");
}

describe("agent configuration", function () {
  let dir: string;
  before(() => (dir = mkdtempSync(path.join(tmpdir(), "ops-config-"))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("fills in the defaults of an empty provider configuration", function () {
    const config = parseProviderConfig({});
    expect(config).to.deep.include({ db: "var/provider.db", confirmations: 0, pollMs: 1000, statusReports: true });
    expect(config.backend.name).to.equal("log");
    expect(config.metrics).to.deep.equal({ maxLagBlocks: 5 });
  });

  it("says every mistake of a file in one sentence each, naming the setting and the value", function () {
    const message = mistakes(() =>
      parseProviderConfig(
        { pollMs: 5, backend: { name: "quagga" }, metrics: { listen: "localhost" }, colour: "blue" },
        {},
        "provider.json",
      ),
    );
    expect(message).to.equal(
      'provider.json: "pollMs" must be at least 10, not 5. ' +
        'provider.json: "backend.name" must be one of log, exabgp, gobgp, not "quagga". ' +
        'provider.json: "metrics.listen" must be host:port, such as 127.0.0.1:9750, not "localhost". ' +
        'provider.json: "colour" is not a setting.',
    );
  });

  it("lets a flag override the file, and names the flag when its value is wrong", function () {
    expect(parseProviderConfig({ db: "a.db", pollMs: 500 }, { db: "b.db" })).to.deep.include({
      db: "b.db",
      pollMs: 500,
    });
    expect(mistakes(() => parseProviderConfig({}, { confirmations: "two" }))).to.equal(
      '--confirmations must be a number of blocks, not "two".',
    );
    // A task's default is not an override: the file decides.
    const flags = explicitFlags({ db: "var/provider.db", pollMs: "250" }, { db: "var/provider.db" }, PROVIDER_FLAGS);
    expect(flags).to.deep.equal({ pollMs: "250" });
  });

  it("reads the victim's policy inline or from its own file, relative to the configuration", function () {
    writeFileSync(path.join(dir, "policy.json"), JSON.stringify(POLICY));
    const fromFile = parseVictimConfig({ policy: "policy.json" }, {}, "victim.json", dir);
    expect(fromFile.policyFile).to.equal(path.join(dir, "policy.json"));
    expect(fromFile.policy.budgetPerHour).to.equal(50n * 10n ** 18n);
    expect(parseVictimConfig({ policy: POLICY }, { dryRun: true }).policy.dryRun).to.equal(true);
    expect(mistakes(() => parseVictimConfig({ listen: 9740 }, {}, "victim.json", dir))).to.equal(
      'victim.json: "listen" must be host:port or unix:/path, not 9740. ' +
        'victim.json: "policy" is missing: give the spending policy, or its file.',
    );
  });

  it("reloads only the policy, and lists the settings that need a restart", function () {
    const file = path.join(dir, "victim.json");
    writeFileSync(file, JSON.stringify({ policy: POLICY, pollMs: 1000 }));
    const source = ConfigSource.victim(file, {});
    const current = source.load();
    writeFileSync(file, JSON.stringify({ policy: { ...POLICY, budgetPerHour: "80" }, pollMs: 2000 }));
    const { policy, ignored } = source.reload(current);
    expect(policy.budgetPerHour).to.equal(80n * 10n ** 18n);
    expect(ignored).to.deep.equal(["pollMs"]);
    writeFileSync(file, "{ not json");
    expect(mistakes(() => source.reload(current))).to.match(/^The configuration file .* is not valid JSON: /);
  });
});
