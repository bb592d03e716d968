/**
 * Database failures as the client sees them. A lock held too long is `DatabaseBusyError`; a database
 * that cannot be reached or written (PostgreSQL stopped, a dropped connection, the pool exhausted, a
 * statement timeout, a full disk, a deleted SQLite file) is `DatabaseUnavailableError`. Both are 503
 * with Retry-After and a message, never a 500: the request may simply be retried, and nothing was
 * acknowledged (a write either committed before the answer, or the answer is this error).
 */

import SQLite from 'better-sqlite3'
import { HttpError } from '../http-errors.ts'

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

/**
 * The database cannot be reached or written right now; `reason` says which, for people (it never holds
 * a query, a value or a password). 503 with Retry-After.
 *
 * @example
 * throw new DatabaseUnavailableError('the connection to PostgreSQL was lost', { cause: err })
 */
export class DatabaseUnavailableError extends HttpError {
  /** Seconds, for Retry-After. */
  readonly retryAfter = 1
  constructor(reason: string, options?: { cause?: unknown }) {
    super(503, `The database is unavailable (${reason}); retry in a moment`, 'DATABASE_UNAVAILABLE')
    this.name = 'DatabaseUnavailableError'
    if (options?.cause !== undefined) this.cause = options.cause
  }
}

/** Either 503 of the database. */
export type DatabaseError = DatabaseBusyError | DatabaseUnavailableError

/**
 * `true` for a unique-index violation on either database (SQLite's SQLITE_CONSTRAINT_UNIQUE,
 * PostgreSQL's 23505): a registration or rename that lost a race.
 *
 * @example
 * if (isUniqueViolation(err)) throw new UserExistsError('username')
 */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === '23505'
}

/** SQLite codes that mean "cannot write or read the file now", with what the client is told. */
const SQLITE_UNAVAILABLE: readonly [prefix: string, reason: string][] = [
  ['SQLITE_FULL', 'the disk is full'],
  ['SQLITE_IOERR', 'a disk I/O error'],
  ['SQLITE_READONLY', 'the database file cannot be written'],
  ['SQLITE_CANTOPEN', 'the database file cannot be opened'],
  ['SQLITE_CORRUPT', 'the database file is damaged'],
  ['SQLITE_NOTADB', 'the database file is damaged'],
]

/**
 * The 503 a better-sqlite3 error stands for, or undefined for any other error (a constraint, a bug).
 *
 * @example
 * const mapped = sqliteToHttp(err); if (mapped) throw mapped
 */
export function sqliteToHttp(err: unknown): DatabaseError | undefined {
  if (!(err instanceof SQLite.SqliteError)) return undefined
  if (err.code.startsWith('SQLITE_BUSY') || err.code.startsWith('SQLITE_LOCKED')) return new DatabaseBusyError({ cause: err })
  const hit = SQLITE_UNAVAILABLE.find(([prefix]) => err.code.startsWith(prefix))
  return hit ? new DatabaseUnavailableError(hit[1], { cause: err }) : undefined
}

/** node-postgres and socket failures (no SQLSTATE): the connection is gone, refused, or timed out. */
const PG_CLIENT_MESSAGES: readonly [RegExp, string][] = [
  [/timeout exceeded when trying to connect/i, 'no connection was free or could be opened in time'],
  // pg's own connectionTimeoutMillis: "Connection terminated due to connection timeout" (not a lost connection).
  [/due to connection timeout/i, 'no connection was free or could be opened in time'],
  [/query read timeout/i, 'a query took too long'],
  [/connection terminated|not queryable|connection error|server closed the connection/i, 'the connection to PostgreSQL was lost'],
]

const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN'])

/**
 * The 503 a node-postgres error stands for, or undefined for any other error. By SQLSTATE class: 08
 * (connection), 53 (out of resources: too many connections, disk full), 57 (shut down, cancelled by
 * the statement timeout), 40 (serialization or deadlock: retryable), 25P03 (idle in transaction), and
 * the client's own socket and timeout errors.
 *
 * @example
 * const mapped = postgresToHttp(err); if (mapped) throw mapped
 */
export function postgresToHttp(err: unknown): DatabaseError | undefined {
  if (!(err instanceof Error) || err instanceof HttpError) return undefined
  const code = (err as { code?: unknown }).code
  if (typeof code === 'string') {
    if (SOCKET_CODES.has(code)) return new DatabaseUnavailableError('PostgreSQL cannot be reached', { cause: err })
    if (code === '57014') return new DatabaseUnavailableError('a query took longer than DATABASE_STATEMENT_TIMEOUT_MS', { cause: err })
    if (code.startsWith('57')) return new DatabaseUnavailableError('PostgreSQL is shutting down or starting up', { cause: err })
    if (code.startsWith('08')) return new DatabaseUnavailableError('the connection to PostgreSQL was lost', { cause: err })
    if (code === '53100') return new DatabaseUnavailableError('the database disk is full', { cause: err })
    if (code.startsWith('53')) return new DatabaseUnavailableError('PostgreSQL is out of connections or memory', { cause: err })
    if (code === '40001' || code === '40P01' || code === '55P03') return new DatabaseBusyError({ cause: err })
    if (code === '25P03' || code === '25006') return new DatabaseUnavailableError('the database cannot be written now', { cause: err })
  }
  const hit = PG_CLIENT_MESSAGES.find(([pattern]) => pattern.test(err.message))
  return hit ? new DatabaseUnavailableError(hit[1], { cause: err }) : undefined
}
