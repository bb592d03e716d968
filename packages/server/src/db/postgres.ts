/**
 * The PostgreSQL dialect: Kysely's PostgresDialect on a node-postgres pool. Every way the server can
 * fail to get an answer is bounded: opening a connection or waiting for a free one
 * (DATABASE_CONNECT_TIMEOUT_MS), a statement (DATABASE_STATEMENT_TIMEOUT_MS, enforced by the server and,
 * should the server hang, by the client a second later), a transaction left idle, and a dead peer (TCP
 * keepalive). Each such failure reaches the client as a 503 (errors.ts), never a hang or a 500.
 *
 * BIGINT columns (epoch seconds) come back as JS numbers, as they do from SQLite: every value we store
 * fits in 2^53.
 */

import { Kysely, PostgresDialect, type PostgresPool, type PostgresPoolClient } from 'kysely'
import pg from 'pg'
import { DatabaseUnavailableError, postgresToHttp } from './errors.ts'
import type { Database } from './schema.ts'

export interface PostgresOptions {
  /** Connections in the pool. */
  poolSize?: number
  /** Milliseconds a statement may run. */
  statementTimeoutMs?: number
  /** Milliseconds to open a connection or wait for a free one. */
  connectTimeoutMs?: number
  /** Told of errors on idle connections (PostgreSQL restarted): the pool drops those itself. */
  onIdleError?: (err: Error) => void
}

const INT8_OID = 20
/** node-postgres' type parsers, with BIGINT as a number (ours are epoch seconds and ids, far below 2^53). */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary'
      ? (value: string) => Number(value)
      : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
}

/**
 * The pool's settings for `url` and `options`, shared with the revocation listener's own connection.
 *
 * @example
 * const client = new pg.Client(postgresClientConfig(url, options))
 */
export function postgresClientConfig(url: string, options: PostgresOptions = {}): pg.ClientConfig {
  const statementTimeout = options.statementTimeoutMs ?? 5000
  return {
    connectionString: url,
    application_name: 'keycard',
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
    statement_timeout: statementTimeout,
    // A server that stopped answering (SIGSTOP, a partition) leaves the server's own timeout unenforced.
    query_timeout: statementTimeout + 1000,
    idle_in_transaction_session_timeout: Math.max(statementTimeout * 2, 10_000),
    keepAlive: true,
    types,
  }
}

/** A pool whose errors are the 503s of errors.ts; what Kysely's PostgresDialect is given. */
function errorAware(pool: pg.Pool, onIdleError: ((err: Error) => void) | undefined): PostgresPool {
  return {
    async connect(): Promise<PostgresPoolClient> {
      let client: pg.PoolClient
      try {
        client = await pool.connect()
      } catch (err) {
        throw postgresToHttp(err) ?? err
      }
      // A connection that failed (as opposed to a statement that failed) is closed, not pooled again.
      let broken = false
      // pg-pool listens for a connection's errors only while it is idle: one lost while checked out
      // between two statements (pg_terminate_backend, a restart) would be an uncaught 'error' event.
      const onError = (err: Error) => {
        broken = true
        onIdleError?.(err)
      }
      client.on('error', onError)
      return {
        query: (async (...args: Parameters<pg.PoolClient['query']>) => {
          try {
            return await (client.query as (...a: unknown[]) => Promise<unknown>)(...args)
          } catch (err) {
            const mapped = postgresToHttp(err)
            if (mapped instanceof DatabaseUnavailableError) broken = true
            throw mapped ?? err
          }
        }) as PostgresPoolClient['query'],
        release: () => {
          client.removeListener('error', onError)
          client.release(broken || undefined)
        },
      }
    },
    end: () => pool.end(),
  }
}

/**
 * A Kysely instance on the PostgreSQL server `url` names, and its pool (the caller ends it through
 * `db.destroy()`). No connection is opened until the first query.
 *
 * @example
 * const { db } = openPostgres('postgres://keycard:secret@127.0.0.1:5432/keycard', { poolSize: 10 })
 */
export function openPostgres(url: string, options: PostgresOptions = {}): { db: Kysely<Database>; pool: pg.Pool } {
  // Every connection has an error listener from birth to end: pg-pool listens only while a connection
  // is idle, errorAware while it is checked out, and an error in between (a backend's "terminating
  // connection" notice racing a hand-over) would otherwise be an uncaught 'error' event, a crash.
  const onIdleError = options.onIdleError
  class GuardedClient extends pg.Client {
    constructor(config?: string | pg.ClientConfig) {
      super(config)
      this.on('error', (err: Error) => onIdleError?.(err))
    }
  }
  const pool = new pg.Pool({
    ...postgresClientConfig(url, options),
    max: options.poolSize ?? 10,
    idleTimeoutMillis: 30_000,
    Client: GuardedClient,
  })
  // Without a listener an idle connection's error (the server restarted) would crash the process.
  pool.on('error', (err) => options.onIdleError?.(err))
  return { db: new Kysely<Database>({ dialect: new PostgresDialect({ pool: errorAware(pool, options.onIdleError) }) }), pool }
}
