/**
 * Live: every request and settled signed order as it happens, newest first, from pending (a
 * request) or acknowledged (an order) to acknowledged, rejected, reclaimed or withdrawn, with the
 * providers' DOTS status reports. Rows change in place as the blocks that change them arrive.
 */
import { useMemo, useState } from "react";

import { formatRequestId, formatTokens } from "../../../src/format";
import { formatPrefix } from "../../../src/prefix";
import type { MitigationRow } from "../../../src/dashboard/model";
import { Outcome, Reports, StatusBadge } from "../components/Status";
import { useStore, type MarketStore } from "../store";
import { clock, kindLabel } from "../text";

/** Rows shown at most; the filters reach the others. */
const MAX_ROWS = 200;

/** Shown for an order's target and sources when its settlement transaction could not be read. */
const UNREAD = (
  <span className="muted" title="not read from the settlement transaction">
    –
  </span>
);

function Sources({ row }: { row: MitigationRow }) {
  if (row.sources.length === 0) return UNREAD;
  const shown = row.sources.slice(0, 3).map(formatPrefix);
  const more = row.sources.length - shown.length;
  return (
    <>
      {shown.join(", ")}
      {more > 0 && <small>and {more} more</small>}
    </>
  );
}

function Row({ store, row }: { store: MarketStore; row: MitigationRow }) {
  const offering = store.model.services.get(row.service)?.offerings[row.offeringId];
  return (
    <tr data-key={row.key} data-kind={row.kind} data-status={row.status} data-request-id={row.requestId.toString()}>
      <td className="number">{formatRequestId(row.requestId)}</td>
      <td className="row-kind">{row.kind}</td>
      <td>
        {clock(row.time)}
        <small>block {row.blockNumber}</small>
      </td>
      <td>{store.label(store.model.services.get(row.service)?.provider ?? row.service)}</td>
      <td>{store.label(row.requester)}</td>
      <td className="prefix">{row.target === undefined ? UNREAD : formatPrefix(row.target)}</td>
      <td className="prefix sources">
        <Sources row={row} />
      </td>
      <td>{offering ? kindLabel(offering.kind) : `offering ${row.offeringId}`}</td>
      <td className="number">{formatTokens(row.price)}</td>
      {/* Re-mounted on every change, so that its highlight plays again. */}
      <td key={row.changedAt} className="flash">
        <StatusBadge row={row} now={store.model.head.time} />
      </td>
      <td>
        <Reports row={row} />
      </td>
      <td>
        <Outcome row={row} />
      </td>
    </tr>
  );
}

export function LiveView({ store }: { store: MarketStore }) {
  const version = useStore(store);
  const { model } = store;
  const [provider, setProvider] = useState("");
  const [victim, setVictim] = useState("");
  const [kind, setKind] = useState("");
  const all = useMemo(
    () =>
      [...model.rows.values()].sort(
        (a, b) => b.blockNumber - a.blockNumber || b.time - a.time || b.key.localeCompare(a.key),
      ),
    // The model is mutable: its version says when to derive again.
    [model, version],
  );
  const rows = all.filter(
    (r) =>
      (provider === "" || r.service === provider) &&
      (victim === "" || r.requester === victim) &&
      (kind === "" || r.kind === kind),
  );
  const victims = [...new Set(all.map((r) => r.requester))];
  return (
    <section>
      <div className="filters">
        <label>
          Provider{" "}
          <select aria-label="provider" value={provider} onChange={(e) => setProvider(e.target.value)}>
            <option value="">all</option>
            {[...model.services.values()].map((s) => (
              <option key={s.address} value={s.address}>
                {store.label(s.provider)}
              </option>
            ))}
          </select>
        </label>
        <label>
          Victim{" "}
          <select aria-label="victim" value={victim} onChange={(e) => setVictim(e.target.value)}>
            <option value="">all</option>
            {victims.map((v) => (
              <option key={v} value={v}>
                {store.label(v)}
              </option>
            ))}
          </select>
        </label>
        <label>
          Bought by{" "}
          <select aria-label="kind" value={kind} onChange={(e) => setKind(e.target.value)}>
            <option value="">all</option>
            <option value="request">request</option>
            <option value="order">signed order</option>
          </select>
        </label>
        <span className="muted">
          {rows.length} of {all.length} mitigations
          {rows.length > MAX_ROWS && `, the newest ${MAX_ROWS} shown`}
        </span>
      </div>
      <table id="live">
        <thead>
          <tr>
            <th>Request</th>
            <th>Bought by</th>
            <th>Requested</th>
            <th>Provider</th>
            <th>Victim</th>
            <th>Target</th>
            <th>Sources</th>
            <th>Kind</th>
            <th>Price</th>
            <th>Status</th>
            <th>DOTS status</th>
            <th>Answer</th>
          </tr>
        </thead>
        <tbody>
          {rows.slice(0, MAX_ROWS).map((row) => (
            <Row key={row.key} store={store} row={row} />
          ))}
        </tbody>
      </table>
    </section>
  );
}
