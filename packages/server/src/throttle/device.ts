/**
 * Device tokens (OWASP's "device cookies"): a client that signs in successfully gets a random token
 * (an HttpOnly cookie for browsers, `device_token` in the JSON body for API clients). Presented with
 * later logins of the same account, it puts them under the device's own allowance (THROTTLE_DEVICE)
 * instead of the account's, so an attack on the account from elsewhere does not lock its owner out.
 * Only the SHA-256 of a token is stored; tokens unused for 30 days are purged.
 */

import { createHash, randomBytes } from 'node:crypto'
import { setImmediate as nextTurn } from 'node:timers/promises'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Kysely } from 'kysely'
import { NodeRequestView } from 'keycard'
import type { Database } from '../db/schema.ts'
import { HttpError } from '../http-errors.ts'

/**
 * The cookie that holds a browser's device token.
 *
 * @example
 * new NodeRequestView(request.raw).cookie(DEVICE_COOKIE)
 */
export const DEVICE_COOKIE = 'keycard_device'
/**
 * The body field of an API client's device token (login and fresh-login).
 *
 * @example
 * await api('POST', '/auth/login', { body: { username, password, [DEVICE_FIELD]: token } })
 */
export const DEVICE_FIELD = 'device_token'
/**
 * Seconds a device token may go unused before the purge deletes it.
 *
 * @example
 * await purgeDeviceTokens(db, nowSeconds() - DEVICE_TOKEN_IDLE)
 */
export const DEVICE_TOKEN_IDLE = 30 * 86400
/** The cookie's Max-Age: a year (the purge ends an unused token sooner). */
const COOKIE_MAX_AGE = 365 * 86400
/** 32 random bytes, base64url. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/
const PURGE_BATCH = 1000

/**
 * The stored form of a token: hex SHA-256.
 *
 * @example
 * hashDeviceToken(token).length // 64
 */
export function hashDeviceToken(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

/**
 * The device token a login request carries: the body field (API clients) or else the cookie; undefined
 * when there is none or it cannot be one (wrong shape). A body field that is not a string is a 400.
 *
 * @example
 * const token = presentedDeviceToken(request, objectBody(request.body))
 */
export function presentedDeviceToken(request: FastifyRequest, fields: Record<string, unknown>): string | undefined {
  const field = fields[DEVICE_FIELD]
  if (field !== undefined && field !== null && typeof field !== 'string')
    throw new HttpError(400, `${DEVICE_FIELD} must be a string (the device_token an earlier login returned)`, 'INVALID_FIELD', DEVICE_FIELD)
  const token = typeof field === 'string' && field !== '' ? field : new NodeRequestView(request.raw).cookie(DEVICE_COOKIE)
  return token !== undefined && TOKEN_SHAPE.test(token) ? token : undefined
}

/**
 * The `Set-Cookie` value of a browser's device token (HttpOnly, Path=/auth, SameSite=Strict, a year).
 *
 * @example
 * reply.header('set-cookie', deviceCookie(token, config.cookieSecure))
 */
export function deviceCookie(token: string, secure: boolean): string {
  // Laid out as keycard lays out the token cookies.
  return `${DEVICE_COOKIE}=${token}${secure ? '; Secure' : ''}; HttpOnly; Max-Age=${COOKIE_MAX_AGE}; Path=/auth; SameSite=Strict`
}

/**
 * Adds the device cookie to the reply's other Set-Cookie headers (the token cookies).
 *
 * @example
 * setDeviceCookie(reply, minted, config.cookieSecure)
 */
export function setDeviceCookie(reply: FastifyReply, token: string, secure: boolean): void {
  // Fastify appends a set-cookie header to those already set.
  reply.header('set-cookie', deviceCookie(token, secure))
}

/**
 * Device tokens on one database.
 *
 * @example
 * const devices = new DeviceTokens(db, () => nowSeconds())
 * const token = await devices.mint(user.id)
 */
export class DeviceTokens {
  readonly #db: Kysely<Database>
  readonly #now: () => number

  constructor(db: Kysely<Database>, now: () => number) {
    this.#db = db
    this.#now = now
  }

  /** Whether `token` is a device token of user `userId` (a token of another user is not). */
  async isValidFor(token: string, userId: number): Promise<boolean> {
    const row = await this.#db
      .selectFrom('device_tokens')
      .select('user_id')
      .where('token_hash', '=', hashDeviceToken(token))
      .executeTakeFirst()
    return row !== undefined && Number(row.user_id) === userId
  }

  /** A new token for `userId`, stored hashed; the token itself is returned once, to the client. */
  async mint(userId: number): Promise<string> {
    const token = randomBytes(32).toString('base64url')
    const now = this.#now()
    await this.#db
      .insertInto('device_tokens')
      .values({ token_hash: hashDeviceToken(token), user_id: userId, created_at: now, last_used_at: now })
      .execute()
    return token
  }

  /** Records a successful login with `token`: it is not purged for another 30 days. */
  async touch(token: string): Promise<void> {
    await this.#db
      .updateTable('device_tokens')
      .set({ last_used_at: this.#now() })
      .where('token_hash', '=', hashDeviceToken(token))
      .execute()
  }
}

/**
 * Deletes the device tokens last used before `cutoff`, `batch` rows per statement; returns how many.
 *
 * @example
 * await purgeDeviceTokens(db, nowSeconds() - DEVICE_TOKEN_IDLE)
 */
export async function purgeDeviceTokens(db: Kysely<Database>, cutoff: number, batch: number = PURGE_BATCH): Promise<number> {
  let rows = 0
  for (;;) {
    const { numDeletedRows } = await db
      .deleteFrom('device_tokens')
      .where('token_hash', 'in', (eb) =>
        eb.selectFrom('device_tokens').select('token_hash').where('last_used_at', '<', cutoff).limit(batch),
      )
      .executeTakeFirst()
    const deleted = Number(numDeletedRows)
    rows += deleted
    if (deleted < batch) return rows
    await nextTurn()
  }
}
