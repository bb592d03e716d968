/**
 * Login throttling (src/throttle/): `throttle_counters` holds one row per counted key (an account, a
 * client address, both, a device token, or an address's registrations or password changes) for its
 * current fixed window; every change is one atomic upsert, so every instance on the database shares the
 * counts. `device_tokens` holds the SHA-256 of each device token (never the token), so a client that has
 * signed in before keeps its own allowance while the account is under attack.
 *
 * Registered before 0007-audit (its number was kept for it); a database that already ran 0007 gets it
 * next (the migrator allows that order).
 */

import type { Kysely } from 'kysely'

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('throttle_counters')
    .addColumn('key', 'varchar(128)', (c) => c.primaryKey())
    // Epoch seconds, floor(now / window) * window.
    .addColumn('window_start', 'bigint', (c) => c.notNull())
    .addColumn('failures', 'integer', (c) => c.notNull().defaultTo(0))
    // Attempts reserved and not settled yet (in flight).
    .addColumn('pending', 'integer', (c) => c.notNull().defaultTo(0))
    // 1 once an attempt was refused in this window: one throttle.tripped event per window.
    .addColumn('tripped', 'integer', (c) => c.notNull().defaultTo(0))
    .execute()
  // The purge deletes the rows whose window has ended, oldest first.
  await db.schema.createIndex('throttle_counters_window').on('throttle_counters').column('window_start').execute()
  await db.schema
    .createTable('device_tokens')
    // Hex SHA-256 of the token.
    .addColumn('token_hash', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('last_used_at', 'bigint', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('device_tokens_user').on('device_tokens').column('user_id').execute()
  await db.schema.createIndex('device_tokens_last_used').on('device_tokens').column('last_used_at').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('device_tokens').execute()
  await db.schema.dropTable('throttle_counters').execute()
}
