/**
 * Who is an admin, kept in memory for GET /auth/verify's `X-User-Admin`: the database decides, not the
 * token's `admin` claim (which says what was true when the token was minted), and the hot path makes no
 * database round trip. The admin set is small, so it is re-read whole on the same poll that picks up
 * revocations written by another process (the CLI); changes this process makes apply at once.
 */

import type { Kysely } from 'kysely'
import type { Database } from './db/schema.ts'

export class Admins {
  /** User ids as the `sub` claim spells them. */
  #ids = new Set<string>()

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

  /** Re-reads the whole set (a demotion or deletion by another process). */
  async reload(db: Kysely<Database>): Promise<void> {
    const rows = await db.selectFrom('users').select('id').where('admin', '=', 1).execute()
    this.#ids = new Set(rows.map((r) => String(r.id)))
  }

  /** `true` when the user `identity` (a token's `sub`) is an admin. */
  has(identity: string): boolean {
    return this.#ids.has(identity)
  }

  /** Records a change this process just wrote (a deleted user is no admin). */
  set(userId: number, admin: boolean): void {
    if (admin) this.#ids.add(String(userId))
    else this.#ids.delete(String(userId))
  }
}
