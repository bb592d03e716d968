/**
 * `openDatabase(url)`: a Kysely instance on what DATABASE_URL names, a SQLite file (sqlite.ts, the
 * embedded default) or a PostgreSQL server (postgres.ts), with the same schema, migrations and queries
 * on both. Where the dialects must differ (a transaction that reads then writes, a row lock), the
 * functions here hide it: `writeTransaction`, `lockForUpdate`, `dialectOf`.
 */

import { existsSync, statSync } from 'node:fs'
import { type Kysely, PostgresAdapter, type SelectQueryBuilder, sql } from 'kysely'
import { isPostgresUrl, type Config, type DatabaseDialect } from '../config.ts'
import { openPostgres, type PostgresOptions } from './postgres.ts'
import type { Database } from './schema.ts'
import { openSqlite, type SqliteOptions } from './sqlite.ts'

export type { Database } from './schema.ts'
export type { DatabaseDialect } from '../config.ts'
export { DatabaseBusyError, DatabaseUnavailableError, isUniqueViolation, type DatabaseError } from './errors.ts'
export { DEFAULT_BUSY_TIMEOUT_MS } from './sqlite.ts'

export interface OpenOptions extends SqliteOptions, PostgresOptions {}

interface Opened {
  dialect: DatabaseDialect
  /** The SQLite file (absolute), or undefined for PostgreSQL and `:memory:`. */
  file: string | undefined
  /** Its inode when opened: a file deleted (or replaced) under a running server is noticed. */
  ino: number | undefined
  /** PostgreSQL: the node-postgres pool (for its connection counts). */
  pool?: { totalCount: number; idleCount: number; waitingCount: number }
  /** SQLite: write transactions waiting for the one connection, and running. */
  writes: { waiting: number }
}
const opened = new WeakMap<Kysely<Database>, Opened>()

/**
 * Opens the database at `url`: a PostgreSQL URL (`postgres://` or `postgresql://`), or a SQLite path,
 * `file:`/`sqlite:` URL, or `:memory:` (relative paths resolve against `baseDir`; pass
 * `config.databasePath`, already absolute, to open exactly the file the config names).
 *
 * @example
 * const db = openDatabase(config.databasePath, process.cwd(), databaseOptions(config))
 */
export function openDatabase(url: string, baseDir: string = process.cwd(), options: OpenOptions = {}): Kysely<Database> {
  if (isPostgresUrl(url)) {
    const { db, pool } = openPostgres(url.trim(), options)
    opened.set(db, { dialect: 'postgres', file: undefined, ino: undefined, pool, writes: { waiting: 0 } })
    return db
  }
  const { db, file } = openSqlite(url, baseDir, options)
  const isFile = file !== ':memory:'
  opened.set(db, {
    dialect: 'sqlite',
    file: isFile ? file : undefined,
    ino: isFile ? statSync(file).ino : undefined,
    writes: { waiting: 0 },
  })
  return db
}

/**
 * The options `openDatabase` takes, from the server's configuration.
 *
 * @example
 * openDatabase(config.databasePath, undefined, databaseOptions(config, (err) => log.warn({ err })))
 */
export function databaseOptions(config: Config, onIdleError?: (err: Error) => void): OpenOptions {
  return {
    busyTimeoutMs: config.databaseBusyTimeoutMs,
    poolSize: config.databasePoolSize,
    statementTimeoutMs: config.databaseStatementTimeoutMs,
    connectTimeoutMs: config.databaseConnectTimeoutMs,
    ...(onIdleError ? { onIdleError } : {}),
  }
}

/**
 * Which dialect `db` speaks: a database `openDatabase` opened, or a transaction or connection handle of
 * one (a new Kysely object, whose dialect is read off its adapter).
 *
 * @example
 * if (dialectOf(db) === 'postgres') await sql`select pg_notify('x', '')`.execute(db)
 */
export function dialectOf(db: Kysely<Database>): DatabaseDialect {
  const known = opened.get(db)
  if (known) return known.dialect
  return db.getExecutor().adapter instanceof PostgresAdapter ? 'postgres' : 'sqlite'
}

