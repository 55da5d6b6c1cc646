/** The agents' SQLite databases: WAL and synchronous=FULL, so a commit survives kill -9 and power loss. */
import { mkdirSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";

/** Opens (or creates, with its folder) the database at `file`; ":memory:" keeps nothing. */
export function openDatabase(file: string): Database.Database {
  if (file !== ":memory:") mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  return db;
}
