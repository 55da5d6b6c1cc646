/**
 * Accounts: every account that holds or moved tokens, with its balance, spending and earnings,
 * and charts of one account over time, of requests per minute and of every offering's price.
 */
import { formatUnits } from "ethers";
import { useMemo, useState } from "react";

import { TOKEN_DECIMALS, formatTokens } from "../../../src/format";
import { accountFigures, accountHistory, requestsPerMinute, type Point } from "../../../src/dashboard/stats";
import { BarChart, StepChart, type Series } from "../components/Chart";
import { useStore, type MarketStore } from "../store";
import { kindLabel } from "../text";

const tokens = (value: bigint) => Number(formatUnits(value, TOKEN_DECIMALS));
const tokenAxis = (y: number) => `${Number(y.toPrecision(3))} MIT`;
const series = (label: string, points: Point[]): Series => ({
  label,
  points: points.map((p) => ({ x: p.time, y: tokens(p.value) })),
});

export function AccountsView({ store }: { store: MarketStore }) {
  const version = useStore(store);
  const { model } = store;
  // The model is mutable: its version says when to derive again.
  const figures = useMemo(() => accountFigures(model), [model, version]);
  const [chosen, setChosen] = useState<string | null>(null);
  const firstRequester = model.rows.values().next().value?.requester;
  const selected = chosen ?? firstRequester ?? figures[0]?.account ?? null;
  const history = useMemo(
    () => (selected === null ? null : accountHistory(model, selected)),
    [model, version, selected],
  );
  const prices = useMemo(
    () =>
      [...model.services.values()].flatMap((s) =>
        s.offerings.map((o) => ({
          label: `${store.label(s.provider)} · ${kindLabel(o.kind)}`,
          points: o.prices.map((p) => ({ x: p.time, y: tokens(p.pricePerHour) })),
        })),
      ),
    [model, version, store],
  );
  const perMinute = useMemo(() => requestsPerMinute(model), [model, version]);

  return (
    <section>
      <table id="accounts">
        <thead>
          <tr>
            <th>Account</th>
            <th>Address</th>
            <th>Balance</th>
            <th>Spent</th>
            <th>Earned</th>
            <th>In escrow</th>
          </tr>
        </thead>
        <tbody>
          {figures.map((f) => (
            <tr key={f.account} data-account={f.account} className={f.account === selected ? "selected" : undefined}>
              <td>
                <button type="button" className="link" onClick={() => setChosen(f.account)}>
                  {store.label(f.account)}
                </button>
              </td>
              <td className="address">{f.account}</td>
              <td className="number balance">{formatTokens(f.balance)}</td>
              <td className="number">{formatTokens(f.spent)}</td>
              <td className="number">{formatTokens(f.earned)}</td>
              <td className="number">{formatTokens(f.escrowed)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="charts">
        {selected !== null && history !== null && (
          <StepChart
            title={`${store.label(selected)}: balance, spending and earnings`}
            series={[
              series("balance", history.balance),
              series("spent", history.spent),
              series("earned", history.earned),
            ]}
            until={model.head.time}
            formatY={tokenAxis}
          />
        )}
        <BarChart
          title="Requests per minute (last 30 minutes of chain time)"
          bars={perMinute.map((m) => ({ x: m.minute, y: m.count }))}
          formatY={(y) => String(Math.round(y * 10) / 10)}
        />
        <StepChart
          title="Price per hour of each offering"
          series={prices}
          until={model.head.time}
          formatY={tokenAxis}
        />
      </div>
    </section>
  );
}
