/** Market: every provider, its offerings, the ASes it covers and how it has answered so far. */
import { useMemo } from "react";

import { formatAsn, shortAddress } from "../../../src/format";
import type { ServiceState } from "../../../src/dashboard/model";
import { providerStats, type ProviderStats } from "../../../src/dashboard/stats";
import { OfferingCells, OfferingHeaders } from "../components/Offering";
import { useStore, type MarketStore } from "../store";
import { percent, seconds } from "../text";

function ProviderRows({ store, service, stats }: { store: MarketStore; service: ServiceState; stats: ProviderStats }) {
  const offerings = service.offerings.filter((o) => o !== undefined);
  const span = Math.max(1, offerings.length);
  const name = store.label(service.provider);
  const shared = (
    <>
      <td rowSpan={span} className="asns">
        {[...service.asns]
          .sort((a, b) => a - b)
          .map(formatAsn)
          .join(", ") || "none"}
      </td>
      <td rowSpan={span}>{stats.averageRating === null ? "–" : `${stats.averageRating.toFixed(1)} / 5`}</td>
      <td rowSpan={span} className="number" data-testid="ack-rate">
        {percent(stats.ackRate)}
        <small>
          {stats.acknowledged} of {stats.acknowledged + stats.rejected + stats.unanswered}
        </small>
      </td>
      <td rowSpan={span} className="number">
        {seconds(stats.medianResponseSeconds)}
        {stats.medianResponseBlocks !== null && (
          <small>
            {stats.medianResponseBlocks} block{stats.medianResponseBlocks === 1 ? "" : "s"}
          </small>
        )}
      </td>
    </>
  );
  const provider = (
    <td rowSpan={span} className="provider">
      {name}
      <small title={service.address}>service {shortAddress(service.address)}</small>
    </td>
  );
  if (offerings.length === 0) {
    return (
      <tbody data-provider={name}>
        <tr>
          {provider}
          <td colSpan={5} className="muted">
            no offering yet
          </td>
          {shared}
        </tr>
      </tbody>
    );
  }
  return (
    <tbody data-provider={name}>
      {offerings.map((o, i) => (
        <tr key={o.id} data-offering={o.id}>
          {i === 0 && provider}
          <OfferingCells offering={o} />
          {i === 0 && shared}
        </tr>
      ))}
    </tbody>
  );
}

export function MarketView({ store }: { store: MarketStore }) {
  const version = useStore(store);
  const { model } = store;
  const services = useMemo(
    () => [...model.services.values()].map((s) => ({ service: s, stats: providerStats(model, s.address) })),
    // The model is mutable: its version says when to derive again.
    [model, version],
  );
  const ready = model.head.block >= 0;
  const orders = services.reduce((n, s) => n + s.stats.orders, 0);
  const requests = model.rows.size - orders;
  const offerings = services.reduce((n, s) => n + s.service.offerings.length, 0);
  return (
    <section>
      <p className="summary">
        {services.length} providers · {offerings} offerings · {requests} requests and {orders} signed orders so far
      </p>
      <table id="providers" data-ready={ready}>
        <thead>
          <tr>
            <th>Provider</th>
            <OfferingHeaders />
            <th>ASes covered</th>
            <th>Rating</th>
            <th>Acknowledged</th>
            <th>Median response</th>
          </tr>
        </thead>
        {services.map(({ service, stats }) => (
          <ProviderRows key={service.address} store={store} service={service} stats={stats} />
        ))}
      </table>
      {ready && services.length === 0 && <p className="muted">No provider has opened a service yet.</p>}
      <p className="muted" id="orders-note">
        Acknowledged and median response count direct requests only: a signed order is settled already acknowledged, so
        it has no response time (its rating counts).
      </p>
    </section>
  );
}
