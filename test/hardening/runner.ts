/**
 * The engine of the stateful tests (`stateful.test.ts`, a few hundred sequences in CI) and of the
 * soak (`npm run soak`, ten thousand and more): seeded random sequences of registry, token and
 * market actions by random actors, honest and not, each predicted by the MarketModel (revert with
 * which custom error, or what it changes) and compared with the chain, with every invariant
 * checked after every step.
 *
 * Both ways to buy run mixed: direct requests, and signed orders. Actors sign orders (EOA
 * signatures from the node's own keys; honest ones, and ones with a wrong signer, a high s, a raw
 * v, another service's or chain's domain, an expiry past, terms the offering does not sell…); the
 * orders wait in a pool, as in a provider agent's intake, while other steps withdraw allowances
 * and balances, cancel orders one by one or below a salt, suspend requesters and delegate their
 * prefixes away; then a provider (or someone else) settles a batch of them, with replays and
 * duplicates. The model says what becomes of every order; the settlement's logs must say the same,
 * in order.
 *
 * Speed: one deployment, then `evm_snapshot`/`evm_revert` between sequences; transactions are sent
 * as raw `eth_sendTransaction` with a fixed gas limit (no estimation); everything the invariants
 * compare is read in a single `eth_call` of the test-only HardeningLens.
 */
import { ethers, network } from "hardhat";
import { HDNodeWallet, Interface, Mnemonic, TypedDataEncoder, Wallet, concat, getBytes, keccak256 } from "ethers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { HardhatNetworkHDAccountsConfig } from "hardhat/types";
import { ecdsaSign } from "secp256k1";

import { ORDER_TYPES, orderDomain, signOrder, toOrderStruct } from "../../src/clients/orders";
import type { Order } from "../../src/clients/orders";
import { parsePrefix } from "../../src/prefix";
import { revertDataOf } from "../../src/rpc";
import type { Prefix } from "../../src/prefix";
import type { HardeningLens, MitigationToken, PrefixRegistry, ServiceDirectory } from "../../typechain-types";
import type { IProviderServiceContract } from "../../typechain-types/contracts/ProviderServiceContract";
import {
  ATTACK_STATUS_MAX,
  DOTS_STATUS_MAX,
  MAX_ACK_WINDOW,
  MAX_ENDPOINT_LENGTH,
  MarketModel,
  OrderSkip,
  RATING_MAX,
  Random,
  ReqStatus,
  Status,
  UINT256_MAX,
  UINT32_MAX,
  UINT96_MAX,
  noRequest,
  orderRequestIdOf,
  priceOf,
} from "./model";
import type { ModelRequest, ModelService, OrderInput, OrderOutcome, Prediction, RequestInput } from "./model";

const ONE = 10n ** 18n;
const GAS = "0xf42400"; // 16M (the cap, EIP-7825): never the limiting factor, and no estimation round trip.
const MAX_UINT256 = UINT256_MAX;
/** secp256k1's order: n - s is the high-s twin of a signature's s. */
const CURVE_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const UINT248_MAX = (1n << 248n) - 1n;
/** The most orders a settlement step carries (the contract takes any number; gas is not the point). */
const MAX_BATCH = 8;
/** Orders waiting to be settled, and settled ones kept for replays, per sequence. */
const MAX_POOL = 12;

/** The prefixes actions draw from, and the registry is asked about after every step. */
const UNIVERSE_TEXT = [
  "10.0.0.0/8",
  "10.0.0.0/16",
  "10.1.0.0/16",
  "10.0.0.0/24",
  "10.0.1.0/24",
  "10.1.5.0/24",
  "10.0.0.0/25",
  "10.0.0.128/25",
  "10.0.0.7/32",
  "10.1.5.9/32",
  "192.0.2.0/24",
  "192.0.2.128/25",
  "198.51.100.0/24",
  "203.0.113.0/24",
  "0.0.0.0/0",
  "2001:db8::/32",
  "2001:db8::/36",
  "2001:db8::/48",
  "2001:db8:1::/48",
  "2001:db8::/64",
  "::/0",
];
const UNIVERSE: Prefix[] = UNIVERSE_TEXT.map((text) => parsePrefix(text));
/** The IPv4-mapped IPv6 spellings of IPv4 prefixes: the same prefixes, written the other way. */
const MAPPED: Prefix[] = ["::ffff:10.0.0.0/104", "::ffff:10.0.0.0/120", "::ffff:198.51.100.0/120"].map((text) =>
  parsePrefix(text),
);
/** Not prefixes at all: host bits set, or a length above 128. */
const INVALID: Prefix[] = [
  { network: parsePrefix("10.0.0.1/32").network, length: 120 },
  { network: parsePrefix("2001:db8::1/128").network, length: 64 },
  { network: 0n, length: 129 },
];

function key(p: Prefix): string {
  return `${p.network}/${p.length}`;
}

/** Counts of what a run did and checked. */
export interface RunStats {
  sequences: number;
  steps: number;
  succeeded: number;
  reverted: number;
  /** Individual invariant assertions made (balances, escrows, registry answers, requests…). */
  invariantChecks: number;
  /** Requests the chain accepted; each was checked to be by a holder of all of its target. */
  requestsAccepted: number;
  /** Requests the chain refused because the requester did not hold the target. */
  ownershipRefusals: number;
  /** Orders settled; each was checked to be by a holder of all of its target at settlement. */
  ordersSettled: number;
  /**
   * Requests still pending at the end of a sequence, reclaimed then by their requesters once
   * their deadlines passed (not counted in `steps`): after that no service holds a token.
   */
  closingReclaims: number;
  /** Orders skipped, by `OrderSkipReason` name. */
  orderSkips: Map<string, number>;
  /** Reverts by custom error. */
  errors: Map<string, number>;
  /** Successful transactions by action. */
  actions: Map<string, number>;
}

export function emptyStats(): RunStats {
  return {
    sequences: 0,
    steps: 0,
    succeeded: 0,
    reverted: 0,
    invariantChecks: 0,
    requestsAccepted: 0,
    ownershipRefusals: 0,
    ordersSettled: 0,
    closingReclaims: 0,
    orderSkips: new Map(),
    errors: new Map(),
    actions: new Map(),
  };
}

export interface RunOptions {
  /** The first sequence's seed; sequence i uses seed + i. */
  seed: number;
  sequences: number;
  /** Steps per sequence. */
  steps: number;
  /** Called after every sequence. */
  onSequence?: (done: number, stats: RunStats) => void;
}

interface World {
  token: MitigationToken;
  tokenAddress: string;
  registry: PrefixRegistry;
  directory: ServiceDirectory;
  lens: HardeningLens;
  /** Every account the lens reads: the actors, the services, the directory. */
  accounts: string[];
  /** The accounts that pull tokens with an allowance: the services, then the directory. */
  spenders: string[];
  registrar: string;
  minter: string;
  /** Callers the actions draw from, honest or not. */
  actors: string[];
  /** The actors' private keys (the node's accounts), for signing orders. */
  keys: Map<string, Uint8Array>;
  /** The same keys as ethers wallets, for signing some orders as a victim agent does. */
  wallets: Map<string, Wallet>;
  chainId: bigint;
  serviceAddresses: string[];
  errorInterfaces: Interface[];
  baseBlock: number;
}

class Failure extends Error {}

function increment(map: Map<string, number>, name: string): void {
  map.set(name, (map.get(name) ?? 0) + 1);
}

/** The node's accounts' keys: the Hardhat network's HD accounts, derived as it derives them. */
function nodeKeys(addresses: string[]): Map<string, Uint8Array> {
  const config = network.config.accounts as HardhatNetworkHDAccountsConfig | unknown[];
  if (Array.isArray(config)) throw new Error("the hardening runner needs the Hardhat network's HD accounts");
  // The seed once (PBKDF2, slow), then each account's path from it.
  const root = HDNodeWallet.fromSeed(Mnemonic.fromPhrase(config.mnemonic, config.passphrase).computeSeed());
  const keys = new Map<string, Uint8Array>();
  for (let i = config.initialIndex; keys.size < addresses.length && i < config.initialIndex + config.count; i++) {
    const wallet = root.derivePath(`${config.path}/${i}`);
    if (addresses.includes(wallet.address)) keys.set(wallet.address, getBytes(wallet.privateKey));
  }
  if (keys.size !== addresses.length) throw new Error("not every actor is one of the node's HD accounts");
  return keys;
}

