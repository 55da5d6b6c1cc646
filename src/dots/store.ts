/**
 * The gateway's memory of its mitigations and what it bought for them, in SQLite (WAL,
 * synchronous=FULL): after a restart it answers GET and DELETE for them, follows their purchases
 * again from their request blocks, and withdraws what a DELETE asked for (recorded before the
 * withdrawal is sent). Aliases, ACLs, telemetry and session configuration are not kept: a client
 * registers them again.
 */

import { formatPrefix, parsePrefix } from "../prefix";
import { SqliteStore } from "../sqlite";
import type { MitigationScope } from "./codec";
import type { Mitigation } from "./mitigations";

/** A purchase as the store keeps it: enough to follow it again. */
export interface StoredPurchase {
  service: string;
  requestId: bigint;
  blockNumber: number;
  /** A signed order's expiry, while it is not settled. */
  expiry?: number;
}

export type StoredMitigation = Omit<Mitigation, "purchase" | "status" | "finishedAt"> & {
  purchases: StoredPurchase[];
};

interface Row {
  client: string;
  cuid: string;
  mid: number;
  scope: string;
  targets: string;
  account: string;
  lifetime: number;
  accepted: number;
  deferred: number;
  withdrawn_at: number | null;
  replaced_by: number | null;
  purchases: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS mitigations (
  client TEXT NOT NULL,
  cuid TEXT NOT NULL,
  mid INTEGER NOT NULL,
  scope TEXT NOT NULL,
  targets TEXT NOT NULL,
  account TEXT NOT NULL,
  lifetime INTEGER NOT NULL,
  accepted INTEGER NOT NULL,
  deferred INTEGER NOT NULL,
  withdrawn_at INTEGER,
  replaced_by INTEGER,
  purchases TEXT NOT NULL,
  PRIMARY KEY (client, cuid, mid)
);
`;

function scopeToJson(scope: MitigationScope): string {
  return JSON.stringify({
    ...scope,
    targets: scope.targets.map((t) => formatPrefix(t)),
    sources: scope.sources.map((s) => s.text),
  });
}

function scopeFromJson(text: string): MitigationScope {
  const raw = JSON.parse(text) as Omit<MitigationScope, "targets" | "sources"> & {
    targets: string[];
    sources: string[];
  };
  return {
    ...raw,
    targets: raw.targets.map((t) => parsePrefix(t, { allowAddress: true })),
    sources: raw.sources.map((s) => ({ text: s, prefix: parsePrefix(s, { allowAddress: true }) })),
  };
}

export class GatewayStore extends SqliteStore {
  /** Opens (or creates) the database at `file`; ":memory:" keeps nothing across restarts. */
  constructor(file: string) {
    super(file, SCHEMA);
  }

  save(m: Mitigation): void {
    const purchases = (m.purchase?.purchases ?? []).map((p) => ({
      service: p.service,
      requestId: p.requestId.toString(),
      blockNumber: p.blockNumber ?? 0,
      expiry: p.expiry,
    }));
    this.statement(
      `INSERT INTO mitigations (client, cuid, mid, scope, targets, account, lifetime, accepted, deferred, withdrawn_at, replaced_by, purchases)
         VALUES (@client, @cuid, @mid, @scope, @targets, @account, @lifetime, @accepted, @deferred, @withdrawn_at, @replaced_by, @purchases)
         ON CONFLICT (client, cuid, mid) DO UPDATE SET deferred = excluded.deferred, withdrawn_at = excluded.withdrawn_at,
           replaced_by = excluded.replaced_by, purchases = excluded.purchases`,
    ).run({
      client: m.client,
      cuid: m.cuid,
      mid: m.mid,
      scope: scopeToJson(m.scope),
      targets: JSON.stringify(m.targets.map((t) => formatPrefix(t))),
      account: m.account,
      lifetime: m.lifetime,
      accepted: m.accepted,
      deferred: m.deferred ? 1 : 0,
      withdrawn_at: m.withdrawnAt ?? null,
      replaced_by: m.replacedBy ?? null,
      purchases: JSON.stringify(purchases),
    });
  }

  /** Forgets mitigations accepted before `before` (unix seconds) that ended. */
  prune(before: number): void {
    this.statement("DELETE FROM mitigations WHERE accepted + lifetime < ?").run(before);
  }

  load(): StoredMitigation[] {
    const rows = this.statement("SELECT * FROM mitigations ORDER BY client, cuid, mid").all() as Row[];
    return rows.map((row) => ({
      client: row.client,
      cuid: row.cuid,
      mid: row.mid,
      scope: scopeFromJson(row.scope),
      targets: (JSON.parse(row.targets) as string[]).map((t) => parsePrefix(t, { allowAddress: true })),
      account: row.account,
      lifetime: row.lifetime,
      accepted: row.accepted,
      deferred: row.deferred === 1,
      withdrawnAt: row.withdrawn_at ?? undefined,
      replacedBy: row.replaced_by ?? undefined,
      purchases: (
        JSON.parse(row.purchases) as { service: string; requestId: string; blockNumber: number; expiry?: number }[]
      ).map((p) => ({
        service: p.service,
        requestId: BigInt(p.requestId),
        blockNumber: p.blockNumber,
        expiry: p.expiry,
      })),
    }));
  }
}
