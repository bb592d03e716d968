/**
 * What several instances need to learn of each other's revocations: an index on `sessions.revoked_at`
 * (the poll reads the recent ones by it, on both dialects), a partial index of the admins (the poll
 * re-reads that set whole, every second on SQLite: no scan of a million users) and, on PostgreSQL,
 * triggers that NOTIFY in
 * the same transaction as the write, so every writer notifies (the server, the CLI, hand-written SQL)
 * and a notification is delivered only if, and once, the write has committed.
 *
 * Channels (db/listener.ts listens on them):
 * - `keycard_revocations`: `'<session id> <expires_at>'` when a session's `revoked_at` is first set, or
 *   a session is inserted already revoked;
 * - `keycard_admins`: `'<user id> <0|1>'` when a user's admin flag changes, `'<user id> 0'` when the
 *   user is deleted. The flag travels with the id, so an instance applies notifications in commit order
 *   without reading the row back.
 */

import { sql, type Kysely } from 'kysely'
import { dialectOf } from '../database.ts'

export const REVOCATIONS_CHANNEL = 'keycard_revocations'
export const ADMINS_CHANNEL = 'keycard_admins'

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('sessions_revoked_at').on('sessions').column('revoked_at').execute()
  // The same statements on both dialects (partial indexes; no bound parameter, which DDL cannot take).
  await sql`create index users_admins on users (id) where admin = 1`.execute(db)
  // What start-up loads (revoked, unexpired sessions), covered: without it SQLite walked the
  // expires_at index over every session (1.5–5 s on 2 M sessions; bench/README.md, "Scale").
  await sql`create index sessions_revoked_live on sessions (expires_at, id) where revoked_at is not null`.execute(db)
  if (dialectOf(db) !== 'postgres') return
  await sql`
    create function keycard_notify_revocation() returns trigger language plpgsql as $$
    begin
      perform pg_notify('keycard_revocations', NEW.id || ' ' || NEW.expires_at);
      return null;
    end $$`.execute(db)
  await sql`
    create trigger sessions_notify_revoked after update of revoked_at on sessions for each row
    when (OLD.revoked_at is null and NEW.revoked_at is not null) execute function keycard_notify_revocation()`.execute(db)
  await sql`
    create trigger sessions_notify_inserted_revoked after insert on sessions for each row
    when (NEW.revoked_at is not null) execute function keycard_notify_revocation()`.execute(db)
  await sql`
    create function keycard_notify_admin() returns trigger language plpgsql as $$
    begin
      if TG_OP = 'DELETE' then
        perform pg_notify('keycard_admins', OLD.id || ' 0');
      else
        perform pg_notify('keycard_admins', NEW.id || ' ' || NEW.admin);
      end if;
      return null;
    end $$`.execute(db)
  await sql`
    create trigger users_notify_admin_changed after update of admin on users for each row
    when (OLD.admin is distinct from NEW.admin) execute function keycard_notify_admin()`.execute(db)
  await sql`create trigger users_notify_deleted after delete on users for each row execute function keycard_notify_admin()`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  if (dialectOf(db) === 'postgres') {
    await sql`drop trigger users_notify_deleted on users`.execute(db)
    await sql`drop trigger users_notify_admin_changed on users`.execute(db)
    await sql`drop trigger sessions_notify_inserted_revoked on sessions`.execute(db)
    await sql`drop trigger sessions_notify_revoked on sessions`.execute(db)
    await sql`drop function keycard_notify_admin()`.execute(db)
    await sql`drop function keycard_notify_revocation()`.execute(db)
  }
  await db.schema.dropIndex('sessions_revoked_live').execute()
  await db.schema.dropIndex('users_admins').execute()
  await db.schema.dropIndex('sessions_revoked_at').execute()
}
