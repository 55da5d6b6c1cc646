/** The dashboard's frame: the header, and the view the URL's hash names once the store is there. */
import { useEffect, useState } from "react";

import { Header } from "./components/Header";
import type { MarketStore } from "./store";
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

/** The store following the chain, or why there is none. */
export type Started = { store: MarketStore; error?: undefined } | { store?: undefined; error: string };

export function App({ store: starting }: { store: Promise<Started> }) {
  const [started, setStarted] = useState<Started | null>(null);
  const [view, setView] = useState(viewFromHash);
  const store = started?.store ?? null;
  const error = started?.error ?? null;

  useEffect(() => {
    void starting.then(setStarted);
  }, [starting]);

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
