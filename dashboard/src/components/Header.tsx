import { useEffect, useState } from "react";

import { useStore, type MarketStore } from "../store";

interface HeaderProps {
  store: MarketStore | null;
  current: string;
  views: readonly { id: string; title: string }[];
}

/** Ticks every `ms` so that ages ("3 s ago") stay true. */
function useNow(ms: number): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}

function ChainStatus({ store }: { store: MarketStore }) {
  useStore(store);
  const now = useNow(1000);
  const { config, model } = store;
  const head = model.head.block;
  return (
    <div className="chain">
      <span>
        {config.network} · chain {config.chainId}
      </span>
      <span data-testid="head">
        {head < 0
          ? "reading the chain…"
          : `block ${head} · ${Math.max(0, Math.round((now - store.lastBlockAt) / 1000))} s ago`}
      </span>
      {store.error !== null && (
        <span className="error" role="alert">
          {store.error}
        </span>
      )}
    </div>
  );
}

export function Header({ store, current, views }: HeaderProps) {
  return (
    <header>
      <h1>DDoS mitigation market</h1>
      <nav>
        {views.map((v) => (
          <a key={v.id} href={`#${v.id}`} className={v.id === current ? "current" : undefined}>
            {v.title}
          </a>
        ))}
      </nav>
      {store !== null && <ChainStatus store={store} />}
    </header>
  );
}
