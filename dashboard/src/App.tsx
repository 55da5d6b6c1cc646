/** The dashboard's frame: loads the configuration, starts following the chain, switches views. */
import { useEffect, useState } from "react";

import { toOperatorError } from "../../src/errors";
import { Header } from "./components/Header";
import { loadConfig, MarketStore } from "./store";
import { AccountsView } from "./views/Accounts";
import { LiveView } from "./views/Live";
import { LookupView } from "./views/Lookup";
import { MarketView } from "./views/Market";

export const VIEWS = [
  { id: "market", title: "Market", View: MarketView },
  { id: "live", title: "Live", View: LiveView },
  { id: "lookup", title: "Lookup", View: LookupView },
  { id: "accounts", title: "Accounts", View: AccountsView },
] as const;

function viewFromHash(): (typeof VIEWS)[number] {
  const id = window.location.hash.replace(/^#\/?/, "").split("?")[0];
  return VIEWS.find((v) => v.id === id) ?? VIEWS[0];
}

export function App() {
  const [store, setStore] = useState<MarketStore | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [view, setView] = useState(viewFromHash);

  useEffect(() => {
    let started: MarketStore | null = null;
    let cancelled = false;
    loadConfig().then(
      (config) => {
        if (cancelled) return;
        started = new MarketStore(config);
        started.start();
        setStore(started);
      },
      (e: unknown) => setError(toOperatorError(e).message),
    );
    return () => {
      cancelled = true;
      started?.stop();
    };
  }, []);

  useEffect(() => {
    const onHash = () => setView(viewFromHash());
    window.addEventListener("hashchange", onHash);
    return () => window.removeEventListener("hashchange", onHash);
  }, []);

  return (
    <div className="app">
      <Header store={store} current={view.id} views={VIEWS} />
      <main>
        {error !== null && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        {store === null ? error === null && <p className="muted">Connecting…</p> : <view.View store={store} />}
      </main>
    </div>
  );
}
