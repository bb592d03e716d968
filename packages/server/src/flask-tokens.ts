/**
 * The Flask token window (ACCEPT_FLASK_TOKENS_UNTIL): until then the server also accepts the tokens a
 * Flask-JWT-Extended service signed with the same secret. They carry no session id (`sid`) nor database
 * id (`dbid`), so the in-memory revocation state (revocations.ts) cannot vouch for them; each one is
 * checked here with one database read instead: its `sub` names an existing user, its `jti` is not in
 * `flask_token_blocklist`, and it was issued after the user's `flask_token_cutoffs` row (migration 0008).
 * A read per request costs more than the memory check, but these tokens are few and temporary, and every
 * instance sees a logout the moment it commits, with no propagation to wait for.
 */

import type { Kysely } from 'kysely'
import type { JwtClaims, ResponseBuilders } from 'keycard'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { writeTransaction } from './db/database.ts'
import type { Database, UserRow } from './db/schema.ts'
import { TOKEN_ERROR_RESPONSES } from './http-errors.ts'
import { DATABASE_CLAIM, nowSeconds, SESSION_CLAIM } from './revocations.ts'
import { maxUserId } from './users.ts'

/**
 * What a Flask token is refused with once the window has ended (code `FLASK_TOKENS_ENDED`).
 *
 * @example
 * assert.equal(res.body.msg, FLASK_TOKENS_ENDED)
 */
export const FLASK_TOKENS_ENDED =
  'Tokens issued by the Flask service are no longer accepted (ACCEPT_FLASK_TOKENS_UNTIL has passed): sign in again'
/**
 * What a Flask token whose `sub` names no user of this server is refused with (code `FLASK_TOKEN_USER_UNKNOWN`).
 *
 * @example
 * assert.equal(res.body.msg, FLASK_TOKEN_NO_USER)
 */
export const FLASK_TOKEN_NO_USER = 'The token names no user of this server (is the user imported?): sign in again'

/**
 * Why a Flask token was refused: the window is over, its user is unknown, or it (or its user's older tokens) was revoked.
 *
 * @example
 * if (flask.refusalOf(claims) === 'ended') console.log('sign in again')
 */
export type FlaskRefusal = 'ended' | 'no-user' | 'revoked'

/**
 * A Flask token to blocklist: its `jti`, its user, and its `exp` (the row is purged after it).
 *
 * @example
 * const ref: FlaskTokenRef = { jti: 'a533b654-…', userId: 42, exp: 1795350305 }
 */
export interface FlaskTokenRef {
  jti: string
  userId: number
  exp: number
}

const USER_ID = /^[1-9][0-9]{0,15}$/
/** The blocklist's jti column width. */
const MAX_JTI = 64
const PURGE_BATCH = 1000

/**
 * A token this server did not issue: no `sid` and no `dbid`, as Flask-JWT-Extended mints them (every
 * Keycard token carries both).
 *
 * @example
 * isFlaskShaped({ sub: '7', jti: 'a5…', type: 'access' }) // true
 */
export function isFlaskShaped(claims: Record<string, unknown>): boolean {
  return claims[SESSION_CLAIM] === undefined && claims[DATABASE_CLAIM] === undefined
}

/**
 * The user id a Flask token's `sub` names, or undefined when it is not one this database can hold.
 *
 * @example
 * flaskUserId({ sub: '42' }, 2 ** 31 - 1) // 42
 */
export function flaskUserId(claims: Record<string, unknown>, max: number): number | undefined {
  const sub = claims.sub
  if (typeof sub !== 'string' || !USER_ID.test(sub)) return undefined
  const id = Number(sub)
  return id <= max ? id : undefined
}

/**
 * The window's checks and writes, on one database.
 *
 * @example
 * const flask = new FlaskTokens({ db, until: config.acceptFlaskTokensUntil })
 * if (isFlaskShaped(claims) && (await flask.isRefused(claims))) reply.code(401)
 */
