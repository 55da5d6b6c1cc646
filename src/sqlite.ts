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
