/**
 * Lookup: an IP address or prefix → the registered prefix covering it, its origin AS and holder,
 * the delegations it came through, and the services covering that AS. A few eth_calls per lookup,
 * never the table itself.
 */
import { useRef, useState, type FormEvent } from "react";

import { formatAsn } from "../../../src/format";
import { lookupRegistry, type LookupResult, type NamedRoute } from "../../../src/dashboard/lookup";
import { toOperatorError } from "../../../src/errors";
import { OfferingCells, OfferingHeaders } from "../components/Offering";
import type { MarketStore } from "../store";

type State =
  | { kind: "idle" }
  | { kind: "busy"; query: string }
  | { kind: "done"; result: LookupResult; ms: number }
  | { kind: "failed"; message: string };

function Holder({ route }: { route: NamedRoute }) {
  return (
    <>
      {route.holderName || "unnamed participant"} <small className="address">{route.holder}</small>
    </>
  );
}

function Result({ result, ms }: { result: LookupResult; ms: number }) {
  const [route] = result.chain;
  if (route === undefined) {
    return <p data-testid="lookup-none">No registered prefix covers {result.query}.</p>;
  }
  return (
    <div id="lookup-result">
      <dl>
        <dt>{result.kind === "address" ? "Address" : "Prefix"}</dt>
        <dd>{result.query}</dd>
        <dt>Covering prefix</dt>
        <dd data-testid="covering-prefix">{route.prefix}</dd>
        <dt>Origin AS</dt>
        <dd data-testid="origin-asn">{formatAsn(route.originAsn)}</dd>
        <dt>Holder</dt>
        <dd data-testid="holder">
          <Holder route={route} />
        </dd>
        <dt>Delegations</dt>
        <dd data-testid="delegations">
          {result.chain.length === 1 ? (
            "none: allocated by a registrar"
          ) : (
            <ol>
              {result.chain.slice(1).map((parent, i) => (
                <li key={parent.prefix}>
                  {result.chain[i].prefix} delegated out of {parent.prefix}, held by <Holder route={parent} />
                  {i === result.chain.length - 2 && " (allocated by a registrar)"}
                </li>
              ))}
            </ol>
          )}
        </dd>
      </dl>
      <h2>Services covering {formatAsn(route.originAsn)}</h2>
      {result.services.length === 0 ? (
        <p data-testid="no-services">No provider covers {formatAsn(route.originAsn)}.</p>
      ) : (
        <table id="lookup-services">
          <thead>
            <tr>
              <th>Provider</th>
              <OfferingHeaders />
            </tr>
          </thead>
          <tbody>
            {result.services.flatMap((s) =>
              s.offerings.map((o) => (
                <tr key={`${s.service}/${o.id}`} data-provider={s.providerName}>
                  <td>
                    {s.providerName} <small className="address">{s.service}</small>
                  </td>
                  <OfferingCells offering={o} />
                </tr>
              )),
            )}
          </tbody>
        </table>
      )}
      <p className="muted">Answered in {ms} ms by eth_call.</p>
    </div>
  );
}

export function LookupView({ store }: { store: MarketStore }) {
  const [text, setText] = useState("");
  const [state, setState] = useState<State>({ kind: "idle" });
  const latest = useRef(0);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const query = text;
    const ticket = ++latest.current;
    const started = performance.now();
    setState({ kind: "busy", query });
    const contracts = { registry: store.registry, directory: store.directory, runner: store.provider };
    lookupRegistry(query, contracts).then(
      (result) => {
        if (ticket === latest.current) setState({ kind: "done", result, ms: Math.round(performance.now() - started) });
      },
      (error: unknown) => {
        if (ticket === latest.current) setState({ kind: "failed", message: toOperatorError(error).message });
      },
    );
  };

  return (
    <section>
      <form className="lookup" onSubmit={submit}>
        <input
          name="query"
          aria-label="IP address or prefix"
          placeholder="an IP address or prefix: 198.51.100.7, 2001:db8::/32"
          value={text}
          onChange={(e) => setText(e.target.value)}
          autoFocus
        />
        <button type="submit">Look up</button>
      </form>
      {state.kind === "busy" && <p className="muted">Looking up {state.query}…</p>}
      {state.kind === "failed" && (
        <p className="error" role="alert" data-testid="lookup-error">
          {state.message}
        </p>
      )}
      {state.kind === "done" && <Result result={state.result} ms={state.ms} />}
    </section>
  );
}
