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

/** One key pair of the signing keyring (keyring mode; migration 0005, src/keys/keyring.ts). */
export interface SigningKeysTable {
  /** RFC 7638 thumbprint of the public key; every token it signs carries it as `kid`. */
  kid: string
  /** ES256, EdDSA, RS256 or PS256. */
  algorithm: string
  /** next (published, not signing), current (signs; one at most), previous (verifies), retired (refused). */
  state: string
  /** The public JWK, JSON: kty and public parameters, kid, alg, use: 'sig'. */
  public_jwk: string
  /** The private key, AES-256-GCM sealed with KEYS_SECRET (src/keys/crypto.ts); NULL once retired. */
  private_key: string | null
  created_at: number
  /** next: when it becomes current. */
  activate_at: number | null
  /** When it became current. */
  activated_at: number | null
  /** When it stopped signing. */
  deactivated_at: number | null
  /** previous: when it retires (its last token has expired, plus a margin). */
  verify_until: number | null
  retired_at: number | null
}

/** One security event of the audit trail (migration 0007, src/audit/log.ts). No foreign keys: events outlive the user. */
export interface AuditEventsTable {
  id: Generated<number>
  /** Epoch seconds. */
  at: number
  /** An AuditEventType. */
  type: string
  user_id: number | null
  /** The login name when the event was written (or as typed, for a failed login). */
  username: string | null
  session_id: string | null
  /** The client address (Fastify's request.ip). */
  address: string | null
  user_agent: string | null
  /** The admin who acted, when not the user themself. */
  actor_id: number | null
  /** JSON object of scalars, or NULL. */
  detail: string | null
}

/** One throttle counter for its current fixed window (migration 0006, src/throttle/counters.ts). */
export interface ThrottleCountersTable {
  /** What is counted, e.g. `account:u:7`, `address:192.0.2.1`, `device:<hash>`. */
  key: string
  /** Epoch seconds: floor(now / window) * window. */
  window_start: number
  /** Counted attempts in this window (failed logins; every registration or password change). */
  failures: number
  /** Attempts reserved and not settled yet. */
  pending: number
  /** 1 once an attempt was refused in this window. */
  tripped: number
}

/** A device token of a user who signed in from that client (migration 0006, src/throttle/device.ts). */
export interface DeviceTokensTable {
  /** Hex SHA-256 of the token; the token itself is never stored. */
  token_hash: string
  user_id: number
  created_at: number
  last_used_at: number
}

/** A revoked token of the Flask service (migration 0008, src/flask-tokens.ts), kept until its `exp`. */
export interface FlaskTokenBlocklistTable {
  jti: string
  /** The token's `sub`. */
  user_id: number
  /** The token's `exp`: the row is purged after it. */
  expires_at: number
  revoked_at: number
}

/** Flask tokens of this user issued at or before `not_before` (their `iat`) are refused (migration 0008). */
export interface FlaskTokenCutoffsTable {
  user_id: number
  not_before: number
}

export interface Database {
  users: UsersTable
  sessions: SessionsTable
  signing_keys: SigningKeysTable
  audit_events: AuditEventsTable
  throttle_counters: ThrottleCountersTable
  device_tokens: DeviceTokensTable
  flask_token_blocklist: FlaskTokenBlocklistTable
  flask_token_cutoffs: FlaskTokenCutoffsTable
}

export type UserRow = Selectable<UsersTable>
export type NewUserRow = Insertable<UsersTable>
export type UserUpdate = Updateable<UsersTable>
export type SessionRow = Selectable<SessionsTable>
export type SigningKeyRow = Selectable<SigningKeysTable>
export type AuditEventRow = Selectable<AuditEventsTable>