/**
 * Runs `fn` in a transaction for work that reads and then writes; commits when `fn` resolves, rolls
 * back when it throws. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`, waiting up to the
 * busy timeout: Kysely's `transaction()` issues a plain BEGIN), and `fn` gets the one connection, so
 * nothing else of this process runs inside it. On PostgreSQL it is a READ COMMITTED transaction: rows
 * that decide the write are read with `lockForUpdate`, so a concurrent transaction of another instance
 * waits for this one and then reads what it committed.
 *
 * @example
 * const moved = await writeTransaction(db, async (trx) => {
 *   const row = await lockForUpdate(trx, trx.selectFrom('sessions').selectAll().where('id', '=', sid)).executeTakeFirst()
 *   return row ? (await trx.updateTable('sessions').set({ last_used_at: now }).where('id', '=', sid).execute(), true) : false
 * })
 */
export async function writeTransaction<T>(db: Kysely<Database>, fn: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
  if (dialectOf(db) === 'postgres') return db.transaction().execute(fn)
  // Counted while waiting for the one connection: the metrics' SQLite writer queue.
  const writes = opened.get(db)?.writes
  if (writes) writes.waiting++
  let counted = writes !== undefined
  const settle = () => {
    if (counted && writes) writes.waiting--
    counted = false
  }
  return db
    .connection()
    .execute(async (conn) => {
      settle()
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
    .finally(settle)
}

/**
 * The database's connection use now: a PostgreSQL pool's counts, or (SQLite) the write transactions
 * waiting for the one connection; undefined for a database `openDatabase` did not open.
 *
 * @example
 * poolUse(db) // { total: 3, idle: 2, waiting: 0 } or { writesWaiting: 0 }
 */
export function poolUse(db: Kysely<Database>): { total: number; idle: number; waiting: number } | { writesWaiting: number } | undefined {
  const info = opened.get(db)
  if (!info) return undefined
  if (info.pool) return { total: info.pool.totalCount, idle: info.pool.idleCount, waiting: info.pool.waitingCount }
  return { writesWaiting: info.writes.waiting }
}

/**
 * `query … FOR UPDATE` on PostgreSQL (the row stays locked until the transaction ends); the query as
 * is on SQLite, where `writeTransaction` already holds the database's only write lock. `db` is the
 * transaction's handle (writeTransaction's `trx`), whose dialect is its parent's.
 *
 * @example
 * const session = await lockForUpdate(trx, trx.selectFrom('sessions').selectAll().where('id', '=', sid)).executeTakeFirst()
 */
export function lockForUpdate<O>(
  db: Kysely<Database>,
  query: SelectQueryBuilder<Database, keyof Database, O>,
): SelectQueryBuilder<Database, keyof Database, O> {
  return dialectOf(db) === 'postgres' ? query.forUpdate() : query
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

/**
 * Whether the database can be written now, not only read: the SQLite file must still be the one that
 * was opened (not deleted or replaced), and a real write must commit (a full disk, a read-only file
 * or server, a lost connection fail it). Returns the reason it cannot, or undefined when it can.
 *
 * @example
 * const problem = await probeWritable(db) // undefined, or 'the database file was deleted'
 */
export async function probeWritable(db: Kysely<Database>): Promise<string | undefined> {
  const info = opened.get(db)
  if (info?.file !== undefined) {
    if (!existsSync(info.file)) return 'the database file was deleted'
    if (statSync(info.file).ino !== info.ino) return 'the database file was replaced'
  }
  try {
    if (info?.dialect === 'sqlite' && (await sqliteAtMaxSize(db))) return 'the disk is full'
    // A no-op update is still a write: it takes the write lock and commits a page (WAL) on both dialects.
    await writeTransaction(db, (trx) => sql`update database_identity set created_at = created_at where singleton = 1`.execute(trx))
    return undefined
  } catch (err) {
    return err instanceof Error && 'status' in err ? err.message : 'the database cannot be written'
  }
}

/**
 * A SQLite database that cannot grow by a page: at its `max_page_count` with no free page left. The
 * probe's own write rewrites a page in place, so it would pass while every insert fails SQLITE_FULL.
 */
async function sqliteAtMaxSize(db: Kysely<Database>): Promise<boolean> {
  const one = async (pragma: string) => Number(Object.values((await sql.raw(`pragma ${pragma}`).execute(db)).rows[0] ?? {})[0])
  const [pages, max, free] = [await one('page_count'), await one('max_page_count'), await one('freelist_count')]
  return pages >= max && free === 0
}
