/**
 * Login sessions: one per login, the family of refresh tokens that rotation produces. Refreshing
 * rotates (the used refresh token is replaced by a successor); presenting a used one again is reuse and
 * revokes the whole session, except within `refreshReuseInterval` seconds of its first use, when the
 * repeat gets tokens of the same successor (two tabs refreshing at once neither fork the session nor
 * log the user out). Revoking writes the session row and the in-memory state together.
 */

import { randomUUID } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { Keycard } from 'keycard'
import type { PublicSession } from './api-types.ts'
import type { Admins } from './admins.ts'
import { lockForUpdate, writeTransaction } from './db/database.ts'
import type { Database, SessionRow, UserRow } from './db/schema.ts'
import { DATABASE_CLAIM, nowSeconds, SESSION_CLAIM, type Revocations } from './revocations.ts'
import { SigningKeyUnavailableError } from './keys/signing.ts'

export interface SessionTokens {
  access_token: string
  refresh_token?: string
}

/** A session as `GET /auth/tokens` shows it (the shape is in api-types.ts, which the account page imports too). */
export type { PublicSession }

export type RefreshResult =
  | { outcome: 'rotated' | 'repeated'; tokens: Required<SessionTokens> }
  /** Session unknown, revoked, or of a deleted user. */
  | { outcome: 'revoked' }
  /** A used refresh token presented after the grace interval: the session is now revoked. */
  | { outcome: 'reused' }

export interface SessionsOptions {
  db: Kysely<Database>
  keycard: Keycard
  revocations: Revocations
  /** Told the admin flag of every user row read to mint a token: a user made admin by the CLI is one on /auth/verify from their next login. */
  admins: Admins
  /** Seconds; 0 = every repeat is reuse. */
  refreshReuseInterval: number
  /** Seconds an access token lives (ACCESS_TOKEN_EXPIRES). */
  accessTokenExpires: number
  /**
   * Keyring mode: whether the keycard holds its signing key. It does not for the moments between the
   * retirement of the current key and the re-read that brings its successor; minting then answers 503.
   */
  canSign?: () => boolean
}

/** The claims `reissueAccess` needs from a verified access token. */
export interface AccessClaims {
  sid: string
  sub: string
  exp: number
}

const MAX_USER_AGENT = 256

/** `exp` of a token we just minted (its payload is ours, so no verification is needed). */
function expiryOf(token: string): number {
  const payload = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { exp: number }
  return payload.exp
}

const iso = (seconds: number) => new Date(seconds * 1000).toISOString()

export class Sessions {
  readonly #db: Kysely<Database>
  readonly #keycard: Keycard
  readonly #revocations: Revocations
  readonly #admins: Admins
  readonly #reuseInterval: number
  readonly #accessLifetime: number
  readonly #canSign: (() => boolean) | undefined

  constructor(options: SessionsOptions) {
    this.#db = options.db
    this.#keycard = options.keycard
    this.#canSign = options.canSign
    this.#revocations = options.revocations
    this.#admins = options.admins
    this.#reuseInterval = options.refreshReuseInterval
    this.#accessLifetime = options.accessTokenExpires
  }

  /** The claims every token of ours carries: its session, and the database it was issued against. */
  #claims(sid: string): Record<string, string> {
    const claims: Record<string, string> = { [SESSION_CLAIM]: sid }
    if (this.#revocations.databaseId !== undefined) claims[DATABASE_CLAIM] = this.#revocations.databaseId
    return claims
  }

