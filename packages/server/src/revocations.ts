/**
 * What is revoked, kept in memory so the per-request check (keycard's `tokenInBlocklist`) costs no
 * database round trip. The state is loaded once at start and updated by every write of this process
 * that revokes; the database stays the source of truth, and what other processes (other instances, the
 * CLI) revoke arrives by NOTIFY on PostgreSQL and by a short poll on both (revocation-sync.ts).
 *
 * Revocation is per login session: every token carries its session id (`sid`), and a session is
 * revoked by one write to its row. Revoking all of a user's sessions, or deleting the user, is one
 * `UPDATE … RETURNING` whatever the number of tokens. Entries are dropped, from memory and from the
 * database, once every token of the session has expired.
 */

import { setImmediate as nextTurn } from 'node:timers/promises'
import { MemoryRevocationStore } from 'keycard'
import { sql, type Kysely } from 'kysely'
import { dialectOf } from './db/database.ts'
import type { Database } from './db/schema.ts'
import type { RevokedSession } from './users.ts'

/** The claim that holds the login session id. */
export const SESSION_CLAIM = 'sid'
/** The claim that holds the id of the database a token was issued against (migration 0003-database-identity). */
export const DATABASE_CLAIM = 'dbid'

/**
 * The database's random identity (made by its first migrations); throws when the table is missing.
 *
 * @example
 * const id = await readDatabaseId(db) // 'q3Zr1fX0bQd5T8w2YkL9aA'
 */
export async function readDatabaseId(db: Kysely<Database>): Promise<string> {
  const { rows } = await sql<{ id: string }>`select id from database_identity where singleton = 1`.execute(db)
  const id = rows[0]?.id
  if (typeof id !== 'string' || id === '')
    throw new Error('The database has no identity row (table database_identity); run `keycard migrate`')
  return id
}

export class Revocations {
  /** Revoked session ids until their last token expires: keycard's memory store, keyed by session id. The purge timer sweeps it. */
  readonly #sessions = new MemoryRevocationStore({ sweepInterval: 0 })
  /** The id every accepted token carries in DATABASE_CLAIM; undefined only for a state built without a database (unit tests). */
  readonly databaseId: string | undefined

  constructor(databaseId?: string) {
    this.databaseId = databaseId
  }

  /** Loads the database's identity and the revoked sessions whose tokens may still be presented. */
  static async load(db: Kysely<Database>, now = nowSeconds()): Promise<Revocations> {
    const state = new Revocations(await readDatabaseId(db))
    const rows = await db
      .selectFrom('sessions')
      .select(['id', 'expires_at'])
      .where('revoked_at', 'is not', null)
      .where('expires_at', '>', now)
      .execute()
    state.add(rows)
    return state
  }

  /**
   * `true` when a verified token must be refused: issued against another database (or before tokens
   * carried the database's id), no session id, or a revoked session.
   */
  isRevoked(claims: Record<string, unknown>): boolean {
    if (this.databaseId !== undefined && claims[DATABASE_CLAIM] !== this.databaseId) return true
    const sid = claims[SESSION_CLAIM]
    return typeof sid !== 'string' || this.#sessions.isRevoked(sid)
  }

  /**
   * Picks up the sessions revoked (by anyone) at or after `since` (epoch seconds) whose tokens may still
   * be presented; returns how many rows it read. By the `revoked_at` index (migration 0004).
   *
   * @example
   * await revocations.sync(db, lastPollStartSeconds - marginSeconds)
   */
  async sync(db: Kysely<Database>, since: number, now = nowSeconds(), onLearned?: (lagSeconds: number) => void): Promise<number> {
    const rows = await db
      .selectFrom('sessions')
      .select(['id', 'expires_at', 'revoked_at'])
      .where('revoked_at', '>=', since)
      .where('expires_at', '>', now)
      .execute()
    if (onLearned) {
      // Only sessions this instance did not know were revoked: another process's revocations.
      const applied = Date.now() / 1000
      for (const row of rows) if (!this.#sessions.isRevoked(row.id)) onLearned(Math.max(0, applied - Number(row.revoked_at)))
    }
    this.add(rows)
    return rows.length
  }

  isSessionRevoked(sessionId: string): boolean {
    return this.#sessions.isRevoked(sessionId)
  }

  /** Records sessions that a write has just revoked. */
  add(sessions: readonly RevokedSession[]): void {
    for (const s of sessions) this.#sessions.revoke(s.id, Number(s.expires_at))
  }

  /** Drops the entries whose tokens have all expired; returns how many. */
  purge(now = nowSeconds()): number {
    return this.#sessions.sweep(now)
  }

  get size(): number {
    return this.#sessions.size
  }
}

/** Rows one purge statement deletes: short statements, with the event loop free between them. */
export const PURGE_BATCH = 1000
/** The advisory lock key the PostgreSQL purge holds, so one instance purges at a time ('keycard purge'). */
export const PURGE_LOCK = 0x6b63_7067

/**
 * Deletes the sessions (revoked or not) whose last token has expired, `batch` rows per statement and
 * yielding to the event loop between statements, then the matching memory entries. On PostgreSQL one
 * instance at a time purges the table (a session advisory lock; `rows` is null on the others, which
 * only sweep their memory).
 *
 * @example
 * const { rows, memory } = await purgeExpired(db, revocations)
 */
export async function purgeExpired(
  db: Kysely<Database>,
  revocations: Revocations,
  now = nowSeconds(),
  batch = PURGE_BATCH,
): Promise<{ rows: number | null; memory: number }> {
  const rows = dialectOf(db) === 'postgres' ? await purgePostgres(db, now, batch) : await deleteExpired(db, now, batch)
  return { rows, memory: revocations.purge(now) }
}

async function deleteExpired(db: Kysely<Database>, now: number, batch: number): Promise<number> {
  let total = 0
  for (;;) {
    const { numDeletedRows } = await db
      .deleteFrom('sessions')
      .where('id', 'in', (eb) => eb.selectFrom('sessions').select('id').where('expires_at', '<=', now).limit(batch))
      .executeTakeFirst()
    total += Number(numDeletedRows)
    if (Number(numDeletedRows) < batch) return total
    await nextTurn()
  }
}

/** The purge on one pooled connection that holds the advisory lock; null when another instance holds it. */
function purgePostgres(db: Kysely<Database>, now: number, batch: number): Promise<number | null> {
  return db.connection().execute(async (conn) => {
    const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_lock(${PURGE_LOCK}) as locked`.execute(conn)
    if (!rows[0]?.locked) return null
    try {
      return await deleteExpired(conn, now, batch)
    } finally {
      // A lost connection releases the lock with it; then this fails, and the first error is the one to report.
      await sql`select pg_advisory_unlock(${PURGE_LOCK})`.execute(conn).catch(() => undefined)
    }
  })
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000)
}
