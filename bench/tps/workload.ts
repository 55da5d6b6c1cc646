/**
 * The benchmark's workloads, planned and signed before the clock starts.
 *
 * Mitigation: every second ("slot") the victims send requests, mostly single `request`s and some
 * `requestMany` across three services, in ten chunks. Request ids are `requester << 64 | n`, n
 * counting each service's requests from 1. Every request comes from this stream, and the node
 * mines same-fee transactions in arrival order (anvil --order fifo) — but it may admit the
 * transactions of one JSON-RPC batch in any order. So within a chunk (sent as one batch) each
 * group of four services hears from one victim only, whose nonces order its requests; chunks are
 * sent one after another. The ids are then known in advance, and the providers' acknowledgements
 * are signed in advance too: per service and slot, a share of the new requests (`--single-acks`,
 * half by default) is acknowledged one by one and the rest with `acknowledgeBatch`. An
 * acknowledgement is released to the node once the requests it names are mined. The victims take turns, so all of them request.
 *
 * Baseline: the same number of plain ERC-20 transfers at the same pace.
 */
import type { BenchAccounts } from "./accounts";
import type { TrackedTx } from "./chain";
import { CHUNKS_PER_SLOT } from "./phase";
import {
  type MarketDeployment,
  DIRECTORY,
  OFFERING,
  SERVICE,
  TOKEN,
  ONE_TOKEN,
  providerPrefix,
  victimPrefix,
} from "./setup";
import type { SignerPool, UnsignedTx } from "./signer";
import { priceOf } from "../../src/clients/market";

export interface MixOptions {
  /** Mitigation transactions offered per second (requests and acknowledgements together). */
  rate: number;
  /** Seconds of sending. */
  slots: number;
  /** Share of request transactions that are requestMany over three services. */
  manyShare: number;
  /** Size of an acknowledgeBatch. */
  ackBatch: number;
  /** Share of the requests acknowledged one by one; the rest go in acknowledgeBatch calls. */
  singleAckShare: number;
  /** Seconds of mitigation bought by each request. */
  duration: number;
}

/** An acknowledgement waiting for its requests. */
export interface PendingAck {
  tx: TrackedTx;
  /** The request transaction of each id it acknowledges (one entry per id). */
  requestTxs: TrackedTx[];
  waiting: number;
}

export interface MitigationPlan {
  /** Request transactions per slot, in sending order. */
  requests: TrackedTx[][];
  /** Acknowledgements, by the request transaction that must be mined first. */
  acksByRequest: Map<TrackedTx, PendingAck[]>;
  acks: PendingAck[];
  /** Requests (flows) created. */
  flows: number;
}

const MANY_WIDTH = 3;
/** Services are split into groups of this size; a victim serves one group per chunk. */
const GROUP_SIZE = 4;
const GAS = {
  request: 300_000n,
  requestMany: 900_000n,
  acknowledge: 150_000n,
  acknowledgeBatchBase: 100_000n,
  acknowledgeBatchItem: 30_000n,
  transfer: 100_000n,
};

/** How many request transactions per slot give about `rate` mitigation transactions per second. */
function requestsPerSlot(options: MixOptions, services: number): number {
  const idsPerTx = 1 + (MANY_WIDTH - 1) * options.manyShare;
  // Per id: a share of a single ack, and the rest of 1/ackBatch of a batch; plus a batch per service and slot.
  const acksPerId = options.singleAckShare + (1 - options.singleAckShare) / options.ackBatch;
  const perSecond = (options.rate - services) / (1 + idsPerTx * acksPerId);
  return Math.max(1, Math.round(perSecond / CHUNKS_PER_SLOT)) * CHUNKS_PER_SLOT;
}

