/**
 * `openDatabase(url)`: a Kysely instance on the SQLite file a DATABASE_URL names (better-sqlite3), in
 * WAL mode with foreign keys on. Postgres comes later behind the same function.
 *
 * Another process (the CLI) may write the same file while the server runs. Two rules keep that safe:
 * a transaction that reads and then writes takes the write lock first (`writeTransaction`: a plain
 * BEGIN reads a snapshot, and its first write fails with SQLITE_BUSY_SNAPSHOT if the other process
 * committed meanwhile, without waiting), and a lock not had within the busy timeout is a
 * `DatabaseBusyError` (503 with Retry-After), not a 500.
 */

import { closeSync, mkdirSync, openSync } from 'node:fs'
import { dirname } from 'node:path'
import SQLite from 'better-sqlite3'
import { Kysely, SqliteDialect, sql, type SqliteDatabase, type SqliteStatement } from 'kysely'
import { sqlitePathFromUrl } from '../config.ts'
import { HttpError } from '../http-errors.ts'
import type { Database } from './schema.ts'

export type { Database } from './schema.ts'

/** Default of DATABASE_BUSY_TIMEOUT_MS: how long a statement waits for another process's lock. */
export const DEFAULT_BUSY_TIMEOUT_MS = 5000

/**
 * The database stayed locked by another process for the whole busy timeout. A 503 (the route's
 * error handler answers its message; app.ts adds Retry-After): the request can simply be retried.
 *
 * @example
 * try { await writeTransaction(db, fn) } catch (err) { if (err instanceof DatabaseBusyError) retryLater() }
 */
export class DatabaseBusyError extends HttpError {
  /** Seconds, for Retry-After. */
  readonly retryAfter = 1
  constructor(options?: { cause?: unknown }) {
    super(503, 'The database is busy (another process holds its lock); retry in a moment', 'DATABASE_BUSY')
    this.name = 'DatabaseBusyError'
    if (options?.cause !== undefined) this.cause = options.cause
  }
}

/** SQLITE_BUSY and its extended codes (_SNAPSHOT, _TIMEOUT, _RECOVERY), and SQLITE_LOCKED. */
function isBusy(err: unknown): boolean {
  return err instanceof SQLite.SqliteError && (err.code.startsWith('SQLITE_BUSY') || err.code.startsWith('SQLITE_LOCKED'))
}

function busyToHttp<T>(run: () => T): T {
  try {
    return run()
  } catch (err) {
    throw isBusy(err) ? new DatabaseBusyError({ cause: err }) : err
  }
}

/** better-sqlite3 as Kysely's dialect sees it, with lock timeouts turned into DatabaseBusyError. */
function busyAware(sqlite: SQLite.Database): SqliteDatabase {
  return {
    close: () => sqlite.close(),
    prepare(text: string): SqliteStatement {
      const stmt = busyToHttp(() => sqlite.prepare(text))
      return {
        reader: stmt.reader,
        all: (parameters) => busyToHttp(() => stmt.all(parameters)),
        run: (parameters) => busyToHttp(() => stmt.run(parameters)),
        iterate: (parameters) => stmt.iterate(parameters),
      }
    },
  }
}

export interface OpenOptions {
  /** Milliseconds a statement waits for a lock held by another process before DatabaseBusyError. */
  busyTimeoutMs?: number
}

/**
 * Opens (creating the file and its directory if needed) the database at `url`: a path, a `file:` or
 * `sqlite:` URL, or `:memory:`. Relative paths resolve against `baseDir`; pass `config.databasePath`
 * (already absolute) to open exactly the file the config names. Synchronous:
 * better-sqlite3 opens the file at once, so a bad path fails here, not on the first query.
 * A directory it creates is private (0700), and so is a file (0600; SQLite gives -wal and -shm the
 * main file's mode): they hold password hashes and sessions.
 *
 * @example
 * const db = openDatabase(config.databasePath, process.cwd(), { busyTimeoutMs: config.databaseBusyTimeoutMs })
 */
export function openDatabase(url: string, baseDir: string = process.cwd(), options: OpenOptions = {}): Kysely<Database> {
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
  return new Kysely<Database>({ dialect: new SqliteDialect({ database: busyAware(sqlite) }) })
}

/**
 * Runs `fn` in a transaction that takes the write lock at once (`BEGIN IMMEDIATE`, waiting up to the
 * busy timeout), for every transaction that reads and then writes: Kysely's `transaction()` issues a
 * plain BEGIN. Commits when `fn` resolves, rolls back when it throws. `fn` gets the one connection
 * (Kysely's mutex holds it), so nothing else of this process runs inside the transaction.
 *
 * @example
 * const moved = await writeTransaction(db, async (trx) => {
 *   const row = await trx.selectFrom('sessions').selectAll().where('id', '=', sid).executeTakeFirst()
 *   return row ? (await trx.updateTable('sessions').set({ last_used_at: now }).where('id', '=', sid).execute(), true) : false
 * })
 */
export async function writeTransaction<T>(db: Kysely<Database>, fn: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
  return db.connection().execute(async (conn) => {
    await sql`begin immediate`.execute(conn)
    let result: T
    try {
      result = await fn(conn)
    } catch (err) {
      await rollback(conn)
      throw err
    }
    try {
      await sql`commit`.execute(conn)
    } catch (err) {
      await rollback(conn)
      throw err
    }
    return result
  })
}

/** Some errors (SQLITE_FULL, an interrupted statement) already rolled back: then ROLLBACK fails, and the first error is the one to report. */
async function rollback(conn: Kysely<Database>): Promise<void> {
  await sql`rollback`.execute(conn).catch(() => undefined)
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
