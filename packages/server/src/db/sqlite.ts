/**
 * The embedded dialect: a SQLite file through better-sqlite3, in WAL mode with foreign keys on.
 *
 * Another process (the CLI, or a second server on the same file) may write the same file. Two rules
 * keep that safe: a transaction that reads and then writes takes the write lock first
 * (`writeTransaction` in database.ts: a plain BEGIN reads a snapshot, and its first write fails with
 * SQLITE_BUSY_SNAPSHOT if the other process committed meanwhile, without waiting), and a lock not had
 * within the busy timeout is a `DatabaseBusyError` (503 with Retry-After), not a 500. A full disk or an
 * unwritable file is a `DatabaseUnavailableError` (503).
 */

import { closeSync, mkdirSync, openSync } from 'node:fs'
import { dirname } from 'node:path'
import SQLite from 'better-sqlite3'
import { Kysely, SqliteDialect, type SqliteDatabase, type SqliteStatement } from 'kysely'
import { sqlitePathFromUrl } from '../config.ts'
import { sqliteToHttp } from './errors.ts'
import type { Database } from './schema.ts'

/** Default of DATABASE_BUSY_TIMEOUT_MS: how long a statement waits for another process's lock. */
export const DEFAULT_BUSY_TIMEOUT_MS = 5000

function mapped<T>(run: () => T): T {
  try {
    return run()
  } catch (err) {
    throw sqliteToHttp(err) ?? err
  }
}

/** Prepared statements kept per connection: preparing costs about as much as running a short one. */
const STATEMENT_CACHE = 256

/**
 * better-sqlite3 as Kysely's dialect sees it, with lock timeouts and disk failures turned into 503
 * errors, and statements prepared once per SQL text (least recently used dropped past
 * STATEMENT_CACHE). Kysely runs one query at a time on the connection, so a statement is never run
 * while it is still being iterated.
 */
function errorAware(sqlite: SQLite.Database): SqliteDatabase {
  const prepared = new Map<string, SQLite.Statement>()
  const statement = (text: string) => {
    let stmt = prepared.get(text)
    if (stmt) prepared.delete(text)
    else {
      stmt = mapped(() => sqlite.prepare(text))
      if (prepared.size >= STATEMENT_CACHE) prepared.delete(prepared.keys().next().value!)
    }
    prepared.set(text, stmt)
    return stmt
  }
  return {
    close: () => sqlite.close(),
    prepare(text: string): SqliteStatement {
      const stmt = statement(text)
      return {
        reader: stmt.reader,
        all: (parameters) => mapped(() => stmt.all(parameters)),
        run: (parameters) => mapped(() => stmt.run(parameters)),
        iterate: (parameters) => stmt.iterate(parameters),
      }
    },
  }
}

export interface SqliteOptions {
  /** Milliseconds a statement waits for a lock held by another process before DatabaseBusyError. */
  busyTimeoutMs?: number
}

/**
 * Opens (creating the file and its directory if needed) the SQLite database at `url`. Synchronous:
 * better-sqlite3 opens the file at once, so a bad path fails here, not on the first query. A directory
 * it creates is private (0700), and so is a file (0600; SQLite gives -wal and -shm the main file's
 * mode): they hold password hashes and sessions.
 *
 * @example
 * const { db, file } = openSqlite('./data/keycard.db', process.cwd(), { busyTimeoutMs: 5000 })
 */
export function openSqlite(url: string, baseDir: string, options: SqliteOptions = {}): { db: Kysely<Database>; file: string } {
  const path = sqlitePathFromUrl(url, baseDir)
  if (path !== ':memory:') {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
    // Create it ourselves, private, before SQLite would create it 0644 (`a` leaves an existing file as it is).
    closeSync(openSync(path, 'a', 0o600))
  }
  const sqlite = new SQLite(path, { timeout: options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS })
  // WAL lets readers run during a write; NORMAL sync is safe with WAL.
  sqlite.pragma('journal_mode = WAL')
  sqlite.pragma('synchronous = NORMAL')
  sqlite.pragma('foreign_keys = ON')
  return { db: new Kysely<Database>({ dialect: new SqliteDialect({ database: errorAware(sqlite) }) }), file: path }
}
