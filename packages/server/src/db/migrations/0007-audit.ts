/**
 * The audit trail (src/audit/log.ts): one row per security event. `user_id` has no foreign key, and
 * `username` is a snapshot of the login name: events outlive the user they are about. `detail` is a
 * JSON object of scalars. Rows are read newest first, all of them (GET /admin/audit, by `at` for
 * `since` and the retention purge) or one user's (GET /auth/events, `keycard audit --user`).
 */

import type { Kysely } from 'kysely'
import { dialectOf } from '../database.ts'

export async function up(db: Kysely<any>): Promise<void> {
  const postgres = dialectOf(db) === 'postgres'
  await db.schema
    .createTable('audit_events')
    // Never reused (SQLite AUTOINCREMENT, a PostgreSQL sequence): pages are by id.
    .addColumn('id', postgres ? 'bigserial' : 'integer', (c) => (postgres ? c.primaryKey() : c.primaryKey().autoIncrement()))
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('type', 'varchar(32)', (c) => c.notNull())
    .addColumn('user_id', 'integer')
    .addColumn('username', 'varchar(254)')
    .addColumn('session_id', 'varchar(64)')
    .addColumn('address', 'varchar(64)')
    .addColumn('user_agent', 'varchar(512)')
    .addColumn('actor_id', 'integer')
    .addColumn('detail', 'text')
    .execute()
  await db.schema.createIndex('audit_events_at').on('audit_events').column('at').execute()
  await db.schema.createIndex('audit_events_user').on('audit_events').columns(['user_id', 'id']).execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('audit_events').execute()
}
