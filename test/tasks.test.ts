/**
 * The operator tasks, run in-process as `hre.run({ scope, task }, args)` against a system deployed
 * by the Ignition module: the full request → acknowledge → pay flow, and a catalogue of bad
 * inputs, each refused with one sentence and without any transaction.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import hre, { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";

import MitigationMarket from "../ignition/modules/MitigationMarket";
import { attachSystem, systemAddresses, type System } from "../src/deploy";
import { DEPLOYMENT_DIR_ENV, writeDeployment } from "../src/deployment";
import { describeRequestId, formatRequestId, parseTokens } from "../src/format";
import { ProviderServiceContract__factory, type ProviderServiceContract } from "../typechain-types";

interface TaskRun {
  result: unknown;
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** Runs a scoped task, capturing what it prints and the exit code it sets. */
async function runTask(scope: string, task: string, args: Record<string, unknown> = {}): Promise<TaskRun> {
  const out: string[] = [];
  const err: string[] = [];
  const { log, error } = console;
  const previousExitCode = process.exitCode;
  process.exitCode = undefined;
  console.log = (...parts: unknown[]) => void out.push(parts.map(String).join(" "));
  console.error = (...parts: unknown[]) => void err.push(parts.map(String).join(" "));
  try {
    const result: unknown = await hre.run({ scope, task }, args);
    return { result, stdout: out.join("\n"), stderr: err.join("\n"), exitCode: Number(process.exitCode ?? 0) };
  } finally {
    console.log = log;
    console.error = error;
    process.exitCode = previousExitCode;
  }
}

/** Runs a task that must succeed and returns its printed text. */
async function ok(scope: string, task: string, args: Record<string, unknown> = {}): Promise<TaskRun> {
  const run = await runTask(scope, task, args);
  expect(run.stderr, `${scope} ${task} failed`).to.equal("");
  expect(run.exitCode).to.equal(0);
  return run;
}

const VICTIM_PREFIX = "198.51.100.0/24";
const PROVIDER_PREFIX = "203.0.113.0/24";
const VICTIM_ASN = 64500;
const PROVIDER_ASN = 64501;

interface Deployed {
  system: System;
  admin: HardhatEthersSigner;
  victim: HardhatEthersSigner;
  provider: HardhatEthersSigner;
  outsider: HardhatEthersSigner;
}

interface Market extends Deployed {
  service: ProviderServiceContract;
}

interface Requested extends Market {
  requestId: bigint;
}

const deploymentDir = mkdtempSync(path.join(tmpdir(), "market-deployment-"));

/** Deploys with the Ignition module and points src/deployment.ts at it. */
async function deployWithIgnition(): Promise<Deployed> {
  const [admin, victim, provider, outsider] = await ethers.getSigners();
  const deployed = await hre.ignition.deploy(MitigationMarket);
  const addresses = {
    token: await deployed.token.getAddress(),
    registry: await deployed.registry.getAddress(),
    directory: await deployed.directory.getAddress(),
  };
  writeDeployment(deploymentDir, addresses);
  const system = attachSystem(addresses, admin);
  return { system, admin, victim, provider, outsider };
}

/** A victim holding 198.51.100.0/24 with 100 tokens; a provider covering AS64501 at 10 MIT/h. */
async function marketReady(): Promise<Market> {
  const market = await deployWithIgnition();
  const { victim, provider } = market;
  await ok("registry", "register-participant", { account: victim.address, name: "Victim Net" });
  await ok("registry", "register-participant", { account: provider.address, name: "Provider Net" });
  await ok("registry", "assign-asn", { asn: String(VICTIM_ASN), holder: victim.address });
  await ok("registry", "assign-asn", { asn: `AS${PROVIDER_ASN}`, holder: provider.address });
  await ok("registry", "allocate", { prefix: VICTIM_PREFIX, holder: victim.address, originAsn: String(VICTIM_ASN) });
  await ok("registry", "allocate", {
    prefix: PROVIDER_PREFIX,
    holder: provider.address,
    originAsn: String(PROVIDER_ASN),
  });
  await ok("token", "mint", { to: victim.address, amount: "100" });
  const created = await ok("service", "create", { from: "2" });
  const { service } = created.result as { service: string };
  await ok("service", "add-offering", {
    from: "2",
    kind: "flow-filtering",
    pricePerHour: "10",
    maxDuration: "3600",
    capacity: "10",
  });
  await ok("service", "cover", { from: "2", asns: String(PROVIDER_ASN) });
  return { ...market, service: ProviderServiceContract__factory.connect(service, market.admin) };
}