export class FlaskTokens {
  /** Epoch seconds: Flask tokens are refused from then on. */
  readonly until: number
  readonly #db: Kysely<Database>
  readonly #now: () => number
  readonly #maxId: number
  /** Why a token was last refused, for the response builder (keyed by the claims object keycard passes to both). */
  readonly #refusals = new WeakMap<object, FlaskRefusal>()

  constructor(options: { db: Kysely<Database>; until: number; now?: () => number }) {
    this.#db = options.db
    this.until = options.until
    this.#now = options.now ?? nowSeconds
    this.#maxId = maxUserId(options.db)
  }

  /** Whether the window is still open. */
  isOpen(): boolean {
    return this.#now() < this.until
  }

  /** The user id of a Flask token's `sub`, or undefined. */
  userIdOf(claims: Record<string, unknown>): number | undefined {
    return flaskUserId(claims, this.#maxId)
  }

  /**
   * keycard's `tokenInBlocklist` for a Flask-shaped token (after its signature and expiry were
   * checked): true when it must be refused; `refusalOf` then says why.
   */
  async isRefused(claims: JwtClaims): Promise<boolean> {
    const why = await this.#check(claims)
    if (why === undefined) this.#refusals.delete(claims)
    else this.#refusals.set(claims, why)
    return why !== undefined
  }

  /** Why `isRefused` last refused these claims. */
  refusalOf(claims: JwtClaims): FlaskRefusal | undefined {
    return this.#refusals.get(claims)
  }

  async #check(claims: JwtClaims): Promise<FlaskRefusal | undefined> {
    if (!this.isOpen()) return 'ended'
    const userId = this.userIdOf(claims)
    if (userId === undefined) return 'no-user'
    const jti = claims.jti
    if (typeof jti !== 'string' || jti === '' || jti.length > MAX_JTI) return 'revoked'
    // One round trip: the user, the jti's blocklist row, the user's cutoff.
    const row = await this.#db
      .selectFrom('users')
      .select((eb) => [
        'users.id',
        eb
          .selectFrom('flask_token_blocklist')
          .select('flask_token_blocklist.jti')
          .where('flask_token_blocklist.jti', '=', jti)
          .as('blocked'),
        eb
          .selectFrom('flask_token_cutoffs')
          .select('flask_token_cutoffs.not_before')
          .where('flask_token_cutoffs.user_id', '=', userId)
          .as('not_before'),
      ])
      .where('users.id', '=', userId)
      .executeTakeFirst()
    if (!row) return 'no-user'
    if (row.blocked !== null && row.blocked !== undefined) return 'revoked'
    if (row.not_before !== null && row.not_before !== undefined) {
      // At or before the cutoff (same second included): refused. A token without `iat` is older than any.
      const iat = typeof claims.iat === 'number' ? claims.iat : Number.NEGATIVE_INFINITY
      if (iat <= Number(row.not_before)) return 'revoked'
    }
    return undefined
  }

  /** The blocklist entry of a verified Flask token, or undefined when it has no usable `jti` or `sub`. */
  refOf(claims: Record<string, unknown>): FlaskTokenRef | undefined {
    const userId = this.userIdOf(claims)
    const jti = claims.jti
    if (userId === undefined || typeof jti !== 'string' || jti === '' || jti.length > MAX_JTI) return undefined
    const exp = typeof claims.exp === 'number' && Number.isFinite(claims.exp) ? Math.ceil(claims.exp) : this.until
    return { jti, userId, exp }
  }