async function deployWorld(): Promise<{ world: World; model: MarketModel }> {
  const signers = await ethers.getSigners();
  const [admin, minter, registrar1, registrar2, p1, p2, v1, v2, v3, mallory, newcomer, outsider] = signers;
  const token = await ethers.deployContract("MitigationToken", ["Mitigation Token", "MIT", admin, minter]);
  const registry = await ethers.deployContract("PrefixRegistry", [admin, [registrar1, registrar2]]);
  const directory = await ethers.deployContract("ServiceDirectory", [token, registry]);
  const lens = await ethers.deployContract("HardeningLens");

  const model = new MarketModel(minter.address, await directory.getAddress());
  model.registrars.add(registrar1.address);
  model.registrars.add(registrar2.address);

  const participants = [p1, p2, v1, v2, v3, mallory];
  for (const [i, account] of participants.entries()) {
    await registry.connect(registrar1).registerParticipant(account, `participant ${i}`, "");
    model.status.set(account.address, Status.Active);
  }
  const allocations: [string, HardhatEthersSigner, number][] = [
    ["10.0.0.0/8", v1, 64496],
    ["2001:db8::/32", v2, 64497],
    ["192.0.2.0/24", p1, 64500],
    ["203.0.113.0/24", v3, 64498],
    ["198.51.100.0/24", mallory, 64499],
  ];
  for (const [text, holder, asn] of allocations) {
    const p = parsePrefix(text);
    await registry.connect(registrar2).allocate(p.network, p.length, holder, asn);
    model.registry.allocate(p, holder.address, asn);
  }

  const serviceAddresses: string[] = [];
  const offerings = [
    [
      { pricePerHour: 10n * ONE, maxDuration: 86_400, capacity: 10 },
      { pricePerHour: 0n, maxDuration: 3600, capacity: 1 },
    ],
    [{ pricePerHour: 7n * ONE + 1n, maxDuration: 7200, capacity: 3 }],
  ];
  for (const [i, provider] of [p1, p2].entries()) {
    await directory.connect(provider).createService();
    const address = await directory.serviceOf(provider);
    const service = await ethers.getContractAt("ProviderServiceContract", address, provider);
    const modelService: ModelService = {
      address,
      provider: provider.address,
      offerings: [],
      requestCount: 0n,
      requests: new Map(),
      orderEndpoint: "",
    };
    for (const o of offerings[i]) {
      await service.addOffering(0, o.pricePerHour, o.maxDuration, o.capacity);
      modelService.offerings.push({ ...o, active: true });
    }
    model.services.set(address, modelService);
    serviceAddresses.push(address);
  }

  for (const account of [v1, v2, v3, mallory, newcomer]) {
    await token.connect(minter).mint(account, 1000n * ONE);
    model.balances.set(account.address, 1000n * ONE);
    model.minted += 1000n * ONE;
  }
  const actors = [registrar1, minter, p1, p2, v1, v2, v3, mallory, newcomer, outsider];
  const spenders = [...serviceAddresses, await directory.getAddress()];
  for (const account of actors) {
    for (const spender of spenders) {
      await token.connect(account).approve(spender, MAX_UINT256);
      model.allowances.set(`${account.address}/${spender}`, MAX_UINT256);
    }
  }
  const keys = nodeKeys(actors.map((a) => a.address));

  const block = await ethers.provider.getBlock("latest");
  if (block === null) throw new Error("no latest block");
  model.now = block.timestamp;
  const world: World = {
    token,
    tokenAddress: await token.getAddress(),
    registry,
    directory,
    lens,
    // Tokens only ever reach the actors, the services and the directory: their balances must add
    // up to the supply.
    accounts: [...actors.map((s) => s.address), ...serviceAddresses, await directory.getAddress()],
    spenders,
    registrar: registrar1.address,
    minter: minter.address,
    actors: actors.map((s) => s.address),
    keys,
    wallets: new Map([...keys].map(([address, key]) => [address, new Wallet(ethers.hexlify(key))])),
    chainId: (await ethers.provider.getNetwork()).chainId,
    serviceAddresses,
    errorInterfaces: [
      registry.interface,
      directory.interface,
      token.interface,
      (await ethers.getContractFactory("ProviderServiceContract")).interface,
    ],
    baseBlock: block.number,
  };
  return { world, model };
}

/** The base model, cloned for each sequence (the chain side is an EVM snapshot). */
function cloneModel(base: MarketModel): MarketModel {
  const model = new MarketModel(base.minter, base.directory);
  model.now = base.now;
  base.registrars.forEach((r) => model.registrars.add(r));
  base.status.forEach((s, a) => model.status.set(a, s));
  base.balances.forEach((b, a) => model.balances.set(a, b));
  base.allowances.forEach((amount, key) => model.allowances.set(key, amount));
  base.minOrderSalt.forEach((salt, a) => model.minOrderSalt.set(a, salt));
  model.minted = base.minted;
  for (const route of base.registry.all()) {
    if (route.delegated) throw new Error("the base registry holds allocations only");
    model.registry.allocate(route, route.holder, route.originAsn);
  }
  for (const [address, s] of base.services) {
    model.services.set(address, {
      ...s,
      offerings: s.offerings.map((o) => ({ ...o })),
      requests: new Map([...s.requests].map(([id, r]) => [id, { ...r }])),
    });
  }
  return model;
}

