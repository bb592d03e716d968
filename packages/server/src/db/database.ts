/**
 * `openDatabase(url)`: a Kysely instance on the SQLite file a DATABASE_URL names (better-sqlite3), in
 * WAL mode with foreign keys on. Postgres comes later behind the same function.
 */

import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import SQLite from 'better-sqlite3'
import { Kysely, SqliteDialect, sql } from 'kysely'
import { sqlitePathFromUrl } from '../config.ts'
import type { Database } from './schema.ts'

export type { Database } from './schema.ts'

/**
 * Opens (creating the file and its directory if needed) the database at `url`: a path, a `file:` or
 * `sqlite:` URL, or `:memory:`. Relative paths resolve against `baseDir`; pass `config.databasePath`
 * (already absolute) to open exactly the file the config names. Synchronous:
 * better-sqlite3 opens the file at once, so a bad path fails here, not on the first query.
 */
export function openDatabase(url: string, baseDir: string = process.cwd()): Kysely<Database> {
  const path = sqlitePathFromUrl(url, baseDir)
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
  const sqlite = new SQLite(path)
  // WAL lets readers run during a write; NORMAL sync is safe with WAL; wait on a lock rather than fail at once.
  sqlite.pragma('journal_mode = WAL')
  sqlite.pragma('synchronous = NORMAL')
  sqlite.pragma('foreign_keys = ON')
  sqlite.pragma('busy_timeout = 5000')
  return new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) })
}

/** `true` when the database answers a trivial query. */
export async function pingDatabase(db: Kysely<Database>): Promise<boolean> {
  try {
    await sql`select 1`.execute(db)
    return true
  } catch {
    return false
  }
}
