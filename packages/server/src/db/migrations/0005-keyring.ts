/**
 * The signing keyring (keyring mode: JWT_ALGORITHM other than HS256). One row per key pair; its state
 * moves next → current → previous → retired and never back (src/keys/keyring.ts). The schema itself
 * holds the invariants several instances rely on: at most one current and at most one next key
 * (partial unique indexes: a second one fails to insert, whoever writes it), and a retired key keeps
 * no private key.
 *
 * On PostgreSQL a trigger NOTIFYs channel `keycard_keys` with `'<state>:<kid>'` on every insert and
 * update, in the writing transaction, so every instance learns of a rotation or a retirement (by the
 * server, the CLI or hand-written SQL) once it has committed, as 0004 does for revocations.
 */

import { sql, type Kysely } from 'kysely'
import { dialectOf } from '../database.ts'

/**
 * The channel the trigger notifies, payload `'<state>:<kid>'` (src/keys/notifications.ts parses it).
 *
 * @example
 * await listener.query(`LISTEN ${KEYS_CHANNEL}`)
 */
export const KEYS_CHANNEL = 'keycard_keys'

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('signing_keys')
    // The RFC 7638 thumbprint of the public key (43 base64url characters).
    .addColumn('kid', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('algorithm', 'varchar(16)', (c) => c.notNull())
    .addColumn('state', 'varchar(16)', (c) => c.notNull().check(sql`state in ('next', 'current', 'previous', 'retired')`))
    .addColumn('public_jwk', 'text', (c) => c.notNull())
    // AES-256-GCM sealed PKCS#8 PEM (src/keys/crypto.ts); NULL once retired.
    .addColumn('private_key', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('activate_at', 'bigint')
    .addColumn('activated_at', 'bigint')
    .addColumn('deactivated_at', 'bigint')
    .addColumn('verify_until', 'bigint')
    .addColumn('retired_at', 'bigint')
    .addCheckConstraint('signing_keys_private_key', sql`(state = 'retired') = (private_key is null)`)
    .execute()
  // The same statements on both dialects (partial indexes, as 0004).
  await sql`create unique index signing_keys_one_current on signing_keys (state) where state = 'current'`.execute(db)
  await sql`create unique index signing_keys_one_next on signing_keys (state) where state = 'next'`.execute(db)
  if (dialectOf(db) !== 'postgres') return
  await sql`
    create function keycard_notify_key() returns trigger language plpgsql as $$
    begin
      perform pg_notify('keycard_keys', NEW.state || ':' || NEW.kid);
      return null;
    end $$`.execute(db)
  await sql`create trigger signing_keys_notify after insert or update on signing_keys for each row execute function keycard_notify_key()`.execute(
    db,
  )
}

export async function down(db: Kysely<any>): Promise<void> {
  if (dialectOf(db) === 'postgres') {
    await sql`drop trigger signing_keys_notify on signing_keys`.execute(db)
    await sql`drop function keycard_notify_key()`.execute(db)
  }
  await db.schema.dropTable('signing_keys').execute()
}