  /**
   * Blocklists tokens (logout, a used refresh token); returns how many were not blocklisted before.
   *
   * @example
   * await flask.block([flask.refOf(claims)!])
   */
  async block(tokens: readonly FlaskTokenRef[], db: Kysely<Database> = this.#db): Promise<number> {
    let added = 0
    for (const t of tokens) {
      const result = await db
        .insertInto('flask_token_blocklist')
        .values({ jti: t.jti, user_id: t.userId, expires_at: t.exp, revoked_at: this.#now() })
        .onConflict((oc) => oc.column('jti').doNothing())
        .executeTakeFirst()
      added += Number(result.numInsertedOrUpdatedRows ?? 0n)
    }
    return added
  }

  /**
   * Refuses every Flask token of `userId` issued until now (logout-all, a password change).
   *
   * @example
   * await flask.refuseOlder(userId)
   */
  async refuseOlder(userId: number, db: Kysely<Database> = this.#db): Promise<void> {
    const now = this.#now()
    await db
      .insertInto('flask_token_cutoffs')
      .values({ user_id: userId, not_before: now })
      .onConflict((oc) => oc.column('user_id').doUpdateSet({ not_before: now }))
      .execute()
  }

  /**
   * Turns a verified Flask refresh token into a Keycard session, once: its jti is blocklisted in the
   * same transaction that `start` inserts the session in, so a second use (on any instance) finds the
   * row and gets undefined, as does a token whose user has just been deleted.
   *
   * @example
   * const tokens = await flask.exchange(ref, (trx, user) => sessions.start(user, { fresh: false, withRefresh: true, db: trx }))
   */
  exchange<T>(ref: FlaskTokenRef, start: (trx: Kysely<Database>, user: UserRow) => Promise<T>): Promise<T | undefined> {
    return writeTransaction(this.#db, async (trx) => {
      if ((await this.block([ref], trx)) === 0) return undefined
      const user = await trx.selectFrom('users').selectAll().where('id', '=', ref.userId).executeTakeFirst()
      // Nothing to commit for a deleted user but the blocklist row, which is harmless.
      return user ? await start(trx, user) : undefined
    })
  }
}

/**
 * Deletes the blocklist rows whose token has expired, in batches; once the window has ended, every
 * row of both tables (no Flask token is accepted any more). Returns how many rows went.
 *
 * @example
 * await purgeFlaskTokens(db, config.acceptFlaskTokensUntil)
 */
export async function purgeFlaskTokens(db: Kysely<Database>, until: number | null, now = nowSeconds()): Promise<number> {
  const over = until === null || now >= until
  let total = 0
  for (;;) {
    const { numDeletedRows } = await db
      .deleteFrom('flask_token_blocklist')
      .where('jti', 'in', (eb) => {
        const rows = eb.selectFrom('flask_token_blocklist').select('jti')
        return (over ? rows : rows.where('expires_at', '<=', now)).limit(PURGE_BATCH)
      })
      .executeTakeFirst()
    total += Number(numDeletedRows)
    if (Number(numDeletedRows) < PURGE_BATCH) break
    await nextTurn()
  }
  if (over) total += Number((await db.deleteFrom('flask_token_cutoffs').executeTakeFirst()).numDeletedRows)
  return total
}

/**
 * The server's token error responses with the window's own refusals: 401 `FLASK_TOKENS_ENDED` after
 * the date, 401 `FLASK_TOKEN_USER_UNKNOWN` for a `sub` that names no user; a blocklisted Flask token
 * is "Token has been revoked", as any other.
 *
 * @example
 * createKeycard({ secret, responses: flaskResponses(flask) })
 */
export function flaskResponses(flask: FlaskTokens): ResponseBuilders {
  return {
    ...TOKEN_ERROR_RESPONSES,
    revoked: (header, claims, error) => {
      const why = flask.refusalOf(claims)
      if (why === 'ended') return { status: 401, body: { msg: FLASK_TOKENS_ENDED, code: 'FLASK_TOKENS_ENDED' } }
      if (why === 'no-user') return { status: 401, body: { msg: FLASK_TOKEN_NO_USER, code: 'FLASK_TOKEN_USER_UNKNOWN' } }
      return TOKEN_ERROR_RESPONSES.revoked(header, claims, error)
    },
  }
}