  #access(user: UserRow, sid: string, fresh: boolean, expiresIn?: number): Promise<string> {
    this.#admins.set(user.id, user.admin === 1)
    if (this.#canSign?.() === false) return Promise.reject(new SigningKeyUnavailableError())
    return this.#keycard.createAccessToken(String(user.id), {
      fresh,
      additionalClaims: { ...this.#claims(sid), admin: user.admin === 1 },
      ...(expiresIn ? { expiresIn } : {}),
    })
  }

  /** A live (not revoked, not expired) session of `userId`, with its user, or undefined. */
  async #live(sid: string, userId: number): Promise<{ session: SessionRow; user: UserRow } | undefined> {
    if (this.#revocations.isSessionRevoked(sid)) return undefined
    const session = await this.#db
      .selectFrom('sessions')
      .selectAll()
      .where('id', '=', sid)
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst()
    if (!session || session.expires_at <= nowSeconds()) return undefined
    const user = await this.#db.selectFrom('users').selectAll().where('id', '=', userId).executeTakeFirst()
    return user ? { session, user } : undefined
  }

  /**
   * A new access token for the session of a verified access token about to expire (implicit refresh
   * of cookie sessions): same session id, current admin flag, not fresh. It never outlives the session
   * row (so revoking and purging the session still cover it); undefined when the session is gone or
   * the new token would expire no later than the old one.
   */
  async reissueAccess(claims: AccessClaims): Promise<string | undefined> {
    const userId = Number(claims.sub)
    const live = Number.isSafeInteger(userId) ? await this.#live(claims.sid, userId) : undefined
    if (!live) return undefined
    const now = nowSeconds()
    const lifetime = Math.min(this.#accessLifetime, live.session.expires_at - now)
    if (now + lifetime <= claims.exp) return undefined
    const token = await this.#access(live.user, claims.sid, false, lifetime)
    await this.#db.updateTable('sessions').set({ last_used_at: now }).where('id', '=', claims.sid).execute()
    return token
  }

  /**
   * A fresh access token for an existing live session of `user` (fresh-login from a browser that is
   * already signed in: the password change that follows keeps this session). Undefined when the
   * session is not live or not the user's.
   */
  async freshAccess(user: UserRow, sid: string): Promise<string | undefined> {
    const live = await this.#live(sid, user.id)
    if (!live) return undefined
    const now = nowSeconds()
    const token = await this.#access(live.user, sid, true, Math.min(this.#accessLifetime, live.session.expires_at - now))
    await this.#db.updateTable('sessions').set({ last_used_at: now }).where('id', '=', sid).execute()
    return token
  }

  #refresh(user: UserRow, sid: string, jti: string, expiresIn?: number): Promise<string> {
    if (this.#canSign?.() === false) return Promise.reject(new SigningKeyUnavailableError())
    return this.#keycard.createRefreshToken(String(user.id), {
      additionalClaims: { ...this.#claims(sid), jti },
      ...(expiresIn ? { expiresIn } : {}),
    })
  }

  /**
   * Starts a login session for `user`: a fresh or non-fresh access token and, unless `withRefresh` is
   * false (fresh-login), a refresh token. `options.db` is a transaction to insert the session in
   * (registration's, with the new user).
   */
  async start(
    user: UserRow,
    options: { fresh: boolean; withRefresh: boolean; userAgent?: string | undefined; db?: Kysely<Database> },
  ): Promise<SessionTokens & { sessionId: string }> {
    const sid = randomUUID()
    const jti = randomUUID()
    const access_token = await this.#access(user, sid, options.fresh)
    const refresh_token = options.withRefresh ? await this.#refresh(user, sid, jti) : undefined
    const now = nowSeconds()
    await (options.db ?? this.#db)
      .insertInto('sessions')
      .values({
        id: sid,
        user_id: user.id,
        created_at: now,
        last_used_at: now,
        expires_at: Math.max(expiryOf(access_token), refresh_token ? expiryOf(refresh_token) : 0),
        user_agent: options.userAgent ? options.userAgent.slice(0, MAX_USER_AGENT) : null,
        refresh_jti: refresh_token ? jti : null,
      })
      .execute()
    return { sessionId: sid, access_token, ...(refresh_token ? { refresh_token } : {}) }
  }

  /** Rotates the session of a verified refresh token (claims `sid`, `jti`, `sub`). */
  async refresh(claims: { sid: string; jti: string; sub: string }): Promise<RefreshResult> {
    // One transaction that locks the session first: on SQLite it takes the write lock before reading, on
    // PostgreSQL it locks the row (FOR UPDATE). Two concurrent refreshes of one token, on one instance or
    // two, are thus serialized, and the second reads the first's rotation (a repeat, within the reuse
    // interval); the conditional UPDATE is a second guard.
    const result = await writeTransaction(this.#db, async (trx): Promise<RefreshResult & { revoke?: SessionRow }> => {
      const session = await lockForUpdate(trx, trx.selectFrom('sessions').selectAll().where('id', '=', claims.sid)).executeTakeFirst()
      if (!session || session.revoked_at !== null || session.user_id === null || String(session.user_id) !== claims.sub)
        return { outcome: 'revoked' }
      const user = await trx.selectFrom('users').selectAll().where('id', '=', session.user_id).executeTakeFirst()
      if (!user) return { outcome: 'revoked' }
      const now = nowSeconds()

      if (session.refresh_jti === claims.jti) {
        const next = randomUUID()
        const access_token = await this.#access(user, session.id, false)
        const refresh_token = await this.#refresh(user, session.id, next)
        const { numUpdatedRows } = await trx
          .updateTable('sessions')
          .set({
            refresh_jti: next,
            previous_refresh_jti: claims.jti,
            rotated_at: now,
            last_used_at: now,
            expires_at: Math.max(expiryOf(access_token), expiryOf(refresh_token)),
          })
          .where('id', '=', session.id)
          .where('refresh_jti', '=', claims.jti)
          .executeTakeFirst()
        if (numUpdatedRows === 1n) return { outcome: 'rotated', tokens: { access_token, refresh_token } }
        return { outcome: 'revoked' } // lost a race on a database without serialized transactions
      }

      const inGrace =
        this.#reuseInterval > 0 &&
        session.previous_refresh_jti === claims.jti &&
        session.rotated_at !== null &&
        now - session.rotated_at <= this.#reuseInterval
      if (inGrace && session.refresh_jti !== null) {
        // The same successor: its jti, so either copy rotates it next, and an expiry inside the session's.
        const access_token = await this.#access(user, session.id, false)
        const refresh_token = await this.#refresh(user, session.id, session.refresh_jti, Math.max(1, session.expires_at - now))
        const expiresAt = Math.max(session.expires_at, expiryOf(access_token))
        await trx.updateTable('sessions').set({ last_used_at: now, expires_at: expiresAt }).where('id', '=', session.id).execute()
        return { outcome: 'repeated', tokens: { access_token, refresh_token } }
      }

      await trx.updateTable('sessions').set({ revoked_at: now }).where('id', '=', session.id).execute()
      return { outcome: 'reused', revoke: session }
    })
    if (result.outcome === 'reused' && result.revoke) this.#revocations.add([result.revoke])
    if (result.outcome === 'reused') return { outcome: 'reused' }
    return result
  }

  /** Revokes one session; with `userId`, only if it is that user's. Returns false when there was nothing to revoke. */
  async revoke(sessionId: string, userId?: number): Promise<boolean> {
    let query = this.#db
      .updateTable('sessions')
      .set({ revoked_at: nowSeconds() })
      .where('id', '=', sessionId)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', nowSeconds())
    if (userId !== undefined) query = query.where('user_id', '=', userId)
    const rows = await query.returning(['id', 'expires_at']).execute()
    this.#revocations.add(rows)
    return rows.length > 0
  }

  /** Revokes every session of a user, except `exceptSessionId`: one statement however many there are. Returns how many. */
  async revokeAll(userId: number, exceptSessionId?: string): Promise<number> {
    let query = this.#db
      .updateTable('sessions')
      .set({ revoked_at: nowSeconds() })
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
    if (exceptSessionId !== undefined) query = query.where('id', '!=', exceptSessionId)
    const rows = await query.returning(['id', 'expires_at']).execute()
    this.#revocations.add(rows)
    return rows.filter((r) => r.expires_at > nowSeconds()).length
  }

  /**
   * Sets a user's password hash and revokes every other session of theirs, in one transaction: a
   * password change never lands without the revocation (nor the reverse), even beside another writer.
   * Returns how many live sessions were revoked.
   */
  async changePassword(userId: number, passwordHash: string, exceptSessionId: string): Promise<number> {
    const now = nowSeconds()
    const rows = await writeTransaction(this.#db, async (trx) => {
      await trx.updateTable('users').set({ password_hash: passwordHash }).where('id', '=', userId).execute()
      return trx
        .updateTable('sessions')
        .set({ revoked_at: now })
        .where('user_id', '=', userId)
        .where('revoked_at', 'is', null)
        .where('id', '!=', exceptSessionId)
        .returning(['id', 'expires_at'])
        .execute()
    })
    this.#revocations.add(rows)
    return rows.filter((r) => r.expires_at > now).length
  }

  /** A user's live sessions, newest first; `currentId` marks the one the request came with. */
  async list(userId: number, currentId: string | undefined): Promise<PublicSession[]> {
    const rows = await this.#db
      .selectFrom('sessions')
      .selectAll()
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', nowSeconds())
      .orderBy('created_at', 'desc')
      .orderBy('id')
      .execute()
    return rows.map((s) => ({
      id: s.id,
      created_at: iso(s.created_at),
      last_used_at: iso(s.last_used_at),
      expires_at: iso(s.expires_at),
      user_agent: s.user_agent,
      current: s.id === currentId,
    }))
  }
}
