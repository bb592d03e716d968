/**
 * Table types for Kysely. Times are whole epoch seconds (`bigint` columns, numbers in JS), booleans are
 * 0/1 integers: both portable between SQLite and Postgres.
 */

import type { Generated, Insertable, Selectable, Updateable } from 'kysely'

export interface UsersTable {
  id: Generated<number>
  /** As typed, NFC (identity-rules.ts checkUsername); rows from before 0002 are lower-cased. */
  username: string
  /** usernameKey(username): unique, what logins and lookups match. */
  username_key: string
  /** Trimmed, NFC, domain lower-cased (checkEmail); rows from before 0002 are lower-cased. */
  email: string | null
  /** emailKey(email): unique when present; NULL with an email only for a row 0002 found colliding. */
  email_key: string | null
  /** argon2id PHC string; it carries its own parameters. */
  password_hash: string
  /** 0 or 1. */
  admin: Generated<number>
  registered_on: number
}

/** A login session: one per login, the family of refresh tokens that rotation produces. */
export interface SessionsTable {
  /** Random id; every token of the session carries it as the `sid` claim. */
  id: string
  /** NULL once the user is deleted (the row stays, revoked, until its tokens have expired). */
  user_id: number | null
  created_at: number
  last_used_at: number
  /** When the last token of this session expires; the row is purged after it. */
  expires_at: number
  user_agent: string | null
  /** jti of the one refresh token that may be used next; NULL for a fresh-login (access-only) session. */
  refresh_jti: string | null
  /** jti of the refresh token it replaced: a repeat within the reuse interval gets the same successor. */
  previous_refresh_jti: string | null
  /** When `previous_refresh_jti` was used. */
  rotated_at: number | null
  /** Set when the session is revoked; every token carrying its id is refused. */
  revoked_at: number | null
}

export interface Database {
  users: UsersTable
  sessions: SessionsTable
}

export type UserRow = Selectable<UsersTable>
export type NewUserRow = Insertable<UsersTable>
export type UserUpdate = Updateable<UsersTable>
export type SessionRow = Selectable<SessionsTable>
