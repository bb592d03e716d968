/**
 * Case-insensitive usernames and emails by key: adds `users.username_key` and `users.email_key`
 * (identity-rules.ts usernameKey / emailKey), fills them for the existing rows and makes each unique.
 *
 * Before this migration usernames were stored lower-cased ASCII, so their keys cannot collide; emails
 * were lower-cased but not NFC-normalised or case-folded, so "straße@x.de" and "strasse@x.de" (or an
 * é typed two ways) could both exist and now share a key. No row is changed beyond its new key, and
 * none is dropped: the lowest id keeps the key, and each later row that collides is reported and
 * - for a username, gets the key `<key>#<id>` (`#` is never in a username, so no one can take it): the
 *   user logs in with their email until the operator renames them (`keycard users rename`);
 * - for an email, gets no email key: the address still shows, but only the first row logs in with it.
 *
 * The keys are computed here in JS, not SQL, so old rows are keyed exactly as new ones are. The
 * columns stay nullable (SQLite cannot add a NOT NULL column without a default, and a table rebuild
 * would have to suspend the sessions' foreign key); users.ts always writes both.
 */

import type { Kysely } from 'kysely'
import { emailKey, usernameKey } from '../../identity-rules.ts'
import { dialectOf } from '../database.ts'

/** A row whose key collided with an earlier row's, as reported by the migration. */
export interface KeyCollision {
  field: 'username' | 'email'
  /** The later row, the one whose key was disambiguated (username) or left empty (email). */
  userId: number
  /** The earlier row that keeps the key. */
  keptUserId: number
  /** What the operator is told. Names users by id and username only: emails are not logged. */
  message: string
}

export type CollisionReport = (collision: KeyCollision) => void

/**
 * The unique indexes' names. On PostgreSQL, 0001's `unique()` columns already made constraints called
 * users_username_key and users_email_key (its naming rule), so these take a suffix there; SQLite
 * databases keep the names they were created with.
 */
function indexNames(db: Kysely<any>): { username: string; email: string } {
  return dialectOf(db) === 'postgres'
    ? { username: 'users_username_key_unique', email: 'users_email_key_unique' }
    : { username: 'users_username_key', email: 'users_email_key' }
}

export async function up(db: Kysely<any>, report: CollisionReport = () => {}): Promise<void> {
  // SQLite runs Kysely migrations outside a transaction: without one, a failure half-way would leave
  // the columns added and the migration unrecorded, and every retry would fail on "duplicate column".
  // PostgreSQL runs each migration in a transaction already (transactional DDL): that one is used.
  const inTransaction = <T>(fn: (trx: Kysely<any>) => Promise<T>): Promise<T> => (db.isTransaction ? fn(db) : db.transaction().execute(fn))
  const collisions = await inTransaction(async (trx) => {
    await trx.schema.alterTable('users').addColumn('username_key', 'text').execute()
    await trx.schema.alterTable('users').addColumn('email_key', 'text').execute()

    const rows = await trx.selectFrom('users').select(['id', 'username', 'email']).orderBy('id').execute()
    const byUsername = new Map<string, { id: number; username: string }>()
    const byEmail = new Map<string, number>()
    const found: KeyCollision[] = []
    for (const row of rows as { id: number; username: string; email: string | null }[]) {
      let uKey = usernameKey(row.username)
      const owner = byUsername.get(uKey)
      if (owner) {
        found.push({
          field: 'username',
          userId: row.id,
          keptUserId: owner.id,
          message:
            `migration 0002-identity-keys: username ${JSON.stringify(row.username)} (id ${row.id}) is the same name, ignoring case, as ${JSON.stringify(owner.username)} (id ${owner.id}); ` +
            `it cannot log in by name (by email it still can) until renamed: keycard users rename ${row.id} <new-name>`,
        })
        uKey = `${uKey}#${row.id}`
      } else byUsername.set(uKey, { id: row.id, username: row.username })

      let eKey = row.email === null ? null : emailKey(row.email.trim())
      const emailOwner = eKey === null ? undefined : byEmail.get(eKey)
      if (emailOwner !== undefined) {
        found.push({
          field: 'email',
          userId: row.id,
          keptUserId: emailOwner,
          message:
            `migration 0002-identity-keys: the email of user ${JSON.stringify(row.username)} (id ${row.id}) is the same address, ignoring case and Unicode form, as user id ${emailOwner}'s; ` +
            `only id ${emailOwner} can log in with it now: change or clear one of them (see the server README, "Usernames, emails and passwords")`,
        })
        eKey = null
      } else if (eKey !== null) byEmail.set(eKey, row.id)

      await trx.updateTable('users').set({ username_key: uKey, email_key: eKey }).where('id', '=', row.id).execute()
    }

    const names = indexNames(trx)
    await trx.schema.createIndex(names.username).on('users').column('username_key').unique().execute()
    await trx.schema.createIndex(names.email).on('users').column('email_key').unique().execute()
    return found
  })
  for (const collision of collisions) report(collision)
}

export async function down(db: Kysely<any>): Promise<void> {
  const names = indexNames(db)
  await db.schema.dropIndex(names.email).execute()
  await db.schema.dropIndex(names.username).execute()
  // DROP COLUMN needs SQLite 3.35 (better-sqlite3 ships a newer one).
  await db.schema.alterTable('users').dropColumn('email_key').execute()
  await db.schema.alterTable('users').dropColumn('username_key').execute()
}
