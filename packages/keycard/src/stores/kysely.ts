/**
 * `keycard/stores/kysely`: a RevocationStore in any Kysely database (SQLite, PostgreSQL, MySQL), shared
 * by every process on that database. `isRevoked` answers from memory, synchronously; the memory is kept
 * current by PostgreSQL `LISTEN/NOTIFY` when you pass `listen` (the NOTIFY is sent in the revoking
 * transaction), and by polling the table otherwise. Past `maxStaleness` without confirming its view
 * it fails closed (see `SharedStoreOptions.maxStaleness` and `StoreUnavailableError`).
 *
 * @example
 * import { createRevocationTable, KyselyRevocationStore } from 'keycard/stores/kysely'
 * await createRevocationTable(db)
 * const store = await new KyselyRevocationStore({ db, listen: pool }).ready()
 * const keycard = await createKeycard({ secret, revocationStore: store })
 */

import type { Kysely } from 'kysely'
import { KeycardOptionError } from '../errors.ts'
import { checkIdentifier, detectDialect, RevocationQueries, type RevocationDatabase, type SqlDialect } from './kysely-sql.ts'
import { parseNotification } from './payload.ts'
import { PgListener, type PgListenSource } from './pg-listener.ts'
import { SeqGaps } from './seq-gaps.ts'
import { loadTimeout, within } from './timeout.ts'
import { SharedRevocationStore } from './shared-store.ts'
import { checkNumber, type SharedStoreOptions } from './view.ts'

export { StoreUnavailableError, isStoreUnavailable, storeErrorResponse, type StoreUnavailableReason } from './errors.ts'
export { createRevocationTable, detectDialect, type RevocationTable, type SqlDialect } from './kysely-sql.ts'
export type { PgClientLike, PgListenSource } from './pg-listener.ts'
export type { SharedStoreOptions, StoreEvents, StoreState, StoreStatus } from './view.ts'

/**
 * Options of `KyselyRevocationStore`; times in milliseconds.
 *
 * @example
 * const options: KyselyStoreOptions = { db, listen: pool, maxStaleness: 5000 }
 */
export interface KyselyStoreOptions extends SharedStoreOptions {
  /** The database; the store never closes it. Create the table first with `createRevocationTable`. */
  // biome-ignore lint/suspicious/noExplicitAny: the store works on any database type, reading only its own table
  db: Kysely<any>
  /** The table. Default `keycard_revocations`. */
  table?: string
  /**
   * PostgreSQL only: where the LISTEN connection comes from, a `pg.Pool` (the one under your
   * PostgresDialect: the store keeps one of its clients) or a connection string. Without it the store polls.
   */
  listen?: PgListenSource
  /** The NOTIFY channel. Default the table name. */
  channel?: string
  /** Polling mode: how often the table is read for new rows. Default 500. */
  pollInterval?: number
  /** LISTEN mode: how often the connection is proven alive. Default 1000. */
  heartbeatInterval?: number
  /** Override the SQL family detected from `db`. */
  dialect?: SqlDialect
}

/** Rows read per query when loading or polling. */
const PAGE = 5000
/** Rows deleted per statement when sweeping. */
const SWEEP_BATCH = 1000
/** How long a skipped seq is waited for (see SeqGaps). */
const GAP_TIMEOUT = 60_000
const GAP_LIMIT = 1000

/**
 * @example
 * const store = await new KyselyRevocationStore({ db }).ready() // SQLite: polls every 500 ms
 * await store.revoke(claims.jti, claims.exp) // committed when it resolves
 * store.isRevoked(claims.jti) // true, synchronously
 * await store.close()
 */
export class KyselyRevocationStore extends SharedRevocationStore {
  /** `listen` (LISTEN/NOTIFY) or `poll`. */
  readonly mode: 'listen' | 'poll'
  readonly dialect: SqlDialect
  readonly #queries: RevocationQueries
  readonly #listener: PgListener | undefined
  readonly #gaps = new SeqGaps(GAP_TIMEOUT, GAP_LIMIT)
  readonly #pollInterval: number
  #pollTimer: NodeJS.Timeout | undefined
  #sweepTimer: NodeJS.Timeout | undefined
  #pollFailures = 0
  #closed = false

