/**
 * Invariants of the market that hold after every transaction, whatever happened before:
 * - a service's token balance is exactly the escrow of its Pending requests;
 * - the directory never keeps tokens;
 * - each request left Pending at most once, through exactly one path: an Acknowledged (or later
 *   Withdrawn) request was paid once and never refunded, a Rejected or Reclaimed one refunded once
 *   and never paid, a Pending one neither.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";

import type { MitigationToken, ServiceDirectory } from "../../typechain-types";
import { RequestStatus, requestStatus } from "./marketFixtures";

const SEQUENCE_MASK = (1n << 64n) - 1n;

interface Ledger {
  requested: number;
  paid: bigint[];
  rejected: bigint[];
  reclaimed: bigint[];
}

function ledgerOf(ledgers: Map<bigint, Ledger>, id: bigint): Ledger {
  let ledger = ledgers.get(id);
  if (ledger === undefined) {
    ledger = { requested: 0, paid: [], rejected: [], reclaimed: [] };
    ledgers.set(id, ledger);
  }
  return ledger;
}

/** Asserts the invariants for every service of `directory`. */
export async function expectMarketInvariants(market: {
  token: MitigationToken;
  directory: ServiceDirectory;
}): Promise<void> {
  const { token, directory } = market;
  expect(await token.balanceOf(await directory.getAddress()), "the directory's token balance").to.equal(0n);

  for (const address of await directory.allServices()) {
    const service = await ethers.getContractAt("ProviderServiceContract", address);
    const ledgers = new Map<bigint, Ledger>();
    for (const event of await service.queryFilter(service.filters.MitigationRequested())) {
      ledgerOf(ledgers, event.args.requestId).requested += 1;
    }
    for (const event of await service.queryFilter(service.filters.MitigationAcknowledged())) {
      ledgerOf(ledgers, event.args.requestId).paid.push(event.args.paid);
    }
    for (const event of await service.queryFilter(service.filters.MitigationRejected())) {
      ledgerOf(ledgers, event.args.requestId).rejected.push(event.args.refunded);
    }
    for (const event of await service.queryFilter(service.filters.MitigationReclaimed())) {
      ledgerOf(ledgers, event.args.requestId).reclaimed.push(event.args.refunded);
    }

    // A settled order was paid once, straight to the provider, and runs (or ran) under its id.
    const settledOrders = new Set<bigint>();
    for (const event of await service.queryFilter(service.filters.OrderSettled())) {
      const id = event.args.requestId;
      expect(settledOrders.has(id), `service ${address}: order ${id} settled twice`).to.be.false;
      settledOrders.add(id);
      const r = await service.getRequest(id);
      expect([RequestStatus.Acknowledged, RequestStatus.Withdrawn], `order ${id}: status`).to.include(
        requestStatus(r.status),
      );
      expect(r.price, `order ${id}: price`).to.equal(event.args.price);
      expect(r.requester, `order ${id}: requester`).to.equal(ethers.getAddress(ethers.toBeHex(id >> 64n, 20)));
    }

    // Request ids are requester << 64 | n for n = 1..requestCount: every n appears exactly once.
    const count = await service.requestCount();
    const ids = [...ledgers.keys()].sort((a, b) => Number((a & SEQUENCE_MASK) - (b & SEQUENCE_MASK)));
    expect(
      ids.map((id) => id & SEQUENCE_MASK),
      `service ${address}: request sequence numbers`,
    ).to.deep.equal(Array.from({ length: Number(count) }, (_, i) => BigInt(i + 1)));
    let escrowed = 0n;
    for (const id of ids) {
      const r = await service.getRequest(id);
      expect(r.requester, `request ${id}: requester encoded in its id`).to.equal(
        ethers.getAddress(ethers.toBeHex(id >> 64n, 20)),
      );
      const where = `service ${address} request ${id}`;
      const ledger = ledgerOf(ledgers, id);
      expect(ledger.requested, `${where}: MitigationRequested events`).to.equal(1);
      const status = requestStatus(r.status);
      switch (status) {
        case RequestStatus.Pending:
          escrowed += r.price;
          expect([...ledger.paid, ...ledger.rejected, ...ledger.reclaimed], `${where}: pending, settled`).to.be.empty;
          break;
        case RequestStatus.Acknowledged:
        case RequestStatus.Withdrawn:
          expect(ledger.paid, `${where}: payouts`).to.deep.equal([r.price]);
          expect([...ledger.rejected, ...ledger.reclaimed], `${where}: paid, and refunded`).to.be.empty;
          break;
        case RequestStatus.Rejected:
          expect(ledger.rejected, `${where}: rejection refunds`).to.deep.equal([r.price]);
          expect([...ledger.paid, ...ledger.reclaimed], `${where}: rejected, and paid or reclaimed`).to.be.empty;
          break;
        case RequestStatus.Reclaimed:
          expect(ledger.reclaimed, `${where}: reclaim refunds`).to.deep.equal([r.price]);
          expect([...ledger.paid, ...ledger.rejected], `${where}: reclaimed, and paid or rejected`).to.be.empty;
          break;
        default:
          expect.fail(`${where}: unexpected status ${status}`);
      }
    }
    expect(await token.balanceOf(address), `service ${address}: balance vs pending escrow`).to.equal(escrowed);
  }
}

/**
 * Registers an `afterEach` hook that asserts the market invariants after every passing test of the
 * enclosing `describe`, and returns the loader the tests use instead of `loadFixture`: whatever
 * fixture a test loads last is the market the hook checks.
 */
export function invariantsAfterEach(): <T extends { token: MitigationToken; directory: ServiceDirectory }>(
  fixture: () => Promise<T>,
) => Promise<T> {
  let current: { token: MitigationToken; directory: ServiceDirectory } | undefined;
  afterEach(async function () {
    const market = current;
    current = undefined;
    if (market !== undefined && this.currentTest?.state === "passed") await expectMarketInvariants(market);
  });
  return async (fixture) => {
    const market = await loadFixture(fixture);
    current = market;
    return market;
  };
}
