/**
 * Writes an import plan into Keycard's database: in one write transaction it reads the users Keycard
 * has, plans (plan.ts), inserts the accepted rows under their source ids, moves the id sequence past
 * them, and records a `user.created` audit event for each (detail `via: 'import'`). A failure rolls it
 * all back, so a run imports everything it planned or nothing.
 */

import { type Kysely, sql } from 'kysely'
import { AuditLog } from '../audit/log.ts'
import { dialectOf, writeTransaction } from '../db/database.ts'
import type { Database } from '../db/schema.ts'
import { emailKey, usernameKey } from '../identity-rules.ts'
import { maxUserId } from '../users.ts'
import { type ExistingUsers, type ImportPlan, planImport } from './plan.ts'
import type { SourceRow } from './source.ts'

/** Rows per INSERT: well under SQLite's 32,766 bound parameters (8 columns each). */
const CHUNK = 500

async function existingUsers(db: Kysely<Database>): Promise<ExistingUsers> {
  const rows = await db.selectFrom('users').select(['id', 'username_key', 'email_key']).execute()
  const existing: ExistingUsers = { byId: new Map(), usernameKeys: new Map(), emailKeys: new Map() }
  for (const row of rows) {
    existing.byId.set(row.id, row.username_key)
    existing.usernameKeys.set(row.username_key, row.id)
    if (row.email_key !== null) existing.emailKeys.set(row.email_key, row.id)
  }
  return existing
}

/**
 * Imports `rows` (or, with `dryRun`, only plans them) and returns the plan.
 *
 * @example
 * const plan = await importUsers(db, await readSourceUsers(from, mapping), { dryRun: false, now: () => Date.now() })
 */
export async function importUsers(
  db: Kysely<Database>,
  rows: SourceRow[],
  options: { dryRun: boolean; now?: () => number },
): Promise<ImportPlan> {
  const now = Math.floor((options.now ?? Date.now)() / 1000)
  const plan = (existing: ExistingUsers) => planImport(rows, existing, { maxId: maxUserId(db), now })
  if (options.dryRun) return plan(await existingUsers(db))
  return writeTransaction(db, async (trx) => {
    const result = plan(await existingUsers(trx))
    for (let i = 0; i < result.users.length; i += CHUNK) {
      const values = result.users.slice(i, i + CHUNK).map((u) => ({
        id: u.id,
        username: u.username,
        username_key: usernameKey(u.username),
        email: u.email,
        email_key: u.email === null ? null : emailKey(u.email),
        password_hash: u.password_hash,
        admin: u.admin,
        registered_on: u.registered_on,
      }))
      await trx.insertInto('users').values(values).execute()
    }
    // SQLite's AUTOINCREMENT already moved past explicit ids; a PostgreSQL serial's sequence did not.
    if (result.users.length > 0 && dialectOf(db) === 'postgres')
      await sql`select setval(pg_get_serial_sequence('users', 'id'), (select max(id) from users))`.execute(trx)
    const audit = new AuditLog(trx)
    for (const u of result.users)
      await audit.record({ type: 'user.created', userId: u.id, username: u.username, detail: { admin: u.admin === 1, via: 'import' } })
    return result
  })
}
