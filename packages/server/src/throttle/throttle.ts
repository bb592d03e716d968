/**
 * The throttle the auth routes use: which keys an attempt is counted on, the 429 for a refused one, one
 * `throttle.tripped` audit event per key and window, and the device token a successful login leaves.
 *
 * A login with a device token valid for its account counts on that token only (THROTTLE_DEVICE); any
 * other login on the account (by user id, or by the typed name when no such user exists, so both are
 * answered alike), its client address, and the pair. Registrations and password changes count per
 * address. Refusals are decided before any argon2 work, and answer the same whoever asked.
 */

import { createHash } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import type { Kysely } from 'kysely'
import { type AuditLog, requestContext } from '../audit/log.ts'
import { DatabaseUnavailableError } from '../db/errors.ts'
import type { Database, UserRow } from '../db/schema.ts'
import { HttpError } from '../http-errors.ts'
import { LOGIN_MAX, loginKey } from '../identity-rules.ts'
import { addressKey } from './address.ts'
import { type CounterKey, type HeldSlot, type Reservation, ThrottleCounters } from './counters.ts'
import { DeviceTokens, hashDeviceToken } from './device.ts'
import type { LimitKind, ThrottleConfig } from './limits.ts'

/**
 * The message of every 429 the throttle answers.
 *
 * @example
 * assert.equal(res.body.msg, THROTTLED_MESSAGE)
 */
export const THROTTLED_MESSAGE = 'Too many failed sign-in attempts; try again later'

/**
 * 429 TOO_MANY_ATTEMPTS; app.ts answers `retryAfter` as Retry-After.
 *
 * @example
 * throw new ThrottledError(120)
 */
export class ThrottledError extends HttpError {
  /** Seconds to the end of the window of the key that refused. */
  readonly retryAfter: number
  constructor(retryAfter: number) {
    super(429, THROTTLED_MESSAGE, 'TOO_MANY_ATTEMPTS')
    this.name = 'ThrottledError'
    this.retryAfter = retryAfter
  }
}

/**
 * A login the throttle let through: settle it once the password is checked.
 *
 * @example
 * const attempt = await throttle.beginLogin(request, { login, user, deviceToken })
 * await attempt.settle(!ok)
 */
export interface LoginAttempt {
  /** The device token presented, when it is one of this user's. */
  readonly validDevice: string | undefined
  /** Gives the reserved slots back; `failed` counts the attempt as a failure. */
  settle(failed: boolean): Promise<void>
}

/**
 * @example
 * new Throttle({ db, config: config.throttle, audit, now: () => 1_700_000_000 })
 */
export interface ThrottleOptions {
  db: Kysely<Database>
  config: ThrottleConfig
  audit: AuditLog
  /** The clock, epoch seconds (tests pass their own). */
  now?: () => number
}

/** Who an attempt is about, for the audit event. */
interface Who {
  userId?: number | null
  username?: string | null
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('base64url')

/**
 * The account part of a key: the user id when the user exists, else a hash of the typed name
 * normalised as logins are looked up (NFC, case-folded), so "Bob" and "bob" share a counter.
 *
 * @example
 * accountPart(undefined, 'Nobody') === accountPart(undefined, 'NOBODY') // true
 */
export function accountPart(user: Pick<UserRow, 'id'> | undefined, login: string): string {
  if (user) return `u:${user.id}`
  return `n:${sha256(login.length <= LOGIN_MAX ? loginKey(login).key : login)}`
}

/**
 * The auth routes' throttle (one per app, on the app's database).
 *
 * @example
 * const throttle = new Throttle({ db, config: config.throttle, audit })
 * await throttle.count('register', request)
 */
export class Throttle {
  readonly counters: ThrottleCounters
  readonly devices: DeviceTokens
  readonly #config: ThrottleConfig
  readonly #audit: AuditLog

  constructor(options: ThrottleOptions) {
    this.#config = options.config
    this.#audit = options.audit
    this.counters = new ThrottleCounters(options.db, { burst: options.config.burst, ...(options.now ? { now: options.now } : {}) })
    this.devices = new DeviceTokens(options.db, () => this.counters.now())
  }

