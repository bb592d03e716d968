/**
 * The error of a jwks-mode keycard whose key set is needed and cannot be had: the fetch failed (network,
 * timeout, a status other than 200, a body that is not a key set, over 1 MB) and no usable cached set
 * covers the token. It is a 503 with `Retry-After`, never a 401: the token may be fine, and a 401
 * would make clients drop good tokens while the auth server blips. No token is ever accepted because
 * a fetch failed.
 */

import { KeycardError } from '../errors.ts'
import { type AuthResponse, unavailableResponse } from '../responses.ts'

/**
 * The key set could not be fetched; `url` (no credentials, no query) and `reason` say what failed.
 *
 * @example
 * try {
 *   await keycard.decodeToken(token)
 * } catch (err) {
 *   if (err instanceof JwksUnavailableError) console.warn(err.url, err.reason, err.retryAfter)
 * }
 */
export class JwksUnavailableError extends KeycardError<'KEYCARD_JWKS_UNAVAILABLE'> {
  readonly status = 503
  /** The same as `status`, under the name Fastify's and Express's error handlers read. */
  readonly statusCode = 503
  /** Whole seconds a client should wait before retrying (until the next fetch is allowed). */
  readonly retryAfter: number
  /** Read by Fastify's and Express's default error handlers. */
  readonly headers: { 'retry-after': string }
  /** The key set's URL as printed: origin and path only. */
  readonly url: string
  readonly reason: string

  constructor(url: string, reason: string, retryAfter: number, options?: { cause?: unknown }) {
    // Thrown on every request while the auth server is down: no stack trace to capture.
    const limit = Error.stackTraceLimit
    Error.stackTraceLimit = 0
    super('KEYCARD_JWKS_UNAVAILABLE', `The key set ${url} is unavailable: ${reason}`, options)
    Error.stackTraceLimit = limit
    this.url = url
    this.reason = reason
    this.retryAfter = Math.max(1, Math.ceil(retryAfter))
    this.headers = { 'retry-after': String(this.retryAfter) }
  }
}

/**
 * Whether `err` is a `JwksUnavailableError` (by its code, so a second copy of keycard matches too).
 *
 * @example
 * if (isJwksUnavailable(err)) reply.header('retry-after', String(err.retryAfter))
 */
export function isJwksUnavailable(err: unknown): err is JwksUnavailableError {
  return err instanceof Error && (err as { code?: unknown }).code === 'KEYCARD_JWKS_UNAVAILABLE'
}

/**
 * The response for a `JwksUnavailableError` in keycard's shape: 503, `Retry-After`, `{"msg": …}`;
 * `undefined` for any other error.
 *
 * @example
 * const response = jwksErrorResponse(err, keycard.options.errorMessageKey)
 * if (response) return auth.sendError(reply, response)
 */
export function jwksErrorResponse(err: unknown, messageKey = 'msg'): AuthResponse | undefined {
  return isJwksUnavailable(err) ? unavailableResponse(err, messageKey) : undefined
}