/** JSON with bigints, for messages. */
function show(value: unknown): string {
  return JSON.stringify(value, (_, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
}

/** How an order's signature was made: right, or wrong in one of the ways a signature can be. */
type SignatureForm = "valid" | "high-s" | "raw-v" | "garbage" | "short";

/** A signed order, as a provider agent holds it between intake and settlement. */
interface PooledOrder {
  order: Order;
  signature: string;
  /** Whose key signed which digest, in which form (`signer` is unset for random bytes). */
  signer: string | undefined;
  digest: string;
  form: SignatureForm;
  /** What was wrong with it when signed, for the log. */
  flaw: string;
}

const ORDER_ENCODER = TypedDataEncoder.from(ORDER_TYPES);
const domainHashes = new Map<string, string>();
const structHashes = new WeakMap<Order, string>();

/**
 * An order's EIP-712 hash as the service at `service` computes it: under its own domain, whatever
 * service the order names (computed here from ethers' encoder, apart from `hashOrder`, which the
 * honest orders' hashes then agree with on chain).
 */
function orderHashAt(order: Order, chainId: bigint, service: string): string {
  const domainKey = `${chainId}/${service}`;
  let domain = domainHashes.get(domainKey);
  if (domain === undefined) {
    domain = TypedDataEncoder.hashDomain(orderDomain(chainId, service));
    domainHashes.set(domainKey, domain);
  }
  let struct = structHashes.get(order);
  if (struct === undefined) {
    struct = ORDER_ENCODER.hash(toOrderStruct(order));
    structHashes.set(order, struct);
  }
  return keccak256(concat(["0x1901", domain, struct]));
}

/** One run: a sequence of steps against one model. */
class Sequence {
  /** Picks the extra isHolder probes, apart from `random`, so that a seed replays alone. */
  private readonly probeRandom: Random;
  private readonly log: string[] = [];
  /** Signed orders the providers' agents took in and have not settled (as far as the runner knows). */
  private pool: PooledOrder[] = [];
  /** Orders settled in this sequence, the newest last, for replays. */
  private settledOrders: PooledOrder[] = [];
  /** Orders cancelled (one by one or below a salt) in this sequence: a settlement must skip them. */
  private cancelledOrders: PooledOrder[] = [];
  /** The random steps are over: `close` reclaims what is left in escrow. */
  private closing = false;

  constructor(
    private readonly world: World,
    private readonly model: MarketModel,
    private readonly random: Random,
    private readonly stats: RunStats,
    private readonly label: string,
  ) {
    this.probeRandom = new Random(random.next() ^ 0x9e3779b9);
  }

  private fail(message: string): never {
    throw new Failure(`${this.label}: ${message}\n  steps so far:\n    ${this.log.join("\n    ")}`);
  }

  private check(ok: boolean, what: () => string): void {
    this.stats.invariantChecks += 1;
    if (!ok) this.fail(what());
  }

  // --- reading and checking ---------------------------------------------------------------

  /**
   * Every request the model knows (direct ones, orders settled or cancelled) and every order
   * signed in this sequence, each with what `getRequest` must answer: an order never settled nor
   * cancelled is no request at all (status None).
   */
  private requestRefs(): { service: string; requestId: bigint; want: ModelRequest }[] {
    const refs = new Map<string, { service: string; requestId: bigint; want: ModelRequest }>();
    for (const s of this.model.services.values()) {
      for (const [id, want] of s.requests) refs.set(`${s.address}/${id}`, { service: s.address, requestId: id, want });
    }
    for (const { order } of [...this.pool, ...this.settledOrders]) {
      const id = orderRequestIdOf(order.requester, orderHashAt(order, this.world.chainId, order.service));
      const key = `${order.service}/${id}`;
      if (refs.has(key)) continue;
      refs.set(key, { service: order.service, requestId: id, want: noRequest(id, order.requester, ReqStatus.None) });
    }
    return [...refs.values()];
  }

  /**
   * Reads the chain in one call and checks every invariant against the model; with `registry`,
   * also reads every answer of the registry (a second call; only registry actions change them).
   */
  async checkInvariants(registry: boolean): Promise<void> {
    const { world, model } = this;
    const refs = this.requestRefs();
    const s = await world.lens.read(
      world.token,
      world.registry,
      world.accounts,
      world.spenders,
      world.serviceAddresses,
      refs.map(({ service, requestId }) => ({ service, requestId })),
    );

    // Token conservation: the balances of every account that ever holds tokens add up to the
    // supply, and the supply moved only by minting.
    let sum = 0n;
    world.accounts.forEach((account, i) => {
      sum += s.balances[i];
      this.check(
        s.balances[i] === model.balanceOf(account),
        () => `balance of ${account}: chain ${s.balances[i]}, model ${model.balanceOf(account)}`,
      );
      this.check(
        Number(s.statuses[i]) === Number(model.statusOf(account)),
        () => `status of ${account}: chain ${s.statuses[i]}, model ${model.statusOf(account)}`,
      );
      this.check(
        s.minOrderSalts[i] === model.minOrderSaltOf(account),
        () => `minOrderSalt of ${account}: chain ${s.minOrderSalts[i]}, model ${model.minOrderSaltOf(account)}`,
      );
      // Every pull took exactly its price from the allowance it used (an unlimited one stays so).
      world.spenders.forEach((spender, j) => {
        const chain = s.allowances[i * world.spenders.length + j];
        const want = model.allowanceOf(account, spender);
        this.check(chain === want, () => `allowance of ${account} to ${spender}: chain ${chain}, model ${want}`);
      });
    });
    this.check(s.totalSupply === sum, () => `conservation: supply ${s.totalSupply}, sum of balances ${sum}`);
    this.check(s.totalSupply === model.minted, () => `supply ${s.totalSupply}, minted ${model.minted}`);

    // Each service holds exactly the escrow of its pending requests.
    for (const service of model.services.values()) {
      const balance = s.balances[world.accounts.indexOf(service.address)];
      const escrow = model.escrowOf(service);
      this.check(balance === escrow, () => `service ${service.address}: balance ${balance}, open escrows ${escrow}`);
    }
    world.serviceAddresses.forEach((address, j) => {
      const want = model.serviceAt(address).orderEndpoint;
      this.check(
        s.orderEndpoints[j] === want,
        () => `orderEndpoint of ${address}: chain ${show(s.orderEndpoints[j])}, model ${show(want)}`,
      );
    });
    if (registry) await this.checkRegistry();

    // Every request as the model has it, and every order not settled as no request at all.
    refs.forEach(({ want, ...ref }, k) => {
      const got = s.requests[k];
      this.check(
        Number(got.status) === Number(want.status) &&
          got.price === want.price &&
          Number(got.startedAt) === want.startedAt &&
          Number(got.duration) === want.duration &&
          Number(got.offeringId) === want.offeringId &&
          Number(got.ackDeadline) === want.ackDeadline &&
          Number(got.endsAt) === (want.startedAt === 0 ? 0 : want.startedAt + want.duration) &&
          Number(got.rating) === want.rating &&
          got.requester === want.requester,
        () => `request ${ref.requestId} of ${ref.service}: chain ${got.toString()}, model ${show(want)}`,
      );
    });
  }

  /**
   * The registry's answers equal the model's: the covering prefix of every prefix of the
   * universe, and `isHolder` for its holder (by the model and by the chain) and one other actor.
   * (`isHolder` for an account that does not hold the covering prefix is false by the model; a
   * request by such an account that the chain accepted would fail the step's prediction.)
   */
  private async checkRegistry(): Promise<void> {
    const { world, model } = this;
    const random = this.probeRandom;
    const queries = UNIVERSE.map((p) => ({ network: p.network, prefixLength: p.length }));
    const first = await world.lens.readRegistry(world.registry, queries, [], []);
    const pairs: [string, number][] = [];
    UNIVERSE.forEach((prefix, j) => {
      const want = model.registry.covering(prefix);
      const got = first.covering[j];
      const same =
        want === undefined
          ? got.holder === ethers.ZeroAddress
          : got.holder === want.holder &&
            got.network === want.network &&
            Number(got.prefixLength) === want.length &&
            Number(got.originAsn) === want.originAsn &&
            got.delegated === want.delegated;
      this.check(same, () => `coveringPrefix(${UNIVERSE_TEXT[j]}): chain ${got.toString()}, model ${show(want)}`);
      const accounts = new Set([got.holder, random.pick(world.actors)]);
      if (want !== undefined) accounts.add(want.holder);
      accounts.delete(ethers.ZeroAddress);
      for (const account of accounts) pairs.push([account, j]);
    });
    const s = await world.lens.readRegistry(
      world.registry,
      queries,
      pairs.map(([account]) => account),
      pairs.map(([, j]) => j),
    );
    this.check(
      s.prefixCount === BigInt(model.registry.size),
      () => `prefixCount: chain ${s.prefixCount}, model ${model.registry.size}`,
    );
    this.check(
      (model.registry.lengthsInUse() & ~s.registeredLengths) === 0n,
      () =>
        `registeredLengths: chain ${s.registeredLengths.toString(2)} lacks a length in use, model ${model.registry.lengthsInUse().toString(2)}`,
    );
    pairs.forEach(([account, j], k) => {
      const prefix = UNIVERSE[j];
      const chain = s.held[k];
      const holds = model.holdsAll(account, prefix);
      // Exact in both directions: never "holds" what the account does not wholly hold, and never
      // refuses what it does.
      this.check(chain === holds, () => `isHolder(${account}, ${UNIVERSE_TEXT[j]}): chain ${chain}, model ${holds}`);
    });
  }

  /**
   * After the sequence: from the events, no request was settled (paid, rejected or reclaimed)
   * more than once, and each settlement moved the request's price; no order was settled more than
   * once, none was ever acknowledged, rejected or reclaimed as a request, and every order the
   * model has settled was settled on chain at its price, under its hash.
   */
  async checkSettlements(fromBlock: number): Promise<void> {
    const serviceInterface = this.world.errorInterfaces[3];
    const logs = await ethers.provider.getLogs({ address: this.world.serviceAddresses, fromBlock, toBlock: "latest" });
    const settled = new Map<string, number>();
    const ordersSettled = new Map<string, number>();
    let requested = 0;
    for (const log of logs) {
      const parsed = serviceInterface.parseLog(log);
      if (parsed === null) continue;
      const service = this.model.serviceAt(ethers.getAddress(log.address));
      if (parsed.name === "MitigationRequested") requested += 1;
      if (parsed.name === "OrderSettled") {
        const id = parsed.args.requestId as bigint;
        const r = service.requests.get(id);
        this.check(
          r !== undefined && r.orderHash === parsed.args.orderHash && r.price === parsed.args.price,
          () => `OrderSettled ${id} (hash ${parsed.args.orderHash}, price ${parsed.args.price}), model ${show(r)}`,
        );
        const k = `${log.address}/${id}`;
        ordersSettled.set(k, (ordersSettled.get(k) ?? 0) + 1);
        this.check(ordersSettled.get(k) === 1, () => `order ${id} settled twice`);
        continue;
      }
      let amount: bigint | undefined;
      if (parsed.name === "MitigationAcknowledged") amount = parsed.args.paid as bigint;
      if (parsed.name === "MitigationRejected" || parsed.name === "MitigationReclaimed") {
        amount = parsed.args.refunded as bigint;
      }
      if (amount === undefined) continue;
      const id = parsed.args.requestId as bigint;
      const r = service.requests.get(id);
      this.check(
        r !== undefined && r.orderHash === undefined,
        () => `${parsed.name} for ${r === undefined ? "unknown request" : "order"} ${id}`,
      );
      this.check(
        amount === r!.price,
        () => `${parsed.name} of request ${id} moved ${amount}, its price is ${r!.price}`,
      );
      const k = `${log.address}/${id}`;
      settled.set(k, (settled.get(k) ?? 0) + 1);
      this.check(settled.get(k) === 1, () => `request ${id} settled twice (${parsed.name})`);
    }
    let inModel = 0;
    let settledInModel = 0;
    let ordersInModel = 0;
    for (const s of this.model.services.values()) {
      for (const r of s.requests.values()) {
        if (r.orderHash !== undefined) {
          if (r.status !== ReqStatus.Cancelled) ordersInModel += 1;
          continue;
        }
        inModel += 1;
        if (r.status !== ReqStatus.Pending) settledInModel += 1;
      }
    }
    this.check(requested === inModel, () => `MitigationRequested events ${requested}, requests ${inModel}`);
    this.check(
      settled.size === settledInModel,
      () => `settlements ${settled.size}, settled requests ${settledInModel}`,
    );
    this.check(
      ordersSettled.size === ordersInModel,
      () => `OrderSettled events ${ordersSettled.size}, settled orders ${ordersInModel}`,
    );
  }

  /**
   * A settlement's logs, in order, are what the model said of each order: for a settled one its
   * price moving requester → provider (one Transfer, none for a free offering) then OrderSettled;
   * for a skipped one OrderSkipped with its reason, and nothing moved.
   */
  private async expectOrderLogs(
    txHash: string,
    service: ModelService,
    caller: string,
    inputs: readonly OrderInput[],
    outcomes: readonly OrderOutcome[],
  ): Promise<void> {
    const receipt = (await network.provider.send("eth_getTransactionReceipt", [txHash])) as {
      logs: { address: string; topics: string[]; data: string }[];
    };
    const token = this.world.tokenAddress;
    const got = receipt.logs.map((log) => {
      const address = ethers.getAddress(log.address);
      const parsed = (address === token ? this.world.token.interface : this.world.errorInterfaces[3]).parseLog(log);
      if (parsed === null || (address !== token && address !== service.address)) return `log of ${address}`;
      const a = parsed.args;
      if (parsed.name === "Transfer") return `Transfer ${a.from} → ${a.to} ${a.value}`;
      if (parsed.name === "OrderSettled") {
        return `OrderSettled ${a.requestId} ${a.orderHash} offering ${a.offeringId} price ${a.price} ${a.startedAt}-${a.endsAt}`;
      }
      if (parsed.name === "OrderSkipped")
        return `OrderSkipped ${a.orderHash} ${a.requester} ${OrderSkip[Number(a.reason)]}`;
      return parsed.name;
    });
    const want = outcomes.flatMap((outcome, i) => {
      const { order, hash } = inputs[i];
      if (!outcome.settled) return [`OrderSkipped ${hash} ${order.requester} ${OrderSkip[outcome.reason]}`];
      const { requestId, price, startedAt, endsAt } = outcome;
      const settled = `OrderSettled ${requestId} ${hash} offering ${order.offeringId} price ${price} ${startedAt}-${endsAt}`;
      return price === 0n ? [settled] : [`Transfer ${order.requester} → ${caller} ${price}`, settled];
    });
    this.check(
      got.length === want.length && got.every((line, i) => line === want[i]),
      () =>
        `settleOrders logs:\n      ${got.join("\n      ")}\n    the model predicted:\n      ${want.join("\n      ")}`,
    );
  }

  // --- sending ----------------------------------------------------------------------------

  private decode(data: unknown): string {
    if (typeof data !== "string" || data.length < 10) return `revert without an error (${String(data)})`;
    for (const i of this.world.errorInterfaces) {
      try {
        const parsed = i.parseError(data);
        if (parsed !== null) return parsed.name;
      } catch {
        // not this interface's error
      }
    }
    return `unknown error ${data.slice(0, 10)}`;
  }

  /**
   * Sends a transaction at the model's time and compares its outcome with the prediction; a
   * successful one is then passed to `verify` (with its hash) before the model applies it.
   */
  private async transact(
    name: string,
    from: string,
    to: string,
    data: string,
    predict: () => Prediction,
    registryAction = false,
    verify?: (txHash: string, prediction: Prediction) => Promise<void>,
  ): Promise<boolean> {
    const prediction = predict();
    await network.provider.send("evm_setNextBlockTimestamp", [this.model.now]);
    let error: string | undefined;
    let txHash = "";
    try {
      txHash = String(await network.provider.send("eth_sendTransaction", [{ from, to, data, gas: GAS }]));
    } catch (e) {
      const { data, message } = e as { data?: unknown; message?: string };
      error = this.decode(revertDataOf(e) ?? data);
      if (error.startsWith("revert without")) error += ` ${message ?? ""}`;
    }
    if (this.closing) this.stats.closingReclaims += 1;
    else this.stats.steps += 1;
    this.log.push(`t=${this.model.now} ${name} from ${from.slice(0, 8)}: ${error ?? "ok"}`);
    this.check(
      error === prediction.error,
      () =>
        `${name}: the chain ${error === undefined ? "succeeded" : `reverted with ${error}`}, the model predicted ${prediction.error ?? "success"}`,
    );
    if (error === undefined) {
      if (!this.closing) this.stats.succeeded += 1;
      increment(this.stats.actions, name);
      await verify?.(txHash, prediction);
      prediction.apply?.();
    } else {
      if (!this.closing) this.stats.reverted += 1;
      increment(this.stats.errors, error);
    }
    await this.checkInvariants(registryAction);
    return error === undefined;
  }

  // --- drawing actions --------------------------------------------------------------------

  private actor(): string {
    return this.random.pick(this.world.actors);
  }

  private participant(): string {
    const active = this.world.actors.filter((a) => this.model.statusOf(a) !== Status.None);
    return this.random.chance(0.9) && active.length > 0 ? this.random.pick(active) : this.actor();
  }

  private prefix(): Prefix {
    const roll = this.random.int(20);
    if (roll === 0) return this.random.pick(INVALID);
    if (roll <= 2) return this.random.pick(MAPPED);
    return this.random.pick(UNIVERSE);
  }

  /** A prefix `account` is likely to hold some or all of, or any. */
  private heldPrefix(account: string): Prefix {
    const mine = UNIVERSE.filter((p) => this.model.registry.holderOf(p) === account);
    return mine.length > 0 && this.random.chance(0.75) ? this.random.pick(mine) : this.prefix();
  }

  /** A random service; with `prefer`, one holding a request that `prefer` likes, if any. */
  private service(prefer?: (r: ModelRequest) => boolean): ModelService {
    const all = this.world.serviceAddresses.map((a) => this.model.serviceAt(a));
    const liked = prefer === undefined ? [] : all.filter((s) => [...s.requests.values()].some(prefer));
    return this.random.pick(liked.length > 0 ? liked : all);
  }

  /**
   * A request id of `service`: mostly an existing one (one that `prefer` likes, when any),
   * sometimes one of another service or one that was never made.
   */
  private requestId(service: ModelService, prefer?: (r: ModelRequest) => boolean): bigint {
    const roll = this.random.int(10);
    const liked = prefer === undefined ? [] : [...service.requests.values()].filter(prefer);
    if (liked.length > 0 && roll >= 2) return this.random.pick(liked).id;
    const all = [...service.requests.values()];
    if (roll === 0 || all.length === 0) return (BigInt(this.actor()) << 64n) | BigInt(1 + this.random.int(3));
    if (roll === 1) {
      const other = [...this.model.services.values()].flatMap((s) => [...s.requests.keys()]);
      if (other.length > 0) return this.random.pick(other);
    }
    const pending = all.filter((r) => r.status === ReqStatus.Pending);
    return (pending.length > 0 && this.random.chance(0.7) ? this.random.pick(pending) : this.random.pick(all)).id;
  }

  private asn(): number {
    return 64496 + this.random.int(16);
  }

  private duration(maxDuration: number): number {
    const roll = this.random.int(10);
    if (roll === 0) return 0;
    if (roll === 1) return maxDuration + 1 > UINT32_MAX ? UINT32_MAX : maxDuration + 1;
    if (roll === 2) return maxDuration;
    if (roll === 3) return UINT32_MAX;
    return 1 + this.random.int(Math.min(maxDuration, 7200));
  }

  /**
   * Request parameters: honest ones are valid in every respect the requester controls (an
   * active offering, a duration within it, the quoted price, a deadline in the window, canonical
   * sources, a target it holds the covering prefix of); dishonest ones push every field to its
   * edges and beyond.
   */
  private requestInput(service: ModelService, requester: string, honest: boolean): RequestInput {
    const { random, model } = this;
    const active = service.offerings.map((o, i) => (o.active ? i : -1)).filter((i) => i >= 0);
    const offeringId =
      honest && active.length > 0
        ? random.pick(active)
        : random.chance(0.85)
          ? random.int(service.offerings.length)
          : service.offerings.length + random.int(2);
    const offering = service.offerings[offeringId];
    const maxDuration = offering?.maxDuration ?? 3600;
    const duration = honest ? 1 + random.int(Math.min(maxDuration, 7200)) : this.duration(maxDuration);
    const price = offering === undefined ? 0n : priceOf(offering.pricePerHour, duration);
    const capped = price > UINT96_MAX ? UINT96_MAX : price;
    const roll = random.int(10);
    const maxPrice = honest || roll > 2 ? capped : roll === 0 ? (price > 0n ? capped - 1n : 0n) : UINT96_MAX;
    const deadlineRoll = honest ? 3 : random.int(8);
    const ackDeadline =
      deadlineRoll === 0
        ? model.now
        : deadlineRoll === 1
          ? model.now + MAX_ACK_WINDOW + 1
          : deadlineRoll === 2
            ? model.now + MAX_ACK_WINDOW
            : model.now + 1 + random.int(7200);
    const sourceRoll = honest ? 5 : random.int(12);
    const sourceCount = sourceRoll === 0 ? 0 : sourceRoll === 1 ? 65 : 1 + random.int(3);
    const sources = Array.from({ length: sourceCount }, () =>
      !honest && random.chance(0.1) ? random.pick(INVALID) : random.pick(UNIVERSE),
    );
    const target = honest || random.chance(0.5) ? this.heldPrefix(requester) : this.prefix();
    return { offeringId, target, sources, duration, maxPrice, ackDeadline };
  }

  /** An actor that holds the covering prefix of some prefix of the universe, if any. */
  private holderActor(): string {
    const holders = this.world.actors.filter((a) => UNIVERSE.some((p) => this.model.registry.holderOf(p) === a));
    return holders.length > 0 ? this.random.pick(holders) : this.actor();
  }

  /** Whether the requester holds all of the target (the invariants hold the chain to the same answer). */
  private chainHolds(requester: string, target: Prefix): boolean {
    return this.model.holdsAll(requester, target);
  }

  private encodeParams(p: RequestInput): IProviderServiceContract.RequestParamsStruct {
    return {
      offeringId: p.offeringId,
      target: { network: p.target.network, prefixLength: p.target.length },
      sources: p.sources.map((s) => ({ network: s.network, prefixLength: s.length })),
      duration: p.duration,
      maxPrice: p.maxPrice,
      ackDeadline: p.ackDeadline,
    };
  }

  /** Ownership safety on every accepted request, independent of the registry's own answer. */
  private expectHolder(requester: string, target: Prefix): void {
    this.stats.requestsAccepted += 1;
    this.check(
      this.model.holdsAll(requester, target),
      () => `a request by ${requester} for ${key(target)} was accepted, but it does not hold all of it`,
    );
  }

  private countRefusal(prediction: Prediction): void {
    if (prediction.error === "ProviderServiceNotHolder" || prediction.error === "ProviderServiceTargetNotWhollyHeld") {
      this.stats.ownershipRefusals += 1;
    }
  }

  // --- signed orders ----------------------------------------------------------------------

  /** The service other than `service` (there are two). */
  private otherService(service: ModelService): ModelService {
    return this.model.serviceAt(this.world.serviceAddresses.find((a) => a !== service.address)!);
  }

  /** `count` random bytes as hex. */
  private randomHex(count: number): string {
    let hex = "0x";
    while (hex.length < 2 + 2 * count) hex += this.random.next().toString(16).padStart(8, "0");
    return hex.slice(0, 2 + 2 * count);
  }

  /** `signer`'s signature over `digest` in `form` (the native secp256k1 signs in low-s form). */
  private signDigest(signer: string, digest: string, form: SignatureForm): string {
    if (form === "garbage") return this.randomHex(65);
    const { signature, recid } = ecdsaSign(getBytes(digest), this.world.keys.get(signer)!);
    if (form === "short") return ethers.hexlify(signature);
    if (form === "raw-v") return concat([signature, new Uint8Array([recid])]);
    if (form === "valid") return concat([signature, new Uint8Array([27 + recid])]);
    // The same point's other signature: s → n - s with the other recovery id. ecrecover takes it;
    // the contract must not (EIP-2).
    const high = CURVE_N - BigInt(ethers.hexlify(signature.subarray(32)));
    return concat([signature.subarray(0, 32), ethers.toBeHex(high, 32), new Uint8Array([28 - recid])]);
  }

  /**
   * A newly signed order for `service`. An honest one: an actor holding a prefix orders at the
   * quoted price, expiring in 30 s to three hours (a step or many: the model's clock moves in
   * jumps), with a salt from the clock, signed by itself. A
   * dishonest one has terms at the edges (requestInput's) and one flaw or none: another signer, a
   * high s, a raw v, random bytes, 64 bytes, another chain's or service's domain, the provider as
   * requester, a contract as requester, an expiry past (or exactly now), a tiny salt.
   */
  private async newOrder(service: ModelService, honest: boolean): Promise<PooledOrder> {
    const { random, model, world } = this;
    let requester = honest ? this.holderActor() : this.actor();
    const p = this.requestInput(service, requester, honest);
    const expiryRoll = honest ? 9 : random.int(10);
    const expiry =
      expiryRoll === 0
        ? model.now - 1 - random.int(600)
        : expiryRoll === 1
          ? model.now
          : expiryRoll === 2
            ? 2 ** 40 - 1
            : model.now + 30 + random.int(3 * 3600);
    let salt = (BigInt(model.now) << 64n) | (BigInt(random.next()) << 32n) | BigInt(random.next());
    let signer: string | undefined = requester;
    let chainId = world.chainId;
    let domain = service.address;
    let form: SignatureForm = "valid";
    let flaw = honest ? "honest" : "edges";
    if (!honest) {
      const roll = random.int(14);
      if (roll === 0) [signer, flaw] = [random.pick(world.actors.filter((a) => a !== requester)), "wrong signer"];
      else if (roll === 1) [form, flaw] = ["high-s", "high s"];
      else if (roll === 2) [form, flaw] = ["raw-v", "raw v"];
      else if (roll === 3) [form, signer, flaw] = ["garbage", undefined, "random signature"];
      else if (roll === 4) [form, flaw] = ["short", "64-byte signature"];
      else if (roll === 5) [chainId, flaw] = [1n, "chain 1's domain"];
      else if (roll === 6) [domain, flaw] = [this.otherService(service).address, "the other service's domain"];
      else if (roll === 7) [requester, signer, flaw] = [service.provider, service.provider, "by the provider"];
      else if (roll === 8) [requester, flaw] = [world.serviceAddresses[0], "a contract as requester"];
      else if (roll === 9) [salt, flaw] = [BigInt(random.int(3)), "tiny salt"];
      if (flaw === "a contract as requester") signer = this.actor();
    }
    const order: Order = {
      service: service.address,
      requester,
      offeringId: p.offeringId,
      target: p.target,
      sources: p.sources,
      duration: p.duration,
      maxPrice: p.maxPrice,
      expiry,
      salt,
    };
    const digest = signer === undefined ? ethers.ZeroHash : orderHashAt(order, chainId, domain);
    // Some honest orders are signed as a victim agent signs them (ethers' EIP-712 signer), the
    // rest with the native secp256k1 (fast): both must give what the contract takes.
    const signature =
      honest && random.chance(0.1)
        ? (await signOrder(world.wallets.get(requester)!, order, world.chainId)).signature
        : this.signDigest(signer ?? requester, digest, form);
    return { order, signature, signer, digest, form, flaw };
  }

  /** How the settling service sees an order: its hash there, and whether its requester signed that. */
  private orderInput(pooled: PooledOrder, service: ModelService): OrderInput {
    const hash = orderHashAt(pooled.order, this.world.chainId, service.address);
    const valid = pooled.form === "valid" && pooled.digest === hash;
    return { order: pooled.order, hash, signer: valid ? pooled.signer : undefined };
  }

  private describeOrder({ order, flaw }: PooledOrder): string {
    return `${order.requester.slice(0, 8)} salt ${order.salt} (${flaw})`;
  }

  /** Keeps the pools bounded: the oldest go. */
  private trimPools(): void {
    if (this.pool.length > MAX_POOL) this.pool = this.pool.slice(-MAX_POOL);
    if (this.settledOrders.length > MAX_POOL) this.settledOrders = this.settledOrders.slice(-MAX_POOL);
    if (this.cancelledOrders.length > MAX_POOL) this.cancelledOrders = this.cancelledOrders.slice(-MAX_POOL);
  }

  /**
   * New orders reach the providers' intake (most for one service, some for the other); then that
   * service's provider — or, now and then, someone else — settles a batch: some of the orders
   * waiting for it, now and then one of the other service's, a replay of a settled order, a
   * duplicate within the batch, a signature too few or too many.
   */
  private async settleStep(honest: boolean): Promise<void> {
    const { random, model, world } = this;
    // Orders cancelled since the last settlement wait for the next one, as in an agent that missed it.
    const cancelledAt =
      this.cancelledOrders.length > 0 && random.chance(0.7) ? random.pick(this.cancelledOrders) : undefined;
    const service = cancelledAt !== undefined ? model.serviceAt(cancelledAt.order.service) : this.service();
    const caller = honest || random.chance(0.6) ? service.provider : this.actor();
    const fresh = 1 + random.int(2);
    for (let i = 0; i < fresh; i++) {
      const target = random.chance(0.85) ? service : this.otherService(service);
      this.pool.push(await this.newOrder(target, random.chance(0.6)));
    }
    const waiting = this.pool.filter((o) => o.order.service === service.address);
    const batch = waiting.filter(() => random.chance(0.6)).slice(-(MAX_BATCH - 2));
    const elsewhere = this.pool.filter((o) => o.order.service !== service.address);
    if (elsewhere.length > 0 && random.chance(0.1)) batch.push(random.pick(elsewhere));
    // An agent that missed a cancellation: the chain must not.
    if (cancelledAt !== undefined) {
      batch.splice(random.int(batch.length + 1), 0, cancelledAt);
      this.cancelledOrders = this.cancelledOrders.filter((o) => o !== cancelledAt);
    }
    if (this.settledOrders.length > 0 && random.chance(0.35)) {
      batch.splice(random.int(batch.length + 1), 0, random.pick(this.settledOrders));
    }
    if (batch.length > 0 && random.chance(0.15)) batch.splice(random.int(batch.length + 1), 0, random.pick(batch));
    if (batch.length === 0 && waiting.length > 0 && (honest || random.chance(0.7))) batch.push(random.pick(waiting));
    const signatures = batch.map((o) => o.signature);
    if (!honest && random.chance(0.04)) {
      if (signatures.length > 0 && random.chance(0.5)) signatures.pop();
      else signatures.push(this.randomHex(65));
    }
    const inputs = batch.map((o) => this.orderInput(o, service));
    this.log.push(`  batch: ${batch.map((o) => this.describeOrder(o)).join("; ")}`);
    await this.transact(
      "settleOrders",
      caller,
      service.address,
      world.errorInterfaces[3].encodeFunctionData("settleOrders", [
        batch.map((o) => toOrderStruct(o.order)),
        signatures,
      ]),
      () => model.predictSettleOrders(caller, service, inputs, signatures.length),
      false,
      async (txHash, prediction) => {
        const outcomes = prediction.orders!;
        await this.expectOrderLogs(txHash, service, caller, inputs, outcomes);
        outcomes.forEach((outcome, i) => {
          if (outcome.settled) {
            this.expectOrderHolder(batch[i].order);
            this.pool = this.pool.filter((o) => o !== batch[i]);
            if (!this.settledOrders.includes(batch[i])) this.settledOrders.push(batch[i]);
          } else {
            // Cancelled one by one (recorded at the service), or voided below the requester's minimum salt.
            const one = service.requests.get(orderRequestIdOf(inputs[i].order.requester, inputs[i].hash));
            const voided = outcome.reason === OrderSkip.Cancelled && one?.status !== ReqStatus.Cancelled;
            increment(this.stats.orderSkips, voided ? "CancelledUpTo" : OrderSkip[outcome.reason]);
          }
        });
      },
    );
    this.trimPools();
  }

  /** Ownership safety on every settled order, independent of the registry's own answer. */
  private expectOrderHolder(order: Order): void {
    this.stats.ordersSettled += 1;
    this.check(
      this.model.holdsAll(order.requester, order.target) && this.model.statusOf(order.requester) === Status.Active,
      () =>
        `an order by ${order.requester} for ${key(order.target)} was settled, but it is not an active holder of all of it`,
    );
  }

  /** An actor that signed one of the waiting orders, if any (the victim whose order is in flight). */
  private orderActor(): { actor: string; pooled?: PooledOrder } {
    const signed = this.pool.filter((o) => this.world.actors.includes(o.order.requester));
    // Mostly a sound order: what happens to it between intake and settlement decides its fate.
    const sound = signed.filter((o) => o.flaw === "honest");
    const mine = sound.length > 0 && this.random.chance(0.7) ? sound : signed;
    if (mine.length === 0) return { actor: this.actor() };
    const pooled = this.random.pick(mine);
    return { actor: pooled.order.requester, pooled };
  }

  /** A requester cancels one of its orders (waiting or settled), or someone else tries to. */
  private async cancelStep(honest: boolean): Promise<void> {
    const { random, model, world } = this;
    // An honest requester cancels one of its own sound orders (that only the cancellation stops).
    const sound = this.pool.filter((o) => o.flaw === "honest");
    const candidates = honest ? sound : [...this.pool, ...this.settledOrders];
    if (candidates.length === 0) this.pool.push(await this.newOrder(this.service(), true));
    const pooled = random.pick(candidates.length > 0 ? candidates : this.pool);
    const named = model.serviceAt(pooled.order.service);
    const service = honest || random.chance(0.8) ? named : this.otherService(named);
    const requester = pooled.order.requester;
    const caller = (honest || random.chance(0.5)) && world.actors.includes(requester) ? requester : this.actor();
    const hash = orderHashAt(pooled.order, world.chainId, service.address);
    this.log.push(`  cancel: ${this.describeOrder(pooled)}`);
    const cancelled = await this.transact(
      "cancelOrder",
      caller,
      service.address,
      world.errorInterfaces[3].encodeFunctionData("cancelOrder", [toOrderStruct(pooled.order)]),
      () => model.predictCancelOrder(caller, service, pooled.order, hash),
    );
    if (cancelled) this.cancelledOrders.push(pooled);
    this.trimPools();
  }

  /** A participant voids its orders below a salt, at every service (the registry's minimum). */
  private async cancelUpToStep(honest: boolean): Promise<void> {
    const { random, model, world } = this;
    const { actor, pooled } = honest ? this.orderActor() : { actor: this.actor(), pooled: undefined };
    const current = model.minOrderSaltOf(actor);
    const roll = random.int(10);
    let minSalt = honest
      ? pooled !== undefined && roll < 7
        ? pooled.order.salt + 1n
        : BigInt(model.now) << 64n
      : roll < 3
        ? current
        : roll < 6
          ? current + 1n
          : roll < 7
            ? 0n
            : roll < 8
              ? UINT248_MAX
              : BigInt(model.now - random.int(3600)) << 64n;
    if (minSalt > UINT248_MAX) minSalt = UINT248_MAX;
    const raised = await this.transact(
      "cancelOrdersUpTo",
      actor,
      await world.registry.getAddress(),
      world.registry.interface.encodeFunctionData("cancelOrdersUpTo", [minSalt]),
      () => model.predictCancelOrdersUpTo(actor, minSalt),
    );
    if (raised) {
      const voided = this.pool.filter((o) => o.order.requester === actor && o.order.salt < minSalt);
      this.cancelledOrders.push(...voided);
      this.trimPools();
    }
  }

  /** An account changes what a service (or the directory) may pull: none, a little, or all. */
  private async approveStep(honest: boolean): Promise<void> {
    const { random, model, world } = this;
    const { actor, pooled } = honest ? this.orderActor() : { actor: this.actor(), pooled: undefined };
    const spender = pooled !== undefined && random.chance(0.8) ? pooled.order.service : random.pick(world.spenders);
    const restore = model.allowanceOf(actor, spender) !== MAX_UINT256 && random.chance(0.5);
    const roll = random.int(10);
    const amount = restore || roll >= 6 ? MAX_UINT256 : roll < 3 ? 0n : BigInt(random.int(30)) * ONE + 1n;
    await this.transact(
      "approve",
      actor,
      world.tokenAddress,
      world.token.interface.encodeFunctionData("approve", [spender, amount]),
      () => model.predictApprove(actor, spender, amount),
    );
  }

  /** An account moves tokens to another: all of them, half, or more than it has. */
  private async transferStep(honest: boolean): Promise<void> {
    const { random, model, world } = this;
    const { actor } = honest ? this.orderActor() : { actor: this.actor() };
    const to = random.pick(world.actors);
    const balance = model.balanceOf(actor);
    const roll = random.int(10);
    const amount = roll < 5 ? balance : roll < 8 ? balance / 2n : roll < 9 ? balance + 1n : 0n;
    await this.transact(
      "transfer",
      actor,
      world.tokenAddress,
      world.token.interface.encodeFunctionData("transfer", [to, amount]),
      () => model.predictTransfer(actor, to, amount),
    );
  }

  /** A provider publishes (or stops publishing) where its agent takes orders. */
  private async endpointStep(honest: boolean): Promise<void> {
    const { random, model, world } = this;
    const service = this.service();
    const caller = honest ? service.provider : this.actor();
    const roll = random.int(8);
    // Bytes, not characters, are bounded: 129 two-byte characters are too many.
    const endpoint =
      roll === 0
        ? ""
        : roll === 1
          ? "h".repeat(MAX_ENDPOINT_LENGTH + 1)
          : roll === 2
            ? "é".repeat(MAX_ENDPOINT_LENGTH / 2 + 1)
            : roll === 3
              ? "é".repeat(MAX_ENDPOINT_LENGTH / 2)
              : `https://orders-${random.int(100)}.provider.example/v1/orders`;
    await this.transact(
      "setOrderEndpoint",
      caller,
      service.address,
      world.errorInterfaces[3].encodeFunctionData("setOrderEndpoint", [endpoint]),
      () => model.predictSetOrderEndpoint(caller, service, endpoint),
    );
  }

  /** An action's name, marked when it acts on a mitigation that a signed order started. */
  private onOrder(name: string, service: ModelService, id: bigint): string {
    return service.requests.get(id)?.orderHash === undefined ? name : `${name} (order)`;
  }

  /**
   * `prefer`, or half the time, when a mitigation started by a signed order that `prefer` likes
   * exists, only those: steps on running mitigations reach both kinds.
   */
  private mixed(prefer: (r: ModelRequest) => boolean): (r: ModelRequest) => boolean {
    const ordered = (r: ModelRequest): boolean => r.orderHash !== undefined && prefer(r);
    const any = [...this.model.services.values()].some((s) => [...s.requests.values()].some(ordered));
    return any && this.random.chance(0.5) ? ordered : prefer;
  }

  /**
   * Feedback on a mitigation that started (by acknowledgement or by settlement): the provider
   * reports its status, the requester reports the attack's or rates it (once); honest codes are
   * in range, dishonest ones at and past the edges, on any request by anyone.
   */
  private async feedbackStep(honest: boolean, started: (r: ModelRequest) => boolean): Promise<void> {
    const { random, model, world } = this;
    const serviceI = world.errorInterfaces[3];
    const prefer = honest ? this.mixed(started) : undefined;
    const service = this.service(prefer);
    const id = this.requestId(service, prefer);
    const requester = ethers.getAddress(ethers.toBeHex(id >> 64n, 20));
    const code = (max: number): number => {
      if (honest) return 1 + random.int(max);
      const roll = random.int(6);
      return roll === 0 ? 0 : roll === 1 ? max + 1 : roll === 2 ? 255 : 1 + random.int(max);
    };
    const what = random.int(3);
    if (what === 0) {
      const caller = honest ? service.provider : this.actor();
      const status = code(DOTS_STATUS_MAX);
      const dropped = BigInt(random.next());
      await this.transact(
        this.onOrder("reportStatus", service, id),
        caller,
        service.address,
        serviceI.encodeFunctionData("reportStatus", [id, status, dropped * 1500n, dropped]),
        () => model.predictReportStatus(caller, service, id, status),
      );
      return;
    }
    const caller = honest || random.chance(0.5) ? requester : this.actor();
    if (what === 1) {
      const attack = code(ATTACK_STATUS_MAX);
      await this.transact(
        this.onOrder("reportAttackStatus", service, id),
        caller,
        service.address,
        serviceI.encodeFunctionData("reportAttackStatus", [id, attack]),
        () => model.predictReportAttackStatus(caller, service, id, attack),
      );
      return;
    }
    const rating = code(RATING_MAX);
    await this.transact(
      this.onOrder("rate", service, id),
      caller,
      service.address,
      serviceI.encodeFunctionData("rate", [id, rating]),
      () => model.predictRate(caller, service, id, rating),
    );
  }

  /**
   * Nothing stuck: once every acknowledgement deadline has passed, each requester reclaims every
   * request still pending (each checked as a step), and then no service holds a single token —
   * signed orders never pass through one, and every escrow can be got back.
   */
  async close(): Promise<void> {
    const { model, world } = this;
    this.closing = true;
    const pending = [...model.services.values()].flatMap((service) =>
      [...service.requests.values()].filter((r) => r.status === ReqStatus.Pending).map((r) => ({ service, r })),
    );
    if (pending.length > 0) model.now = Math.max(model.now, ...pending.map(({ r }) => r.ackDeadline));
    for (const { service, r } of pending) {
      model.now += 1; // one block each
      const reclaimed = await this.transact(
        "reclaimAtEnd",
        r.requester,
        service.address,
        world.errorInterfaces[3].encodeFunctionData("reclaim", [r.id]),
        () => model.predictReclaim(r.requester, service, r.id),
      );
      this.check(reclaimed, () => `request ${r.id} of ${service.address} could not be reclaimed after its deadline`);
    }
    for (const service of model.services.values()) {
      // The invariants just checked hold the chain's balance to this.
      const escrow = model.escrowOf(service);
      this.check(escrow === 0n, () => `service ${service.address} still holds ${escrow} after every reclaim`);
    }
  }

  /** One random step. */
  async step(): Promise<void> {
    const { random, model, world } = this;
    const dtRoll = random.int(20);
    model.now += dtRoll < 14 ? 1 : dtRoll < 17 ? 60 + random.int(1200) : dtRoll < 19 ? 3600 + random.int(3600) : 86_401;
    const honest = random.chance(0.6);
    const registry = world.registry.interface;
    const directory = world.directory.interface;
    const serviceI = world.errorInterfaces[3];
    const registryAddress = await world.registry.getAddress();
    // 0-99: direct requests, the registry, the token, offerings; 100-124: signed orders; 125-134:
    // reports and ratings on running (or withdrawn) mitigations, direct or ordered.
    let roll = random.int(135);
    // Acting on requests when there are none yet: make one first.
    const anyRequest = [...model.services.values()].some((sv) => sv.requests.size > 0);
    if (roll >= 29 && roll < 63 && !anyRequest && honest) roll = random.int(29);
    // Withdrawing when nothing runs: acknowledge something first.
    const running = [...model.services.values()].some((sv) =>
      [...sv.requests.values()].some(
        (r) => r.status === ReqStatus.Acknowledged && r.startedAt + r.duration > model.now,
      ),
    );
    // Withdrawing, reporting or rating when nothing runs: start something first (acknowledge a
    // request, or settle orders).
    const startSomething = (): number => (random.chance(0.5) ? 29 + random.int(16) : 100 + random.int(13));
    if (roll >= 56 && roll < 63 && !running && honest && anyRequest) roll = startSomething();
    const started = (r: ModelRequest): boolean =>
      r.status === ReqStatus.Acknowledged || r.status === ReqStatus.Withdrawn;
    if (roll >= 125 && honest && ![...model.services.values()].some((sv) => [...sv.requests.values()].some(started))) {
      roll = startSomething();
    }
    // Mitigations run for a few steps only: while one does, act on it more often.
    if (running && honest && random.chance(0.2)) roll = random.chance(0.5) ? 56 + random.int(7) : 125 + random.int(10);
    // An order cancelled: a settlement comes soon after (before it expires), and must skip it.
    if (this.cancelledOrders.length > 0 && honest && random.chance(0.6)) roll = 100;

    if (roll < 24) {
      const service = this.service();
      const requester = honest ? this.holderActor() : this.actor();
      const p = this.requestInput(service, requester, honest);
      const holds = this.chainHolds(requester, p.target);
      let prediction: Prediction = {};
      const ok = await this.transact(
        "request",
        requester,
        service.address,
        serviceI.encodeFunctionData("request", [this.encodeParams(p)]),
        () => (prediction = model.predictRequest(requester, service, p, holds)),
      );
      if (ok) this.expectHolder(requester, p.target);
      else this.countRefusal(prediction);
    } else if (roll < 29) {
      const requester = honest ? this.holderActor() : this.actor();
      const count = !honest && random.chance(0.1) ? 0 : 1 + random.int(3);
      const batch = Array.from({ length: count }, () => {
        const service = !honest && random.chance(0.1) ? undefined : this.service();
        const params = this.requestInput(service ?? this.service(), requester, honest);
        return { service, params, chainHolds: this.chainHolds(requester, params.target) };
      });
      const encoded = batch.map((b) => ({
        service: b.service?.address ?? world.registry.target,
        params: this.encodeParams(b.params),
      }));
      const ok = await this.transact(
        "requestMany",
        requester,
        await world.directory.getAddress(),
        directory.encodeFunctionData("requestMany", [encoded]),
        () => model.predictRequestMany(requester, batch),
      );
      if (ok) batch.forEach((b) => this.expectHolder(requester, b.params.target));
    } else if (roll < 45) {
      const prefer = (r: ModelRequest): boolean => r.status === ReqStatus.Pending && r.ackDeadline >= model.now;
      const service = this.service(honest ? prefer : undefined);
      const caller = honest ? service.provider : this.actor();
      const batch = random.chance(0.3);
      const ids = batch
        ? Array.from({ length: !honest && random.chance(0.1) ? 0 : 1 + random.int(3) }, () =>
            this.requestId(service, honest ? prefer : undefined),
          )
        : [this.requestId(service, honest ? prefer : undefined)];
      await this.transact(
        batch ? "acknowledgeBatch" : "acknowledge",
        caller,
        service.address,
        batch
          ? serviceI.encodeFunctionData("acknowledgeBatch", [ids])
          : serviceI.encodeFunctionData("acknowledge", [ids[0]]),
        () => model.predictAcknowledge(caller, service, ids, batch),
      );
    } else if (roll < 50) {
      const prefer = (r: ModelRequest): boolean => r.status === ReqStatus.Pending;
      const service = this.service(honest ? prefer : undefined);
      const caller = honest ? service.provider : this.actor();
      const id = this.requestId(service, honest ? prefer : undefined);
      await this.transact(
        "reject",
        caller,
        service.address,
        serviceI.encodeFunctionData("reject", [id, random.int(5)]),
        () => model.predictReject(caller, service, id),
      );
    } else if (roll < 56) {
      const prefer = (r: ModelRequest): boolean => r.status === ReqStatus.Pending && r.ackDeadline < model.now;
      const service = this.service(honest ? prefer : undefined);
      const id = this.requestId(service, honest ? prefer : undefined);
      const caller = honest ? ethers.getAddress(ethers.toBeHex(id >> 64n, 20)) : this.actor();
      await this.transact("reclaim", caller, service.address, serviceI.encodeFunctionData("reclaim", [id]), () =>
        model.predictReclaim(caller, service, id),
      );
    } else if (roll < 63) {
      const prefer = this.mixed((r) => r.status === ReqStatus.Acknowledged && r.startedAt + r.duration > model.now);
      const service = this.service(honest ? prefer : undefined);
      const id = this.requestId(service, honest ? prefer : undefined);
      const caller = honest ? ethers.getAddress(ethers.toBeHex(id >> 64n, 20)) : this.actor();
      await this.transact(
        this.onOrder("withdraw", service, id),
        caller,
        service.address,
        serviceI.encodeFunctionData("withdraw", [id]),
        () => model.predictWithdraw(caller, service, id),
      );
    } else if (roll < 68) {
      const caller = honest ? world.registrar : this.actor();
      const prefix = this.prefix();
      const holder = this.participant();
      const asn = this.asn();
      await this.transact(
        "allocate",
        caller,
        registryAddress,
        registry.encodeFunctionData("allocate", [prefix.network, prefix.length, holder, asn]),
        () => model.predictAllocate(caller, prefix, holder, asn),
        true,
      );
    } else if (roll < 75) {
      const caller = honest ? this.participant() : this.actor();
      const prefix = random.chance(0.8) ? this.heldPrefix(caller) : this.prefix();
      const to = this.participant();
      const asn = this.asn();
      await this.transact(
        "delegate",
        caller,
        registryAddress,
        registry.encodeFunctionData("delegate", [prefix.network, prefix.length, to, asn]),
        () => model.predictDelegate(caller, prefix, to, asn),
        true,
      );
    } else if (roll < 80) {
      const registered = model.registry.all();
      const prefix = registered.length > 0 && random.chance(0.8) ? random.pick(registered) : this.prefix();
      const parent = model.registry.parent(prefix);
      const caller = honest
        ? random.chance(0.5) && parent !== undefined
          ? parent.holder
          : world.registrar
        : this.actor();
      await this.transact(
        "revoke",
        caller,
        registryAddress,
        registry.encodeFunctionData("revoke", [prefix.network, prefix.length]),
        () => model.predictRevoke(caller, prefix),
        true,
      );
    } else if (roll < 85) {
      const caller = honest ? world.registrar : this.actor();
      const suspended = world.actors.filter((a) => model.statusOf(a) === Status.Suspended);
      const suspend = honest ? suspended.length === 0 || random.chance(0.5) : random.chance(0.5);
      const account = honest && !suspend ? random.pick(suspended) : this.participant();
      await this.transact(
        suspend ? "suspend" : "reinstate",
        caller,
        registryAddress,
        suspend
          ? registry.encodeFunctionData("suspendParticipant", [account])
          : registry.encodeFunctionData("reinstateParticipant", [account]),
        () => (suspend ? model.predictSuspend(caller, account) : model.predictReinstate(caller, account)),
      );
    } else if (roll < 87) {
      const caller = honest ? world.registrar : this.actor();
      const account = random.pick(world.actors);
      await this.transact(
        "register",
        caller,
        registryAddress,
        registry.encodeFunctionData("registerParticipant", [account, "Random Networks", ""]),
        () => model.predictRegister(caller, account),
      );
    } else if (roll < 90) {
      const caller = honest ? world.minter : this.actor();
      const to = random.pick(world.actors);
      const amount = BigInt(random.int(500)) * ONE + BigInt(random.int(1000));
      await this.transact(
        "mint",
        caller,
        await world.token.getAddress(),
        world.token.interface.encodeFunctionData("mint", [to, amount]),
        () => model.predictMint(caller, to, amount),
      );
    } else if (roll >= 125) {
      await this.feedbackStep(honest, started);
    } else if (roll >= 100) {
      if (roll < 113) await this.settleStep(honest);
      else if (roll < 116) await this.cancelStep(honest);
      else if (roll < 119) await this.cancelUpToStep(honest);
      else if (roll < 121) await this.approveStep(honest);
      else if (roll < 123) await this.transferStep(honest);
      else await this.endpointStep(honest);
    } else {
      const service = this.service();
      const caller = honest ? service.provider : this.actor();
      const priceRoll = random.int(8);
      const pricePerHour =
        priceRoll === 0 ? 0n : priceRoll === 1 ? UINT96_MAX : priceRoll === 2 ? 1n : BigInt(1 + random.int(50)) * ONE;
      const terms = {
        pricePerHour,
        maxDuration: random.chance(0.1) ? 0 : random.chance(0.1) ? UINT32_MAX : 60 + random.int(86_400),
        capacity: random.chance(0.1) ? 0 : random.chance(0.1) ? UINT32_MAX : 1 + random.int(20),
      };
      const what = random.int(3);
      const offeringId = random.int(service.offerings.length + 1);
      if (what === 0 && service.offerings.length < 6) {
        await this.transact(
          "addOffering",
          caller,
          service.address,
          serviceI.encodeFunctionData("addOffering", [
            random.int(4),
            terms.pricePerHour,
            terms.maxDuration,
            terms.capacity,
          ]),
          () => model.predictAddOffering(caller, service, terms),
        );
      } else if (what === 1) {
        // A price raised (or lowered) between a victim's quote and its request's inclusion: the
        // victim's maximum holds (ProviderServicePriceAboveMaximum), as the model predicts.
        await this.transact(
          "updateOffering",
          caller,
          service.address,
          serviceI.encodeFunctionData("updateOffering", [
            offeringId,
            terms.pricePerHour,
            terms.maxDuration,
            terms.capacity,
          ]),
          () => model.predictUpdateOffering(caller, service, offeringId, terms),
        );
      } else {
        const active = random.chance(0.6);
        await this.transact(
          "setOfferingActive",
          caller,
          service.address,
          serviceI.encodeFunctionData("setOfferingActive", [offeringId, active]),
          () => model.predictSetOfferingActive(caller, service, offeringId, active),
        );
      }
    }
  }
}

/**
 * Deploys the market once, then runs `sequences` random sequences of `steps` steps, each from the
 * same base state (EVM snapshot) with seed `seed + i`. Throws on the first disagreement, naming
 * the seed and the steps that led to it.
 */
export async function runSequences(options: RunOptions, stats: RunStats = emptyStats()): Promise<RunStats> {
  const { world, model: base } = await deployWorld();
  let baseChecked = false;
  for (let i = 0; i < options.sequences; i++) {
    const snapshotId = String(await network.provider.send("evm_snapshot", []));
    const seed = (options.seed + i) >>> 0;
    const model = cloneModel(base);
    const sequence = new Sequence(world, model, new Random(seed), stats, `sequence seed ${seed}`);
    // Every sequence starts from the same base: its registry is read and checked once.
    await sequence.checkInvariants(!baseChecked);
    baseChecked = true;
    for (let s = 0; s < options.steps; s++) await sequence.step();
    await sequence.close();
    await sequence.checkSettlements(world.baseBlock + 1);
    await network.provider.send("evm_revert", [snapshotId]);
    stats.sequences += 1;
    options.onSequence?.(i + 1, stats);
  }
  return stats;
}

/** A one-paragraph summary of a run. */
export function describeStats(stats: RunStats): string {
  const errors = [...stats.errors].sort((a, b) => b[1] - a[1]).map(([name, n]) => `${name} ${n}`);
  const actions = [...stats.actions].sort((a, b) => b[1] - a[1]).map(([name, n]) => `${name} ${n}`);
  const skips = [...stats.orderSkips].sort((a, b) => b[1] - a[1]).map(([name, n]) => `${name} ${n}`);
  return [
    `${stats.sequences} sequences, ${stats.steps} steps (${stats.succeeded} succeeded, ${stats.reverted} reverted as predicted), ${stats.invariantChecks} invariant checks`,
    `${stats.requestsAccepted} requests accepted, every one by a holder of all of its target; ${stats.ownershipRefusals} refused for ownership`,
    `${stats.ordersSettled} orders settled, every one by an active holder of all of its target, paid once; skipped (nothing moved): ${skips.join(", ")}`,
    `${stats.closingReclaims} requests left pending at the end of a sequence reclaimed; after that no service held a token`,
    `successful actions: ${actions.join(", ")}`,
    `reverts: ${errors.join(", ")}`,
  ].join("\n");
}
