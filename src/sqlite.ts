/** The agents' embedded databases: SQLite files that survive kill -9 and power loss. */
import { mkdirSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";

/**
 * Opens (or creates) the database at `file` (":memory:" for tests) in WAL mode with
 * synchronous=FULL, so that a committed transaction is on disk, and applies `schema`.
 */
export function openDatabase(file: string, schema: string): Database.Database {
  if (file !== ":memory:") mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.pragma("foreign_keys = ON");
  db.exec(schema);
  return db;
}

/** An agent's store: one database, closed once, and transactions that commit all or nothing. */
export class SqliteStore {
  protected readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();
  /** One transaction wrapper for every `atomically`: better-sqlite3 builds four closures per wrapper. */
  private readonly transaction: (work: () => unknown) => unknown;

  /** Opens (or creates) the database at `file` (":memory:" for tests) with `schema`. */
  constructor(file: string, schema: string) {
    this.db = openDatabase(file, schema);
    this.transaction = this.db.transaction((work: () => unknown) => work());
  }

  close(): void {
    this.db.close();
  }

  /** The prepared statement for `sql`, prepared once and kept: agents run the same few thousands of times. */
  protected statement(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  /** Runs `work` in one transaction: all of it is committed, or none. */
  atomically<T>(work: () => T): T {
    return this.transaction(work) as T;
  }
}
