/** Users and login sessions (refresh-token families; revocation is a column of the session). */

import type { Kysely } from 'kysely'
import { dialectOf } from '../database.ts'

/** The one place the schema differs between the dialects: how an id column counts up. */
const isPostgres = (db: Kysely<any>) => dialectOf(db) === 'postgres'

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('users')
    // Ids are never reused (SQLite AUTOINCREMENT, a PostgreSQL sequence), so a deleted user's old tokens
    // can never name a new user.
    .addColumn('id', isPostgres(db) ? 'serial' : 'integer', (c) => (isPostgres(db) ? c.primaryKey() : c.primaryKey().autoIncrement()))
    .addColumn('username', 'varchar(64)', (c) => c.notNull().unique())
    .addColumn('email', 'varchar(254)', (c) => c.unique())
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('admin', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('registered_on', 'bigint', (c) => c.notNull())
    .execute()

  await db.schema
    .createTable('sessions')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('user_id', 'integer', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('last_used_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('user_agent', 'varchar(256)')
    .addColumn('refresh_jti', 'varchar(64)')
    .addColumn('previous_refresh_jti', 'varchar(64)')
    .addColumn('rotated_at', 'bigint')
    .addColumn('revoked_at', 'bigint')
    .execute()
  await db.schema.createIndex('sessions_user_id').on('sessions').column('user_id').execute()
  await db.schema.createIndex('sessions_expires_at').on('sessions').column('expires_at').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('sessions').execute()
  await db.schema.dropTable('users').execute()
}
