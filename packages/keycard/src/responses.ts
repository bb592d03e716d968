/**
 * The error responses, one overridable builder per case (Flask-JWT-Extended's `*_loader` response
 * callbacks). The defaults answer exactly as FJE 4.7 does; on top of that every 401 carries an
 * RFC 6750 `WWW-Authenticate` header. Adapters only write the `{status, headers, body}` they get.
 */

import type { TokenError } from './errors.ts'
import type { ResolvedOptions } from './options.ts'
import type { JwtClaims, JwtHeader } from './types.ts'

export interface AuthResponse {
  status: number
  headers: Record<string, string>
  body: unknown
}

/**
 * The 503 of an error that says a backend is unavailable (a revocation store, a key set): its
 * `Retry-After` and its message under `messageKey`. The token may be fine, so never a 401.
 *
 * @example
 * unavailableResponse({ retryAfter: 2, message: 'The revocation store is closed' }) // { status: 503, headers: { 'Retry-After': '2' }, body: { msg: '…' } }
 */
export function unavailableResponse(err: { retryAfter: number; message: string }, messageKey = 'msg'): AuthResponse {
  return { status: 503, headers: { 'Retry-After': String(err.retryAfter) }, body: { [messageKey]: err.message } }
}

/** What a builder returns; `headers` is optional and `WWW-Authenticate` is added to 401s. */
export interface ResponseInit {
  status: number
  headers?: Record<string, string>
  body: unknown
}

export interface ResponseBuilders {
  /** No token found, CSRF failures (FJE `unauthorized_loader`). Default 401. */
  unauthorized(reason: string, error: TokenError): ResponseInit
  /** Malformed token, bad header, wrong type, failed claim check (FJE `invalid_token_loader`). Default 422. */
  invalid(reason: string, error: TokenError): ResponseInit
  /** (FJE `expired_token_loader`). Default 401 "Token has expired". */
  expired(header: JwtHeader, claims: JwtClaims, error: TokenError): ResponseInit
  /** (FJE `needs_fresh_token_loader`). Default 401 "Fresh token required". */
  needsFresh(header: JwtHeader, claims: JwtClaims, error: TokenError): ResponseInit
  /** (FJE `revoked_token_loader`). Default 401 "Token has been revoked". */
  revoked(header: JwtHeader, claims: JwtClaims, error: TokenError): ResponseInit
  /** (FJE `user_lookup_error_loader`). Default 401 "Error loading the user <identity>". */
  userLookup(header: JwtHeader, claims: JwtClaims, error: TokenError): ResponseInit
  /** (FJE `token_verification_failed_loader`). Default 400 "User claims verification failed". */
  verificationFailed(header: JwtHeader, claims: JwtClaims, error: TokenError): ResponseInit
}

function defaultBuilders(key: string, as401: boolean): ResponseBuilders {
  const body = (message: string) => ({ [key]: message })
  const status = (s: number) => (as401 ? 401 : s)
  return {
    unauthorized: (reason) => ({ status: 401, body: body(reason) }),
    invalid: (reason) => ({ status: status(422), body: body(reason) }),
    expired: (_h, _c, error) => ({ status: 401, body: body(error.message) }),
    needsFresh: (_h, _c, error) => ({ status: 401, body: body(error.message) }),
    revoked: (_h, _c, error) => ({ status: 401, body: body(error.message) }),
    userLookup: (_h, _c, error) => ({ status: 401, body: body(error.message) }),
    verificationFailed: (_h, _c, error) => ({ status: status(400), body: body(error.message) }),
  }
}

/** `error_description` sits in a quoted-string: keep RFC 6750's allowed characters, escape nothing else. */
function quoted(value: string): string {
  return value.replace(/[^\x20\x21\x23-\x5B\x5D-\x7E]/g, '?')
}

/** Renders a token error through the configured builders; one instance per keycard. */
export function createRenderer(options: ResolvedOptions, overrides: Partial<ResponseBuilders> | undefined) {
  const builders: ResponseBuilders = { ...defaultBuilders(options.errorMessageKey, options.allErrorsAs401), ...overrides }
  const scheme = options.headerType || 'Bearer'
  const realm = options.realm ? ` realm="${quoted(options.realm)}"` : ''

  return function render(error: TokenError): AuthResponse {
    const header = error.header ?? { alg: 'none' }
    const claims = error.claims ?? {}
    let init: ResponseInit
    switch (error.kind) {
      case 'unauthorized':
        init = builders.unauthorized(error.message, error)
        break
      case 'invalid':
        init = builders.invalid(error.message, error)
        break
      case 'expired':
        init = builders.expired(header, claims, error)
        break
      case 'needsFresh':
        init = builders.needsFresh(header, claims, error)
        break
      case 'revoked':
        init = builders.revoked(header, claims, error)
        break
      case 'userLookup':
        init = builders.userLookup(header, claims, error)
        break
      case 'verificationFailed':
        init = builders.verificationFailed(header, claims, error)
        break
    }
    const headers: Record<string, string> = { ...init.headers }
    if (init.status === 401 && !Object.keys(headers).some((h) => h.toLowerCase() === 'www-authenticate')) {
      // RFC 6750 §3.1: a request with no credentials gets the scheme alone, without an error code.
      headers['WWW-Authenticate'] =
        error.code === 'KEYCARD_NO_AUTHORIZATION'
          ? `${scheme}${realm}`
          : `${scheme}${realm}${realm ? ',' : ''} error="${error.code === 'KEYCARD_CSRF' ? 'invalid_request' : 'invalid_token'}", error_description="${quoted(error.message)}"`
    }
    return { status: init.status, headers, body: init.body }
  }
}