  /** The throttle's clock, epoch seconds. */
  now(): number {
    return this.counters.now()
  }

  /** `{key, kind, limit}` for each kind that is on. */
  #keys(parts: [LimitKind, string][]): CounterKey[] {
    const keys: CounterKey[] = []
    for (const [kind, key] of parts) {
      const limit = this.#config.limits[kind]
      if (limit) keys.push({ key: `${kind}:${key}`, kind, limit })
    }
    return keys
  }

  /** Reserves on `keys`; on a refusal records the first trips and throws ThrottledError. */
  async #reserve(request: FastifyRequest, keys: CounterKey[], who: Who): Promise<HeldSlot[]> {
    const result: Reservation = await this.counters.reserve(keys)
    if (result.allowed) return result.held
    for (const trip of result.firstTrips) {
      await this.#audit.record({
        type: 'throttle.tripped',
        userId: who.userId ?? null,
        username: who.username ?? null,
        ...requestContext(request),
        detail: { limit: trip.kind, retry_after: trip.retryAfter },
      })
      request.log.warn({ limit: trip.kind, userId: who.userId, retryAfter: trip.retryAfter }, 'throttle tripped')
    }
    throw new ThrottledError(result.retryAfter)
  }

  /**
   * Decides whether a login may check its password (throws ThrottledError when not) and reserves its
   * slots. `user` is whom `login` names (undefined when nobody); `deviceToken` what the client presented.
   */
  async beginLogin(
    request: FastifyRequest,
    attempt: { login: string; user: UserRow | undefined; deviceToken: string | undefined },
  ): Promise<LoginAttempt> {
    const { login, user, deviceToken } = attempt
    let validDevice: string | undefined
    if (deviceToken !== undefined && user) {
      try {
        if (await this.devices.isValidFor(deviceToken, user.id)) validDevice = deviceToken
      } catch (err) {
        throw this.#unavailable(err)
      }
    }
    const account = accountPart(user, login)
    const address = addressKey(request.ip)
    const keys = validDevice
      ? this.#keys([['device', hashDeviceToken(validDevice)]])
      : this.#keys([
          ['account', account],
          ['address', address],
          ['account_address', `${account}@${address}`],
        ])
    const held = await this.#reserve(request, keys, { userId: user?.id ?? null, username: login })
    let settled = false
    return {
      validDevice,
      settle: async (failed) => {
        if (settled) return
        settled = true
        await this.counters.settle(held, failed)
      },
    }
  }

  /**
   * Counts a registration or password change of the request's address before any hashing; throws
   * ThrottledError past THROTTLE_REGISTER or THROTTLE_PASSWORD.
   */
  async count(kind: 'register' | 'password', request: FastifyRequest, who: Who = {}): Promise<void> {
    const held = await this.#reserve(request, this.#keys([[kind, addressKey(request.ip)]]), who)
    // Every attempt counts: settled as a "failure" at once.
    await this.counters.settle(held, true)
  }

  /**
   * After a successful login: a new device token for `userId` when the client presented no valid one
   * (returned, to hand to the client), else the presented one marked as used (undefined). None when
   * the account, address and pair limits are all off.
   */
  async deviceAfterLogin(attempt: LoginAttempt, userId: number): Promise<string | undefined> {
    // With every limit a device token escapes off, a token would buy nothing: none is handed out.
    const { account, address, account_address } = this.#config.limits
    if (!account && !address && !account_address && attempt.validDevice === undefined) return undefined
    try {
      if (attempt.validDevice === undefined) return await this.devices.mint(userId)
      await this.devices.touch(attempt.validDevice)
      return undefined
    } catch (err) {
      throw this.#unavailable(err)
    }
  }

  /** A 503 for a failed device-token statement (its own 503 when the database mapped it). */
  #unavailable(err: unknown): HttpError {
    if (err instanceof HttpError) return err
    return new DatabaseUnavailableError('device tokens could not be read or written', { cause: err })
  }
}
