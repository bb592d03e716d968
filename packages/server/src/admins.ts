/**
 * Who is an admin, kept in memory for GET /auth/verify's `X-User-Admin`: the database decides, not the
 * token's `admin` claim (which says what was true when the token was minted), and the hot path makes no
 * database round trip. Changes this process makes apply at once; those of other processes arrive by
 * NOTIFY on PostgreSQL (db/listener.ts), and the set, being small, is re-read whole on every poll.
 */

import { type Kysely, sql } from 'kysely'
import type { Database } from './db/schema.ts'

export class Admins {
  /** User ids as the `sub` claim spells them. */
  #ids = new Set<string>()
  /**
   * Changes heard while a re-read is in flight: the re-read's snapshot may predate them, so they are
   * applied again on top of it (else a demotion notified mid-poll would be undone until the next poll).
   */
  readonly #during = new Set<Map<string, boolean>>()

  /**
   * Reads the admins of `db`.
   *
   * @example
   * const admins = await Admins.load(db)
   * admins.has('1') // true when user 1 is an admin now
   */
  static async load(db: Kysely<Database>): Promise<Admins> {
    const admins = new Admins()
    await admins.reload(db)
    return admins
  }

  /**
   * Re-reads the whole set (a demotion or deletion by another process).
   *
   * @example
   * await admins.reload(db)
   */
  async reload(db: Kysely<Database>): Promise<void> {
    const during = new Map<string, boolean>()
    this.#during.add(during)
    try {
      // A literal, not a parameter: only then may SQLite use the partial index `users_admins` (migration 0004).
      const rows = await db.selectFrom('users').select('id').where(sql<boolean>`admin = 1`).execute()
      const ids = new Set(rows.map((r) => String(r.id)))
      for (const [id, admin] of during) admin ? ids.add(id) : ids.delete(id)
      this.#ids = ids
    } finally {
      this.#during.delete(during)
    }
  }

  /**
   * `true` when the user `identity` (a token's `sub`) is an admin.
   *
   * @example
   * reply.header('x-user-admin', admins.has(claims.sub) ? 'true' : 'false')
   */
  has(identity: string): boolean {
    return this.#ids.has(identity)
  }

  /**
   * Records a change this process just wrote or was notified of (a deleted user is no admin).
   *
   * @example
   * admins.set(7, false) // user 7 demoted or deleted
   */
  set(userId: number | string, admin: boolean): void {
    const id = String(userId)
    if (admin) this.#ids.add(id)
    else this.#ids.delete(id)
    for (const during of this.#during) during.set(id, admin)
  }
}