  constructor(options: KyselyStoreOptions) {
    if (typeof options !== 'object' || options === null) throw new KeycardOptionError('db', 'pass { db } with a Kysely instance.')
    const db = options.db as Kysely<RevocationDatabase> | undefined
    if (!db || typeof db.selectFrom !== 'function')
      throw new KeycardOptionError('db', 'expected a Kysely instance (new Kysely({ dialect })).')
    super(options)
    const { maxStaleness } = this.shared
    const table = checkIdentifier('table', options.table, 'keycard_revocations')
    const channel = checkIdentifier('channel', options.channel, table)
    this.dialect = options.dialect ?? detectDialect(db)
    this.#pollInterval = checkNumber('pollInterval', options.pollInterval, 500, 1)
    const heartbeatInterval = checkNumber('heartbeatInterval', options.heartbeatInterval, 1000, 1)
    const interval = options.listen === undefined ? ['pollInterval', this.#pollInterval] : ['heartbeatInterval', heartbeatInterval]
    if ((interval[1] as number) >= maxStaleness)
      throw new KeycardOptionError(
        interval[0] as string,
        `must be below maxStaleness (${maxStaleness} ms), or the store goes stale between two confirmations.`,
      )
    if (options.listen !== undefined) {
      if (this.dialect !== 'postgres')
        throw new KeycardOptionError(
          'listen',
          `LISTEN/NOTIFY is PostgreSQL's and this database is ${this.dialect}: leave listen out to poll.`,
        )
      const source = options.listen
      if (typeof source !== 'string' && typeof (source as { connect?: unknown })?.connect !== 'function')
        throw new KeycardOptionError('listen', 'expected a pg.Pool or a postgres:// connection string.')
    }
    this.mode = options.listen === undefined ? 'poll' : 'listen'
    this.#queries = new RevocationQueries(db, table, this.dialect, channel)

    if (options.listen !== undefined) {
      const now = () => this.shared.now() * 1000
      this.#listener = new PgListener(
        options.listen,
        channel,
        { heartbeatInterval, timeout: maxStaleness, now },
        {
          notify: (payload) => {
            const parsed = parseNotification(payload)
            if (parsed) this.view.add(parsed.jti, parsed.expiresAt)
          },
          reload: () => this.#readAfter(0, 0, false),
          resynced: (asOf) => this.view.resynced(asOf),
          confirmed: (asOf) => this.view.confirm(asOf),
          lost: (cause) => this.view.lost(cause),
        },
      )
      this.#listener.start()
    } else {
      void this.#poll()
    }
    if (this.shared.sweepInterval > 0) {
      this.#sweepTimer = setInterval(() => void this.sweep().catch(() => {}), this.shared.sweepInterval)
      this.#sweepTimer.unref()
    }
  }

  /** Records the revocation; resolves once committed (then this process enforces it at once, the others within a poll or a notification). */
  override async revoke(jti: string, expiresAt: number | null): Promise<void> {
    if (this.#closed) throw this.view.error('closed')
    const exp = this.expiryToStore(jti, expiresAt)
    if (exp === undefined) return
    try {
      await within(this.#queries.insert(jti, exp), this.shared.maxStaleness, 'the revocation write')
    } catch (err) {
      throw this.view.error('write-failed', err)
    }
    this.view.add(jti, exp)
  }

  /** Drops expired entries from memory and from the table (in batches); returns how many rows were deleted. */
  async sweep(now = this.shared.now()): Promise<number> {
    this.view.sweep(now)
    const cutoff = Math.floor(now - this.shared.leeway)
    let deleted = 0
    for (;;) {
      const n = await this.#queries.sweep(cutoff, SWEEP_BATCH)
      deleted += n
      if (n < SWEEP_BATCH || this.#closed) return deleted
    }
  }

  /** Stops polling, listening and sweeping (the listener's connection is closed or given back); `db` stays open. */
  override async close(): Promise<void> {
    this.#closed = true
    clearTimeout(this.#pollTimer)
    clearInterval(this.#sweepTimer)
    this.#listener?.close()
    this.view.close()
  }

  /** Reads every row after `from`, page by page, into the view; `track` feeds the poll's gap tracking. */
  async #readAfter(from: number, now: number, track: boolean): Promise<void> {
    let cursor = from
    for (;;) {
      const rows = await this.#queries.after(cursor, PAGE)
      for (const row of rows) {
        this.view.add(row.jti, row.expiresAt)
        if (track) this.#gaps.observe(row.seq, now)
        cursor = row.seq
      }
      if (rows.length < PAGE) return
    }
  }

  async #poll(): Promise<void> {
    if (this.#closed) return
    const started = this.shared.now() * 1000
    try {
      await within(this.#readAfter(this.#gaps.from, started, true), loadTimeout(this.shared.maxStaleness), 'a poll')
      this.#gaps.expire(started)
      this.#pollFailures = 0
      if (this.view.synced) this.view.confirm(started)
      else this.view.resynced(started) // polling resumes from its cursor: nothing was missed
    } catch (err) {
      this.#pollFailures++
      this.view.lost(err)
    }
    if (this.#closed) return
    const delay = this.#pollFailures === 0 ? this.#pollInterval : Math.min(this.#pollInterval, 50 * 2 ** this.#pollFailures)
    this.#pollTimer = setTimeout(() => void this.#poll(), delay)
  }
}
