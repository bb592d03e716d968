/**
 * The shapes of the server's JSON answers, in one place: the routes build them and the account page
 * (web/src/api.ts) imports them. This module imports nothing, so the page's type-check (DOM, no Node
 * types) can read it; the page's bundle gets no code from it (`import type` only).
 */

/** A user as `GET /auth/me` and `GET /admin/users` show it. */
export interface PublicUser {
  id: number
  username: string
  email: string | null
  admin: boolean
  /** ISO 8601. */
  registered_on: string
}

/** A session as `GET /auth/tokens` shows it. */
export interface PublicSession {
  id: string
  created_at: string
  last_used_at: string
  expires_at: string
  user_agent: string | null
  current: boolean
}

/**
 * `GET /auth/tokens`.
 *
 * @example
 * ```ts
 * const { sessions } = await api<SessionList>('GET', '/auth/tokens')
 * ```
 */
export interface SessionList {
  sessions: PublicSession[]
}

/**
 * `GET /admin/users?limit=&after=`: users by id, a page at a time by key. `next` is the `after` of the
 * following page (the last id on this one), or null on the last page.
 *
 * @example
 * ```ts
 * const first = await api<UserPage>('GET', '/admin/users?limit=50') // first.users.length <= 50
 * if (first.next !== null) await api<UserPage>('GET', `/admin/users?limit=50&after=${first.next}`)
 * ```
 */
export interface UserPage {
  users: PublicUser[]
  total: number
  limit: number
  next: number | null
}

/**
 * `POST /auth/logout-all`, `POST /auth/password`, `DELETE /admin/users/:id`: a message and how many
 * sessions were revoked.
 *
 * @example
 * ```ts
 * const { revoked_sessions } = await api<RevokedSessions>('POST', '/auth/logout-all')
 * ```
 */
export interface RevokedSessions {
  msg: string
  revoked_sessions: number
}

/**
 * `GET /.well-known/openid-configuration` (keyring mode): the tokens' `iss` and where their public keys are.
 *
 * @example
 * ```ts
 * const { issuer, jwks_uri } = await (await fetch(`${base}/.well-known/openid-configuration`)).json() as OpenIdConfiguration
 * ```
 */
export interface OpenIdConfiguration {
  issuer: string
  jwks_uri: string
}

/**
 * One security event as `GET /auth/events` and `GET /admin/audit` show it (and `keycard audit --json`
 * prints it, one per line). `type` is one of the server README's "Audit trail" table.
 *
 * @example
 * ```ts
 * const e: PublicAuditEvent = { id: 12, at: '2026-01-02T03:04:05.000Z', type: 'login.succeeded', user_id: 7, username: 'alice',
 *   session_id: 'Jb3…', address: '203.0.113.9', user_agent: 'Firefox/140', actor_id: null, detail: { mode: 'cookie' } }
 * ```
 */
export interface PublicAuditEvent {
  id: number
  /** ISO 8601. */
  at: string
  type: string
  user_id: number | null
  username: string | null
  session_id: string | null
  address: string | null
  user_agent: string | null
  actor_id: number | null
  detail: Record<string, string | number | boolean | null> | null
}

/**
 * `GET /auth/events?limit=&before=`: the caller's own recent security events, newest first, a page at a
 * time by key; `next` is the `before` of the following page, or null on the last one.
 *
 * @example
 * ```ts
 * const page = await api<AuditEventList>('GET', '/auth/events?limit=20')
 * if (page.next !== null) await api<AuditEventList>('GET', `/auth/events?limit=20&before=${page.next}`)
 * ```
 */
export interface AuditEventList {
  events: PublicAuditEvent[]
  next: number | null
}

/**
 * `GET /admin/audit?limit=&before=&user=&type=&since=`: events newest first, a page at a time by key;
 * `next` is the `before` of the following page, or null on the last one.
 *
 * @example
 * ```ts
 * const page = await api<AuditPage>('GET', '/admin/audit?limit=50&type=login.failed')
 * if (page.next !== null) await api<AuditPage>('GET', `/admin/audit?limit=50&type=login.failed&before=${page.next}`)
 * ```
 */
export interface AuditPage {
  events: PublicAuditEvent[]
  limit: number
  next: number | null
}

/**
 * The server's own error codes; the server README's "Errors" table says what each means. keycard's
 * token errors answer with their `KEYCARD_*` codes instead.
 */
export type ServerErrorCode =
  | 'BAD_REQUEST'
  | 'MALFORMED_JSON'
  | 'EMPTY_BODY'
  | 'BAD_CONTENT_LENGTH'
  | 'BODY_NOT_OBJECT'
  | 'MISSING_FIELD'
  | 'INVALID_FIELD'
  | 'INVALID_QUERY'
  | 'INVALID_TOKEN_MODE'
  | 'BAD_CREDENTIALS'
  | 'TOO_MANY_ATTEMPTS'
  | 'ADMIN_REQUIRED'
  | 'NOT_FOUND'
  | 'USER_NOT_FOUND'
  | 'SESSION_NOT_FOUND'
  | 'USER_EXISTS'
  | 'BODY_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'INTERNAL_ERROR'
  | 'DATABASE_UNAVAILABLE'
  | 'DATABASE_BUSY'
  | 'REVOCATION_VIEW_STALE'
  | 'PAGE_NOT_BUILT'
  | 'NO_PUBLIC_KEYS'
  | 'SIGNING_KEY_UNAVAILABLE'
  | 'HEADERS_TOO_LARGE'
  | 'REQUEST_TIMEOUT'
  | 'PATH_TOO_LONG'
  | 'BAD_URL'
  | 'CORS_ORIGIN_NOT_ALLOWED'
  | 'FLASK_TOKENS_ENDED'
  | 'FLASK_TOKEN_USER_UNKNOWN'

/** keycard's token error codes (its `KeycardErrorCode`; test/api-types.test.ts keeps the two in step). */
export type TokenErrorCode = `KEYCARD_${string}`

/**
 * The body of every error answer; `field` is set when one request field is to blame.
 *
 * @example
 * ```ts
 * const body: ErrorBody = { msg: 'Missing field: password', code: 'MISSING_FIELD', field: 'password' }
 * ```
 */
export interface ErrorBody {
  msg: string
  code: ServerErrorCode | TokenErrorCode
  field?: string
}
