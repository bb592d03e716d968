/**
 * What is revoked, kept in memory so the per-request check (keycard's `tokenInBlocklist`) costs no
 * database round trip. The server is the only writer of its SQLite file, so the state is loaded once
 * at start and updated by every write that revokes; the database stays the source of truth, and a
 * short poll picks up what another process (the CLI) revoked.
 *
 * Revocation is per login session: every token carries its session id (`sid`), and a session is
 * revoked by one write to its row. Revoking all of a user's sessions, or deleting the user, is one
 * `UPDATE … RETURNING` whatever the number of tokens. Entries are dropped, from memory and from the
 * database, once every token of the session has expired.
 */

import { MemoryRevocationStore } from 'keycard'
import { sql, type Kysely } from 'kysely'
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
   * Picks up sessions revoked by another process since `since` (epoch seconds), e.g. `keycard users
   * delete` while the server runs; returns the newest `revoked_at` seen, to pass next time.
   */
  async sync(db: Kysely<Database>, since: number, now = nowSeconds()): Promise<number> {
    const rows = await db
      .selectFrom('sessions')
      .select(['id', 'expires_at', 'revoked_at'])
      .where('revoked_at', '>=', since)
      .where('expires_at', '>', now)
      .execute()
    this.add(rows)
    return rows.reduce((max, r) => Math.max(max, Number(r.revoked_at)), since)
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

/** Deletes the sessions (revoked or not) whose last token has expired, then the matching memory entries. */
export async function purgeExpired(
  db: Kysely<Database>,
  revocations: Revocations,
  now = nowSeconds(),
): Promise<{ rows: number; memory: number }> {
  const { numDeletedRows } = await db.deleteFrom('sessions').where('expires_at', '<=', now).executeTakeFirst()
  return { rows: Number(numDeletedRows), memory: revocations.purge(now) }
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000)
}
