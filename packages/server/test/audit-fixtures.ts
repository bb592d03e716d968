/**
 * What the audit tests share: the fields of a public event, and a database that refuses audit rows
 * (a real failure of the insert alone, by trigger, on either dialect).
 */

import { type Kysely, sql } from 'kysely'
import type { Database } from '../src/db/schema.ts'
import type { Dialect } from './helpers.ts'

/** The keys of one event in GET /admin/audit, GET /auth/events and `keycard audit --json`, sorted. */
export const PUBLIC_EVENT_KEYS = Object.freeze([
  'actor_id',
  'address',
  'at',
  'detail',
  'id',
  'session_id',
  'type',
  'user_agent',
  'user_id',
  'username',
])

/** From now on every insert into audit_events fails with "audit refused". */
export async function refuseAuditWrites(db: Kysely<Database>, dialect: Dialect): Promise<void> {
  if (dialect === 'postgres') {
    await sql`create function refuse_audit() returns trigger language plpgsql as $$ begin raise exception 'audit refused'; end $$`.execute(
      db,
    )
    await sql`create trigger refuse_audit before insert on audit_events for each row execute function refuse_audit()`.execute(db)
  } else {
    await sql`create trigger refuse_audit before insert on audit_events begin select raise(abort, 'audit refused'); end`.execute(db)
  }
}