export async function planMitigation(
  accounts: BenchAccounts,
  market: MarketDeployment,
  signer: SignerPool,
  options: MixOptions,
  ackDeadline: number,
): Promise<MitigationPlan> {
  const { victims, providers, addresses } = accounts;
  const services = market.services;
  const nonces = market.nonces;
  const perSlot = requestsPerSlot(options, services.length);
  const price = priceOf(OFFERING.pricePerHour, options.duration);
  // Request ids count each service's requests from 1, across every plan of the run.
  const sequence = market.requestCounts;
  const params = (v: number, p: number) => {
    const target = victimPrefix(v);
    const source = providerPrefix(p);
    return {
      offeringId: 0,
      target: { network: target.network, prefixLength: target.length },
      sources: [1n, 2n].map((host) => ({ network: source.network | host, prefixLength: 128 })),
      duration: options.duration,
      maxPrice: price,
      ackDeadline,
    };
  };

  const unsigned: UnsignedTx[] = [];
  const meta: { slot: number; kind: TrackedTx["kind"]; ids: { service: number; id: bigint }[] }[] = [];
  /** Per slot and service, the ids requested, with the index of their request transaction. */
  const requested: { id: bigint; request: number }[][][] = [];
  const groups = Math.max(1, Math.floor(services.length / GROUP_SIZE));
  const manyEvery = options.manyShare > 0 ? Math.round(1 / options.manyShare) : 0;
  let chunk = 0;
  let k = 0;
  for (let slot = 0; slot < options.slots; slot++) {
    const byService: { id: bigint; request: number }[][] = services.map(() => []);
    for (let c = 0; c < CHUNKS_PER_SLOT; c++, chunk++) {
      for (let t = 0; t < perSlot / CHUNKS_PER_SLOT; t++, k++) {
        // In a chunk, each group of services hears from one victim only (see the file comment).
        const group = t % groups;
        const v = (chunk * groups + group) % victims.length;
        const key = victims[v];
        const member = (j: number) => (group * GROUP_SIZE + (j % GROUP_SIZE) + chunk) % services.length;
        const j = Math.floor(t / groups);
        const many = manyEvery > 0 && k % manyEvery === manyEvery - 1;
        const chosen = many ? [member(j), member(j + 1), member(j + 2)] : [member(j)];
        const ids = chosen.map((s) => ({ service: s, id: (BigInt(addresses[key]) << 64n) | BigInt(++sequence[s]) }));
        const index = unsigned.length;
        for (const { service, id } of ids) byService[service].push({ id, request: index });
        if (many) {
          const batch = chosen.map((s) => ({ service: services[s], params: params(v, s) }));
          unsigned.push({
            key,
            nonce: nonces[key]++,
            to: market.directory,
            data: DIRECTORY.encodeFunctionData("requestMany", [batch]),
            gasLimit: GAS.requestMany,
          });
        } else {
          unsigned.push({
            key,
            nonce: nonces[key]++,
            to: services[chosen[0]],
            data: SERVICE.encodeFunctionData("request", [params(v, chosen[0])]),
            gasLimit: GAS.request,
          });
        }
        meta.push({ slot, kind: many ? "requestMany" : "request", ids });
      }
    }
    requested.push(byService);
  }

  // Acknowledgements, per slot and service in id order: the first ones singly, the rest batched.
  const ackUnsigned: UnsignedTx[] = [];
  const ackDeps: number[][] = [];
  const ackKinds: TrackedTx["kind"][] = [];
  for (const byService of requested) {
    byService.forEach((entries, s) => {
      const key = providers[s];
      const single = Math.ceil(entries.length * options.singleAckShare);
      for (const entry of entries.slice(0, single)) {
        ackUnsigned.push({
          key,
          nonce: nonces[key]++,
          to: services[s],
          data: SERVICE.encodeFunctionData("acknowledge", [entry.id]),
          gasLimit: GAS.acknowledge,
        });
        ackDeps.push([entry.request]);
        ackKinds.push("acknowledge");
      }
      const rest = entries.slice(single);
      for (let start = 0; start < rest.length; start += options.ackBatch) {
        const chunk = rest.slice(start, start + options.ackBatch);
        ackUnsigned.push({
          key,
          nonce: nonces[key]++,
          to: services[s],
          data: SERVICE.encodeFunctionData("acknowledgeBatch", [chunk.map((e) => e.id)]),
          gasLimit: GAS.acknowledgeBatchBase + GAS.acknowledgeBatchItem * BigInt(chunk.length),
        });
        ackDeps.push(chunk.map((e) => e.request));
        ackKinds.push("acknowledgeBatch");
      }
    });
  }

  const signed = await signer.sign([...unsigned, ...ackUnsigned]);
  const requestTxs: TrackedTx[] = unsigned.map((_, i) => ({
    ...signed[i],
    kind: meta[i].kind,
    items: meta[i].ids.length,
  }));
  const requests: TrackedTx[][] = Array.from({ length: options.slots }, () => []);
  requestTxs.forEach((tx, i) => requests[meta[i].slot].push(tx));
  const acksByRequest = new Map<TrackedTx, PendingAck[]>();
  const acks: PendingAck[] = ackUnsigned.map((_, i) => {
    const deps = ackDeps[i].map((index) => requestTxs[index]);
    const tx: TrackedTx = { ...signed[unsigned.length + i], kind: ackKinds[i], items: deps.length };
    const pending: PendingAck = { tx, requestTxs: deps, waiting: new Set(deps).size };
    for (const dep of new Set(deps)) {
      const list = acksByRequest.get(dep) ?? [];
      list.push(pending);
      acksByRequest.set(dep, list);
    }
    return pending;
  });
  const flows = meta.reduce((sum, m) => sum + m.ids.length, 0);
  return { requests, acksByRequest, acks, flows };
}

/** `count` ERC-20 transfers spread evenly over `slots`, round-robin over the baseline senders. */
export async function planTransfers(
  accounts: BenchAccounts,
  market: MarketDeployment,
  signer: SignerPool,
  count: number,
  slots: number,
): Promise<TrackedTx[][]> {
  const senders = accounts.baseline;
  const unsigned: UnsignedTx[] = [];
  for (let i = 0; i < count; i++) {
    const key = senders[i % senders.length];
    const to = accounts.addresses[senders[(i + 1) % senders.length]];
    unsigned.push({
      key,
      nonce: market.nonces[key]++,
      to: market.token,
      data: TOKEN.encodeFunctionData("transfer", [to, ONE_TOKEN / 1000n]),
      gasLimit: GAS.transfer,
    });
  }
  const signed = await signer.sign(unsigned);
  const perSlot = Math.ceil(count / slots);
  return Array.from({ length: slots }, (_, slot) =>
    signed.slice(slot * perSlot, (slot + 1) * perSlot).map((s): TrackedTx => ({ ...s, kind: "transfer", items: 0 })),
  );
}
