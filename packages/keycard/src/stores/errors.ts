/**
 * The one error the shared revocation stores (`keycard/stores/kysely`, `keycard/stores/redis`) throw
 * on the request path: the store cannot vouch that a token is not revoked, so it refuses to answer
 * rather than saying "not revoked". It is a 503 (the token may be fine: retry), not a 401 (which would
 * make clients drop good tokens and log everyone out when the store's backend blips).
 */

import { type AuthResponse, unavailableResponse } from '../responses.ts'

/**
 * Why a store is unavailable: it has not finished its first sync, its view is older than
 * `maxStaleness`, a write did not commit, or it was closed.
 *
 * @example
 * const reason: StoreUnavailableReason = 'stale'
 */
export type StoreUnavailableReason = 'not-synced' | 'stale' | 'write-failed' | 'closed'

const MESSAGES: Record<StoreUnavailableReason, string> = {
  'not-synced': 'Revocations cannot be checked yet: the revocation store has not finished loading',
  stale: 'Revocations cannot be checked right now: the revocation store has lost its backend',
  'write-failed': 'The revocation was not recorded: the revocation store could not reach its backend',
  closed: 'The revocation store is closed',
}

/**
 * Thrown by `isRevoked` when the store cannot confirm its view (fail closed), and by `revoke` when the
 * write did not commit. `status`/`statusCode` 503 and a `Retry-After` header make Fastify's and
 * Express's default error handlers answer 503; `storeErrorResponse` renders keycard's `{"msg": …}` body.
 *
 * @example
 * try {
 *   store.isRevoked(jti)
 * } catch (err) {
 *   if (err instanceof StoreUnavailableError) console.log(err.code, err.reason) // 'KEYCARD_STORE_UNAVAILABLE' 'stale'
 * }
 */
export class StoreUnavailableError extends Error {
  readonly code = 'KEYCARD_STORE_UNAVAILABLE' as const
  readonly status = 503
  /** The same as `status`, under the name Fastify's and Express's error handlers read. */
  readonly statusCode = 503
  /** Whole seconds a client should wait before retrying. */
  readonly retryAfter: number
  /** Read by Fastify's and Express's default error handlers. */
  readonly headers: { 'retry-after': string }
  readonly reason: StoreUnavailableReason

  constructor(reason: StoreUnavailableReason, retryAfter: number, options?: { cause?: unknown }) {
    // Thrown on every request while a store is stale: no stack trace to capture (the reason says it all).
    const limit = Error.stackTraceLimit
    Error.stackTraceLimit = 0
    super(MESSAGES[reason], options)
    Error.stackTraceLimit = limit
    this.name = 'StoreUnavailableError'
    this.reason = reason
    this.retryAfter = Math.max(1, Math.ceil(retryAfter))
    this.headers = { 'retry-after': String(this.retryAfter) }
  }
}

/**
 * Whether `err` is a `StoreUnavailableError` (by its code, so a second copy of keycard matches too).
 *
 * @example
 * if (isStoreUnavailable(err)) reply.header('retry-after', String(err.retryAfter))
 */
export function isStoreUnavailable(err: unknown): err is StoreUnavailableError {
  return err instanceof Error && (err as { code?: unknown }).code === 'KEYCARD_STORE_UNAVAILABLE'
}

/**
 * The response for a `StoreUnavailableError` in keycard's shape: 503, `Retry-After`, `{"msg": …}`
 * (`messageKey` as keycard's `errorMessageKey`); `undefined` for any other error.
 *
 * @example
 * app.setErrorHandler((err, request, reply) => {
 *   const response = storeErrorResponse(err)
 *   if (response) return auth.sendError(reply, response)
 *   reply.send(err)
 * })
 */
export function storeErrorResponse(err: unknown, messageKey = 'msg'): AuthResponse | undefined {
  return isStoreUnavailable(err) ? unavailableResponse(err, messageKey) : undefined
}