/** The market with one pending request: 900 s of offering 0 (2.5 MIT). */
async function requested(): Promise<Requested> {
  const market = await marketReady();
  const run = await ok("mitigation", "request", {
    from: "1",
    service: await market.service.getAddress(),
    offering: "0",
    target: VICTIM_PREFIX,
    sources: "203.0.113.9, 203.0.113.64/26",
    duration: "900",
    maxPrice: "5",
  });
  const { requests } = run.result as { requests: { requestId: bigint }[] };
  return { ...market, requestId: requests[0].requestId };
}

/**
 * loadFixture, then points src/deployment.ts at the fixture's contracts: each fixture deploys its
 * own system, and reverting to a snapshot does not rewrite the deployment file.
 */
async function load<T extends Market>(fixture: () => Promise<T>): Promise<T> {
  const market = await loadFixture(fixture);
  writeDeployment(deploymentDir, await systemAddresses(market.system));
  return market;
}

/** Everything a refused task must leave as it was. */
async function chainState(market: Market): Promise<string> {
  const { system, service } = market;
  const serviceAddress = await service.getAddress();
  const directoryAddress = await system.directory.getAddress();
  const accounts = (await ethers.getSigners()).slice(0, 4).map((s) => s.address);
  const state = {
    block: await ethers.provider.getBlockNumber(),
    nonces: await Promise.all(accounts.map((a) => ethers.provider.getTransactionCount(a))),
    balances: await Promise.all([...accounts, serviceAddress].map((a) => system.token.balanceOf(a))),
    allowances: await Promise.all(
      [serviceAddress, directoryAddress].map((s) => system.token.allowance(market.victim.address, s)),
    ),
    supply: await system.token.totalSupply(),
    prefixes: await system.registry.prefixCount(),
    requests: await service.requestCount(),
    offerings: await service.offeringCount(),
    services: (await system.directory.allServices()).length,
  };
  return JSON.stringify(state, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
}

describe("operator tasks", function () {
  const previousDir = process.env[DEPLOYMENT_DIR_ENV];

  before(function () {
    process.env[DEPLOYMENT_DIR_ENV] = deploymentDir;
  });

  after(function () {
    if (previousDir === undefined) delete process.env[DEPLOYMENT_DIR_ENV];
    else process.env[DEPLOYMENT_DIR_ENV] = previousDir;
    rmSync(deploymentDir, { recursive: true, force: true });
  });

  describe("when there is no deployment for the chain", function () {
    it("says how to deploy, in one sentence", async function () {
      const empty = mkdtempSync(path.join(tmpdir(), "market-empty-"));
      process.env[DEPLOYMENT_DIR_ENV] = path.join(empty, "chain-31337");
      try {
        const run = await runTask("registry", "lookup", { address: "198.51.100.1" });
        expect(run.exitCode).to.equal(1);
        expect(run.stderr).to.match(
          /^No deployment found for chain 31337 in .*: run `npx hardhat ignition deploy ignition\/modules\/MitigationMarket\.ts --network hardhat` first\.$/,
        );
      } finally {
        process.env[DEPLOYMENT_DIR_ENV] = deploymentDir;
        rmSync(empty, { recursive: true, force: true });
      }
    });
  });

  describe("the request → acknowledge → pay flow", function () {
    it("escrows on request and pays the provider on acknowledgement", async function () {
      const { system, victim, provider, service, requestId } = await load(requested);
      const serviceAddress = await service.getAddress();
      const price = parseTokens("2.5");
      expect(await system.token.balanceOf(victim.address)).to.equal(parseTokens("100") - price);
      expect(await system.token.balanceOf(serviceAddress)).to.equal(price);

      const status = await ok("mitigation", "status", { service: serviceAddress, id: requestId.toString() });
      expect(status.stdout).to.contain(
        `Request ${describeRequestId(requestId)} at ${serviceAddress} is pending: 2.5 MIT for 900 s`,
      );

      const ack = await ok("mitigation", "acknowledge", {
        from: provider.address,
        service: serviceAddress,
        id: requestId.toString(),
      });
      expect(ack.stdout).to.contain(
        `Acknowledged request ${describeRequestId(requestId)} at ${serviceAddress}; it is now acknowledged`,
      );
      expect(await system.token.balanceOf(provider.address)).to.equal(price);
      expect(await system.token.balanceOf(serviceAddress)).to.equal(0n);

      await ok("mitigation", "report-status", {
        from: "2",
        service: serviceAddress,
        id: requestId.toString(),
        status: "successfullyMitigated",
        bytesDropped: "123456",
      });
      await ok("mitigation", "rate", { from: "1", service: serviceAddress, id: requestId.toString(), rating: "5" });
      const json = await ok("mitigation", "status", { service: serviceAddress, id: requestId.toString(), json: true });
      const parsed = JSON.parse(json.stdout) as { status: string; rating: number; price: string };
      expect(parsed).to.include({ status: "acknowledged", rating: 5, price: price.toString() });

      const balance = await ok("token", "balance", { account: provider.address });
      expect(balance.stdout).to.equal(`${provider.address} has 2.5 MIT.`);
    });

    it("finds a request by the number the logs print, with its requester", async function () {
      const { victim, service, requestId } = await load(requested);
      const serviceAddress = await service.getAddress();
      expect(formatRequestId(requestId)).to.equal("#1");
      // The requester defaults to the --from account...
      const mine = await ok("mitigation", "status", { from: "1", service: serviceAddress, id: "#1", json: true });
      const parsed = JSON.parse(mine.stdout) as { requestId: string; shortId: string; status: string };
      expect(parsed).to.include({ requestId: requestId.toString(), shortId: "#1", status: "pending" });
      // ...or is given by --requester, and "#" is optional.
      const theirs = await ok("mitigation", "status", { service: serviceAddress, id: "1", requester: victim.address });
      expect(theirs.stdout).to.match(new RegExp(`^Request #1 \\(id ${requestId}\\) at ${serviceAddress} is pending`));
      const ack = await ok("mitigation", "acknowledge", {
        from: "2",
        service: serviceAddress,
        id: "#1",
        requester: victim.address,
      });
      expect(ack.stdout).to.contain(
        `Acknowledged request #1 (id ${requestId}) at ${serviceAddress}; it is now acknowledged`,
      );
    });

    it("buys from the services found through the registry for an attack report", async function () {
      const { system, victim, service } = await load(marketReady);
      const dir = mkdtempSync(path.join(tmpdir(), "report-"));
      const file = path.join(dir, "report.json");
      writeFileSync(
        file,
        JSON.stringify({
          target: VICTIM_PREFIX,
          lifetime: 1800,
          topTalkers: [{ source: "203.0.113.9", bps: 1e9 }, { source: "203.0.113.128/25" }, "192.0.2.0/24"],
        }),
      );
      const run = await ok("mitigation", "request", { from: "1", report: file });
      rmSync(dir, { recursive: true, force: true });
      const serviceAddress = await service.getAddress();
      expect(run.stdout).to.contain(`Requested mitigation of ${VICTIM_PREFIX} from 1 service(s):`);
      expect(run.stdout).to.contain(`at ${serviceAddress}: 2 source(s), 5 MIT escrowed`);
      expect(run.stdout).to.contain("not served: 192.0.2.0/24: no registered prefix contains it");
      expect(await system.token.balanceOf(victim.address)).to.equal(parseTokens("95"));
      expect(await service.requestCount()).to.equal(1n);
    });

    it("buys nothing for the sources of the other address family than the target", async function () {
      const { system, victim, provider, service } = await load(marketReady);
      // The provider's AS also originates IPv6 space, so the IPv6 source could be bought for.
      await ok("registry", "allocate", {
        prefix: "2001:db8::/32",
        holder: provider.address,
        originAsn: String(PROVIDER_ASN),
      });
      const dir = mkdtempSync(path.join(tmpdir(), "report-"));
      const file = path.join(dir, "report.json");
      writeFileSync(
        file,
        JSON.stringify({ target: "198.51.100.10/32", lifetime: 1800, topTalkers: ["2001:db8::66", "203.0.113.5"] }),
      );
      const run = await ok("mitigation", "request", { from: "1", report: file });
      rmSync(dir, { recursive: true, force: true });
      const { requests, unserved } = run.result as {
        requests: { service: string; sources: string[] }[];
        unserved: { source: string; reason: string }[];
      };
      expect(requests.map((r) => [r.service, r.sources])).to.deep.equal([
        [await service.getAddress(), ["203.0.113.5/32"]],
      ]);
      expect(unserved.map((u) => u.source)).to.deep.equal(["2001:db8::66"]);
      expect(run.stdout).to.contain(
        "not served: 2001:db8::66: it is IPv6 and the target is IPv4: a filter matches one address family, so no provider would act on it",
      );
      expect(await system.token.balanceOf(victim.address)).to.equal(parseTokens("95"));
      expect(await service.requestCount()).to.equal(1n);
    });

    it("publishes the provider agent's order endpoint on its service, and withdraws it", async function () {
      const { service } = await load(marketReady);
      const run = await ok("service", "set-order-endpoint", { from: "2", url: "http://203.0.113.1:8546/" });
      expect(run.stdout).to.match(/takes signed orders at http:\/\/203\.0\.113\.1:8546\/ \(tx 0x[0-9a-f]{64}/);
      expect(await service.orderEndpoint()).to.equal("http://203.0.113.1:8546/");
      await ok("service", "set-order-endpoint", { from: "2", url: "none" });
      expect(await service.orderEndpoint()).to.equal("");
    });

    it("prints lookups in operator terms", async function () {
      const { victim, provider } = await load(marketReady);
      const lookup = await ok("registry", "lookup", { address: "203.0.113.7" });
      expect(lookup.stdout).to.equal(
        `203.0.113.7 is in ${PROVIDER_PREFIX}, origin AS${PROVIDER_ASN}, held by ${provider.address}.`,
      );
      const holder = await ok("registry", "holder", { prefix: "198.51.100.128/25" });
      expect(holder.stdout).to.equal(
        `198.51.100.128/25 is held by ${victim.address} through ${VICTIM_PREFIX}, origin AS${VICTIM_ASN}.`,
      );
      const found = await ok("service", "find", { address: "203.0.113.7", json: true });
      expect((JSON.parse(found.stdout) as { originAsn: number }).originAsn).to.equal(PROVIDER_ASN);
    });
  });

  describe("bad input", function () {
    type Args = (m: Requested) => Promise<Record<string, unknown>> | Record<string, unknown>;
    const svc = async (m: Requested) => m.service.getAddress();
    const request = (extra: Record<string, string>): Args => {
      return async (m) => ({
        from: "1",
        service: await svc(m),
        offering: "0",
        target: VICTIM_PREFIX,
        sources: "203.0.113.9",
        duration: "900",
        maxPrice: "5",
        ...extra,
      });
    };
    const allocate = (extra: Record<string, string>): Args => {
      return (m) => ({ prefix: "192.0.2.0/24", holder: m.victim.address, originAsn: "64500", ...extra });
    };
    const reportFile = (content: string | null): Args => {
      return () => {
        const dir = mkdtempSync(path.join(tmpdir(), "bad-report-"));
        const file = path.join(dir, "report.json");
        if (content !== null) writeFileSync(file, content);
        return { from: "1", report: file };
      };
    };
    const onRequest = (extra: Record<string, string>): Args => {
      return async (m) => ({ from: "2", service: await svc(m), id: m.requestId.toString(), ...extra });
    };

    const cases: { name: string; scope: string; task: string; args: Args; message: string | RegExp }[] = [
      // prefixes
      {
        name: "a CIDR with host bits",
        scope: "registry",
        task: "allocate",
        args: allocate({ prefix: "192.0.2.1/24" }),
        message: '"192.0.2.1/24" has host bits set beyond /24: did you mean 192.0.2.0/24?',
      },
      {
        name: "an IPv4 /33",
        scope: "registry",
        task: "allocate",
        args: allocate({ prefix: "192.0.2.0/33" }),
        message: '"192.0.2.0/33" has prefix length /33, longer than the IPv4 maximum of /32.',
      },
      {
        name: "a three-part address",
        scope: "registry",
        task: "allocate",
        args: allocate({ prefix: "1.2.3/24" }),
        message: '"1.2.3" is not an IP address: expected IPv4 like 192.0.2.1 or IPv6 like 2001:db8::1.',
      },
      {
        name: "an IPv6 /129",
        scope: "registry",
        task: "allocate",
        args: allocate({ prefix: "2001:db8::/129" }),
        message: '"2001:db8::/129" has prefix length /129, longer than the IPv6 maximum of /128.',
      },
      {
        name: "an empty prefix",
        scope: "registry",
        task: "allocate",
        args: allocate({ prefix: "" }),
        message: "An IP prefix is required, but the text is empty.",
      },
      {
        name: "a prefix without a length",
        scope: "registry",
        task: "revoke",
        args: () => ({ prefix: "192.0.2.0" }),
        message: '"192.0.2.0" has no prefix length: write it as 192.0.2.0/32.',
      },
      {
        name: "an address that is not one",
        scope: "registry",
        task: "lookup",
        args: () => ({ address: "300.1.1.1" }),
        message: '"300.1.1.1" is not an IP address',
      },
      // AS numbers
      ...["0", "23456", "65535", "4294967295"].map((asn) => ({
        name: `reserved AS${asn}`,
        scope: "registry",
        task: "allocate",
        args: allocate({ originAsn: asn }),
        message: `AS${asn} is reserved and cannot be held (0, 23456, 65535 and 4294967295 are refused).`,
      })),
      {
        name: 'ASN "abc"',
        scope: "registry",
        task: "assign-asn",
        args: (m) => ({ asn: "abc", holder: m.victim.address }),
        message: '"abc" is not an AS number: expected a whole number such as 64500 or AS64500.',
      },
      {
        name: "an ASN beyond 32 bits",
        scope: "registry",
        task: "assign-asn",
        args: (m) => ({ asn: "4294967296", holder: m.victim.address }),
        message: "AS4294967296 is out of range: AS numbers are 32-bit (at most 4294967295).",
      },
      // addresses and accounts
      {
        name: "a short holder address",
        scope: "registry",
        task: "allocate",
        args: allocate({ holder: "0x1234" }),
        message: '"0x1234" is not a valid holder address: expected 0x followed by 40 hex digits.',
      },
      {
        name: "a missing required option",
        scope: "registry",
        task: "assign-asn",
        args: () => ({ asn: "64510" }),
        message: "--holder is required.",
      },
      {
        name: "an account index the network does not have",
        scope: "token",
        task: "mint",
        args: (m) => ({ from: "99", to: m.victim.address, amount: "1" }),
        message: 'Account index 99 does not exist: network "hardhat" has accounts 0 to 19.',
      },
      {
        name: "a --from address the network cannot sign for",
        scope: "token",
        task: "mint",
        args: (m) => ({ from: "0x000000000000000000000000000000000000dEaD", to: m.victim.address, amount: "1" }),
        message: '0x000000000000000000000000000000000000dEaD is not one of the accounts of network "hardhat".',
      },
      {
        name: "an empty organisation name",
        scope: "registry",
        task: "register-participant",
        args: (m) => ({ account: m.outsider.address, name: "  " }),
        message: "An organisation name is required to register",
      },
      // contract refusals, caught by gas estimation
      {
        name: "a prefix that is already registered",
        scope: "registry",
        task: "allocate",
        args: allocate({ prefix: VICTIM_PREFIX }),
        message: `${VICTIM_PREFIX} is already registered to`,
      },
      {
        name: "a registrar task from a non-registrar",
        scope: "registry",
        task: "allocate",
        args: allocate({ from: "1" }),
        message: /^0x70997970C51812dc3A010C7d01b50e0d17dc79C8 lacks the registrar role needed for this\.$/,
      },
      {
        name: "delegating a prefix not held",
        scope: "registry",
        task: "delegate",
        args: (m) => ({ from: "2", prefix: "198.51.100.0/25", to: m.provider.address, originAsn: "64501" }),
        message: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC does not hold",
      },
      // amounts
      ...["-5", "abc", "1e3", "1.0000000000000000001", ""].map((amount) => ({
        name: `token amount "${amount}"`,
        scope: "token",
        task: "mint",
        args: (m: Requested) => ({ to: m.victim.address, amount }),
        message: `"${amount}" is not a token amount: expected a non-negative decimal such as 12.5.`,
      })),
      {
        name: "minting without the minter role",
        scope: "token",
        task: "mint",
        args: (m) => ({ from: "1", to: m.victim.address, amount: "1" }),
        message: "lacks the minter role needed for this.",
      },
      {
        name: "an approval for a spender that is not an address",
        scope: "token",
        task: "approve",
        args: () => ({ spender: "directory", amount: "1" }),
        message: '"directory" is not a valid spender address',
      },
      // services
      {
        name: "an unknown mitigation kind",
        scope: "service",
        task: "add-offering",
        args: () => ({ from: "2", kind: "magic", pricePerHour: "1", maxDuration: "60", capacity: "1" }),
        message: '"magic" is not a mitigation kind: use flow-filtering, rate-limiting, blackholing, scrubbing.',
      },
      {
        name: "a zero maximum duration",
        scope: "service",
        task: "add-offering",
        args: () => ({ from: "2", kind: "scrubbing", pricePerHour: "1", maxDuration: "0", capacity: "1" }),
        message: '"0" is not a valid maximum duration in seconds: expected a whole number from 1 to 4294967295.',
      },
      {
        name: "a capacity that is not a number",
        scope: "service",
        task: "add-offering",
        args: () => ({ from: "2", kind: "scrubbing", pricePerHour: "1", maxDuration: "60", capacity: "ten" }),
        message: '"ten" is not a valid capacity',
      },
      {
        name: "an offering from an account without a service",
        scope: "service",
        task: "add-offering",
        args: () => ({ from: "1", kind: "scrubbing", pricePerHour: "1", maxDuration: "60", capacity: "1" }),
        message: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8 has no service contract: create one first.",
      },
      {
        name: "a second service for the same provider",
        scope: "service",
        task: "create",
        args: () => ({ from: "2" }),
        message: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC already has a service contract at",
      },
      {
        name: "covering an AS the provider does not hold",
        scope: "service",
        task: "cover",
        args: () => ({ from: "2", asns: "64500" }),
        message: "may not cover AS64500: it is held by 0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
      },
      {
        name: "an empty AS list",
        scope: "service",
        task: "cover",
        args: () => ({ from: "2", asns: " , " }),
        message: "Give at least one AS number, separated by commas.",
      },
      {
        name: "find with both --address and --asn",
        scope: "service",
        task: "find",
        args: () => ({ address: "203.0.113.7", asn: "64501" }),
        message: "Give exactly one of --address or --asn.",
      },
      // mitigation requests
      {
        name: "a zero duration",
        scope: "mitigation",
        task: "request",
        args: request({ duration: "0" }),
        message: '"0" is not a valid duration in seconds: expected a whole number from 1 to 4294967295.',
      },
      {
        name: "a fractional duration",
        scope: "mitigation",
        task: "request",
        args: request({ duration: "1.5" }),
        message: '"1.5" is not a valid duration in seconds',
      },
      {
        name: "a negative maximum price",
        scope: "mitigation",
        task: "request",
        args: request({ maxPrice: "-1" }),
        message: '"-1" is not a token amount',
      },
      {
        name: "an acknowledgement window beyond a day",
        scope: "mitigation",
        task: "request",
        args: request({ ackWindow: "90000" }),
        message: '"90000" is not a valid acknowledgement window in seconds: expected a whole number from 1 to 86400.',
      },
      {
        name: "no attack sources",
        scope: "mitigation",
        task: "request",
        args: request({ sources: "" }),
        message: "Give at least one attack source, separated by commas.",
      },
      {
        name: "a source /33",
        scope: "mitigation",
        task: "request",
        args: request({ sources: "203.0.113.9/33" }),
        message: '"203.0.113.9/33" has prefix length /33',
      },
      {
        name: "a target with host bits",
        scope: "mitigation",
        task: "request",
        args: request({ target: "198.51.100.7/24" }),
        message: '"198.51.100.7/24" has host bits set beyond /24: did you mean 198.51.100.0/24?',
      },
      {
        name: "an unknown offering",
        scope: "mitigation",
        task: "request",
        args: request({ offering: "7" }),
        message: /^Offering 7 does not exist at 0x[0-9a-fA-F]{40}: it has 1 offering\.$/,
      },
      {
        name: "a target prefix the requester does not hold",
        scope: "mitigation",
        task: "request",
        args: request({ target: PROVIDER_PREFIX }),
        message: `0x70997970C51812dc3A010C7d01b50e0d17dc79C8 does not hold ${PROVIDER_PREFIX}: it is held by 0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC (${PROVIDER_PREFIX}).`,
      },
      {
        name: "a duration above the offering's maximum",
        scope: "mitigation",
        task: "request",
        args: request({ duration: "7200" }),
        message: "A duration of 7200 s is not allowed: offering 0 sells 1 to 3600 s.",
      },
      {
        name: "a price above the maximum",
        scope: "mitigation",
        task: "request",
        args: request({ maxPrice: "1" }),
        message: "The price is 2.5 MIT, above your maximum of 1 MIT.",
      },
      {
        name: "a service that is not in the directory",
        scope: "mitigation",
        task: "request",
        args: async (m) => ({ ...(await request({})(m)), service: await m.system.token.getAddress() }),
        message: "is not a service contract of this directory.",
      },
      {
        name: "a requester that is not a participant",
        scope: "mitigation",
        task: "request",
        args: request({ from: "3" }),
        message:
          "0x90F79bf6EB2c4f870365E785982E1f101E93b906 is not an active registered participant (its status is none).",
      },
      {
        name: "a single request without --service",
        scope: "mitigation",
        task: "request",
        args: () => ({ from: "1", offering: "0" }),
        message: "--service is required unless you give --report.",
      },
      // attack reports
      {
        name: "a missing report file",
        scope: "mitigation",
        task: "request",
        args: reportFile(null),
        message: /^Cannot read the attack report file .*report\.json\.$/,
      },
      {
        name: "a malformed JSON report",
        scope: "mitigation",
        task: "request",
        args: reportFile("{ target: "),
        message: /report\.json is not valid JSON\.$/,
      },
      {
        name: "a report without sources",
        scope: "mitigation",
        task: "request",
        args: reportFile(JSON.stringify({ target: VICTIM_PREFIX, lifetime: 600, topTalkers: [] })),
        message: 'lists no attack sources ("topTalkers").',
      },
      {
        name: "a report with a zero lifetime",
        scope: "mitigation",
        task: "request",
        args: reportFile(JSON.stringify({ target: VICTIM_PREFIX, lifetime: 0, topTalkers: ["203.0.113.9"] })),
        message: 'needs a "lifetime" in whole seconds above zero.',
      },
      {
        name: "a source of the other address family than the target",
        scope: "mitigation",
        task: "request",
        args: request({ sources: "203.0.113.9, 2001:db8::66" }),
        message:
          "Source 2001:db8::66/128 is IPv6 and the target 198.51.100.0/24 is IPv4: a filter matches one address family, so no provider would act on it.",
      },
      {
        name: "a report whose only source is of the other address family",
        scope: "mitigation",
        task: "request",
        args: reportFile(JSON.stringify({ target: VICTIM_PREFIX, lifetime: 600, topTalkers: ["2001:db8::66"] })),
        message: "None of the 1 attack sources can be served: 2001:db8::66: it is IPv6 and the target is IPv4",
      },
      {
        name: "a report none of whose sources can be served",
        scope: "mitigation",
        task: "request",
        args: reportFile(JSON.stringify({ target: VICTIM_PREFIX, lifetime: 600, topTalkers: ["192.0.2.1"] })),
        message: "None of the 1 attack sources can be served: 192.0.2.1: no registered prefix contains it.",
      },
      // the life cycle
      {
        name: "an acknowledgement by someone other than the provider",
        scope: "mitigation",
        task: "acknowledge",
        args: onRequest({ from: "1" }),
        message: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8 is not the provider of this service.",
      },
      {
        name: "a request id that is not a number",
        scope: "mitigation",
        task: "acknowledge",
        args: onRequest({ id: "first" }),
        message: '"first" is not a request id: expected the number the logs print, such as #1 or 1, or the full id.',
      },
      {
        name: "an unknown request",
        scope: "mitigation",
        task: "acknowledge",
        args: onRequest({ id: "99" }),
        message:
          /^Request #99 by 0x[0-9a-fA-F]{40} \(id \d+\) does not exist at 0x[0-9a-fA-F]{40}: the id includes the requester, which --requester gives \(by default the --from account\)\.$/,
      },
      {
        name: "a request number with the wrong requester",
        scope: "mitigation",
        task: "acknowledge",
        args: async (m) => ({ ...(await onRequest({ id: "#1" })(m)), requester: m.outsider.address }),
        message:
          /^Request #1 by 0x[0-9a-fA-F]{40} \(id \d+\) does not exist at 0x[0-9a-fA-F]{40}: check the number and --requester\.$/,
      },
      {
        name: "a full request id with another --requester",
        scope: "mitigation",
        task: "acknowledge",
        args: async (m) => ({ ...(await onRequest({})(m)), requester: m.outsider.address }),
        message: /^Request id \d+ was made by 0x[0-9a-fA-F]{40}, not by the --requester 0x[0-9a-fA-F]{40}\.$/,
      },
      {
        name: "a request number beyond 64 bits",
        scope: "mitigation",
        task: "status",
        args: onRequest({ id: "#18446744073709551616" }),
        message: '"#18446744073709551616" is not a request id',
      },
      {
        name: "an unknown reject reason",
        scope: "mitigation",
        task: "reject",
        args: onRequest({ reason: "angry" }),
        message: '"angry" is not a reject reason',
      },
      {
        name: "a DOTS status out of range",
        scope: "mitigation",
        task: "report-status",
        args: onRequest({ status: "9" }),
        message: '"9" is not a DOTS mitigation status: use 1 to 8',
      },
      {
        name: "a rating of 6",
        scope: "mitigation",
        task: "rate",
        args: onRequest({ from: "1", rating: "6" }),
        message: '"6" is not a valid rating: expected a whole number from 1 to 5.',
      },
      {
        name: "an order endpoint that is not an http URL",
        scope: "service",
        task: "set-order-endpoint",
        args: () => ({ from: "2", url: "ftp://203.0.113.1/" }),
        message: '"ftp://203.0.113.1/" is not an http or https URL: victims post their orders over HTTP.',
      },
      {
        name: "a reclaim before the deadline",
        scope: "mitigation",
        task: "reclaim",
        args: onRequest({ from: "1" }),
        message: /^Request #1 \(id \d+\) cannot be reclaimed before its deadline .* has passed\.$/,
      },
    ];

    it("has at least 30 cases", function () {
      expect(cases.length).to.be.at.least(30);
    });

    for (const c of cases) {
      it(`refuses ${c.name} with one sentence and no transaction`, async function () {
        const market = await load(requested);
        const args = await c.args(market);
        const before = await chainState(market);
        const run = await runTask(c.scope, c.task, args);
        expect(run.exitCode, "exit code").to.equal(1);
        expect(run.stdout, "stdout").to.equal("");
        expect(run.stderr.split("\n"), "one line").to.have.length(1);
        if (typeof c.message === "string") expect(run.stderr).to.contain(c.message);
        else expect(run.stderr).to.match(c.message);
        expect(await chainState(market), "chain state").to.equal(before);
      });
    }

    it("refuses a second acknowledgement and leaves the payment as it was", async function () {
      const market = await load(requested);
      const args = await onRequest({})(market);
      await ok("mitigation", "acknowledge", args);
      const before = await chainState(market);
      const run = await runTask("mitigation", "acknowledge", args);
      expect(run.exitCode).to.equal(1);
      expect(run.stderr).to.equal(
        `Request ${describeRequestId(market.requestId)} is acknowledged, so this cannot be done.`,
      );
      expect(await chainState(market)).to.equal(before);
    });
  });
});
