/**
 * Every failure keycard reports is a `KeycardError` with a stable `code`. The token errors carry the
 * HTTP status and the message Flask-JWT-Extended 4.7 answers with, so the default response bodies
 * are wire-compatible; `kind` names the response builder (see `responses.ts`) that renders it.
 *
 * Each class's `code` is a literal type and `AnyKeycardError` is their union (as jose's
 * `AnyJOSEError`), so `switch (err.code)` narrows to the class. Flask-JWT-Extended's exception names
 * are exported too (`JWTExtendedException`, `FreshTokenRequired`, `InvalidQueryParamError`, …).
 */

import type {
  AnyKeycardError,
  AnyTokenError,
  DecodeCode,
  HeaderCode,
  KeycardErrorCode,
  ResponseKind,
  TokenErrorCode,
} from './error-codes.ts'
import type { JwtClaims, JwtHeader } from './types.ts'

export type { AnyKeycardError, AnyTokenError, KeycardErrorCode, ResponseKind, TokenErrorCode } from './error-codes.ts'

/** Whether `Error.stackTraceLimit` may be set here (not where intrinsics are frozen). */
const STACK_LIMIT_WRITABLE = Object.getOwnPropertyDescriptor(Error, 'stackTraceLimit')?.writable === true

/**
 * The base of every keycard error (catch it to catch them all); `code` says which case it is.
 *
 * @example
 * try {
 *   await keycard.decodeToken(token)
 * } catch (err) {
 *   if (isKeycardError(err) && err.code === 'KEYCARD_JWT_EXPIRED') console.log(err.claims?.sub) // err: ExpiredSignatureError
 * }
 */
export class KeycardError<C extends KeycardErrorCode = KeycardErrorCode> extends Error {
  readonly code: C
  constructor(code: C, message: string, options?: { cause?: unknown }) {
    // A TokenError is an answer to bad input (a 401 or 422 on the request path), not a fault, and
    // gets no stack trace: capturing one walks every optimized frame of the request, which made a
    // rejected token cost more than an accepted one (bench/README.md, "Rejections"), and would only
    // ever point into keycard's own checks. `code`, `kind` and the claims say what failed.
    const quiet = STACK_LIMIT_WRITABLE && new.target.prototype instanceof TokenError
    const limit = Error.stackTraceLimit
    if (quiet) Error.stackTraceLimit = 0
    super(message, options)
    if (quiet) Error.stackTraceLimit = limit
    this.name = new.target.name
    this.code = code
  }
}

/**
 * An error raised while authenticating a request: it knows its HTTP status and its response builder.
 * Flask-JWT-Extended's base exception, exported as `JWTExtendedException` too.
 *
 * @example
 * if (err instanceof TokenError) reply.code(err.status).send({ msg: err.message })
 */
export abstract class TokenError<C extends TokenErrorCode = TokenErrorCode> extends KeycardError<C> {
  abstract readonly status: number
  abstract readonly kind: ResponseKind
  /** Header and claims of the token, for the errors raised after the signature was verified. */
  header: JwtHeader | undefined
  claims: JwtClaims | undefined
}

/**
 * No token in any configured location (FJE `NoAuthorizationError`).
 *
 * @example
 * if (err instanceof NoAuthorizationError) return reply.redirect('/login')
 */
export class NoAuthorizationError extends TokenError<'KEYCARD_NO_AUTHORIZATION'> {
  readonly status = 401
  readonly kind = 'unauthorized' as const
  constructor(message: string) {
    super('KEYCARD_NO_AUTHORIZATION', message)
  }
}

/**
 * A CSRF double-submit failure (FJE `CSRFError`).
 *
 * @example
 * if (err instanceof CSRFError) console.warn('send the csrf_access_token cookie back in X-CSRF-TOKEN')
 */
export class CSRFError extends TokenError<'KEYCARD_CSRF'> {
  readonly status = 401
  readonly kind = 'unauthorized' as const
  constructor(message: string) {
    super('KEYCARD_CSRF', message)
  }
}

/**
 * The header (or, as `InvalidQueryParamError`, the query parameter) holds a token, but not in the expected shape (FJE `InvalidHeaderError`).
 *
 * @example
 * if (err instanceof InvalidHeaderError) console.log(err.status) // 422
 */
export class InvalidHeaderError<C extends HeaderCode = 'KEYCARD_INVALID_HEADER'> extends TokenError<C> {
  readonly status = 422
  readonly kind = 'invalid' as const
  constructor(message: string, code: C = 'KEYCARD_INVALID_HEADER' as C) {
    super(code, message)
  }
}

/**
 * The query parameter does not start with `queryStringValuePrefix` (FJE `InvalidQueryParamError`).
 * An `InvalidHeaderError` made with the query code is an instance too, so `instanceof` answers the same
 * whichever way the error was built.
 *
 * @example
 * if (err instanceof InvalidQueryParamError) console.log(err.code) // 'KEYCARD_INVALID_QUERY_PARAM'
 */
export class InvalidQueryParamError extends InvalidHeaderError<'KEYCARD_INVALID_QUERY_PARAM'> {
  constructor(message: string) {
    super(message, 'KEYCARD_INVALID_QUERY_PARAM')
  }

  static override [Symbol.hasInstance](value: unknown): value is InvalidQueryParamError {
    return value instanceof InvalidHeaderError && value.code === 'KEYCARD_INVALID_QUERY_PARAM'
  }
}

/**
 * The token failed decoding or a claim check (PyJWT's `DecodeError` family, FJE `JWTDecodeError`);
 * `code` says which check (`KEYCARD_JWT_MALFORMED`, `KEYCARD_JWT_SIGNATURE_INVALID`, …).
 *
 * @example
 * if (err instanceof JWTDecodeError && err.code === 'KEYCARD_JWT_CLAIM_INVALID') console.log(err.claim)
 */
export class JWTDecodeError<C extends DecodeCode = DecodeCode> extends TokenError<C> {
  readonly status = 422
  readonly kind = 'invalid' as const
  /** The claim that failed, for `KEYCARD_JWT_CLAIM_INVALID` and `KEYCARD_JWT_NOT_YET_VALID`. */
  readonly claim: string | undefined
  constructor(code: C, message: string, claim?: string) {
    super(code, message)
    this.claim = claim
  }
}

/**
 * `exp` is in the past (PyJWT `ExpiredSignatureError`). Carries the decoded header and claims.
 *
 * @example
 * if (err instanceof ExpiredSignatureError) console.log('expired token of', err.claims?.sub)
 */
export class ExpiredSignatureError extends TokenError<'KEYCARD_JWT_EXPIRED'> {
  readonly status = 401
  readonly kind = 'expired' as const
  constructor(header: JwtHeader, claims: JwtClaims) {
    super('KEYCARD_JWT_EXPIRED', 'Token has expired')
    this.header = header
    this.claims = claims
  }
}

/**
 * An access token on a refresh route or the reverse (FJE `WrongTokenError`).
 *
 * @example
 * if (err instanceof WrongTokenError) console.log(err.message) // 'Only refresh tokens are allowed'
 */
export class WrongTokenError extends TokenError<'KEYCARD_WRONG_TOKEN_TYPE'> {
  readonly status = 422
  readonly kind = 'invalid' as const
  constructor(message: string, header: JwtHeader, claims: JwtClaims) {
    super('KEYCARD_WRONG_TOKEN_TYPE', message)
    this.header = header
    this.claims = claims
  }
}

/**
 * The route needs a fresh token (FJE `FreshTokenRequired`).
 *
 * @example
 * if (err instanceof FreshTokenRequiredError) return reply.redirect('/login?fresh=1')
 */
export class FreshTokenRequiredError extends TokenError<'KEYCARD_FRESH_TOKEN_REQUIRED'> {
  readonly status = 401
  readonly kind = 'needsFresh' as const
  constructor(header: JwtHeader, claims: JwtClaims) {
    super('KEYCARD_FRESH_TOKEN_REQUIRED', 'Fresh token required')
    this.header = header
    this.claims = claims
  }
}

/**
 * The token is in the blocklist (FJE `RevokedTokenError`).
 *
 * @example
 * return keycard.renderError(new RevokedTokenError(header, claims)) // 401 Token has been revoked
 */
export class RevokedTokenError extends TokenError<'KEYCARD_TOKEN_REVOKED'> {
  readonly status = 401
  readonly kind = 'revoked' as const
  constructor(header: JwtHeader, claims: JwtClaims) {
    super('KEYCARD_TOKEN_REVOKED', 'Token has been revoked')
    this.header = header
    this.claims = claims
  }
}

/**
 * `userLookup` returned null or undefined (FJE `UserLookupError`).
 *
 * @example
 * if (err instanceof UserLookupError) console.log('deleted user', err.claims?.sub)
 */
export class UserLookupError extends TokenError<'KEYCARD_USER_LOOKUP_FAILED'> {
  readonly status = 401
  readonly kind = 'userLookup' as const
  constructor(identity: string, header: JwtHeader, claims: JwtClaims) {
    super('KEYCARD_USER_LOOKUP_FAILED', `Error loading the user ${identity}`)
    this.header = header
    this.claims = claims
  }
}

/**
 * `tokenVerification` returned false (FJE `UserClaimsVerificationError`).
 *
 * @example
 * if (err instanceof UserClaimsVerificationError) console.log(err.status) // 400
 */
export class UserClaimsVerificationError extends TokenError<'KEYCARD_CLAIMS_VERIFICATION_FAILED'> {
  readonly status = 400
  readonly kind = 'verificationFailed' as const
  constructor(header: JwtHeader, claims: JwtClaims) {
    super('KEYCARD_CLAIMS_VERIFICATION_FAILED', 'User claims verification failed')
    this.header = header
    this.claims = claims
  }
}

/**
 * A bad option passed to `createKeycard`; the message names the option and how to fix it.
 *
 * @example
 * await createKeycard({ secret: 'short' }).catch((err: KeycardOptionError) => console.error(err.option, err.message))
 */
export class KeycardOptionError extends KeycardError<'KEYCARD_OPTION_INVALID'> {
  readonly option: string
  constructor(option: string, message: string, options?: { cause?: unknown }) {
    super('KEYCARD_OPTION_INVALID', `keycard option "${option}": ${message}`, options)
    this.option = option
  }
}

/**
 * An identity that cannot go into a token (not a string, or empty), refused when minting.
 *
 * @example
 * await keycard.createAccessToken(String(user.id)) // a number would reject with IdentityError
 */
export class IdentityError extends KeycardError<'KEYCARD_IDENTITY_INVALID'> {
  constructor(message: string) {
    super('KEYCARD_IDENTITY_INVALID', message)
  }
}

/**
 * Whether `err` is a `TokenError` (the request's token was missing or bad), typed so `err.code` narrows.
 *
 * @example
 * if (isTokenError(err)) return keycard.renderError(err)
 */
export function isTokenError(err: unknown): err is AnyTokenError {
  return err instanceof TokenError
}

/**
 * Whether `err` is any keycard error, typed so `switch (err.code)` narrows.
 *
 * @example
 * if (isKeycardError(err) && err.code === 'KEYCARD_OPTION_INVALID') console.error(`fix the option ${err.option}`)
 */
export function isKeycardError(err: unknown): err is AnyKeycardError {
  return err instanceof KeycardError
}

// Flask-JWT-Extended's names for the same classes (flask_jwt_extended.exceptions), so a port keeps them.
export { TokenError as JWTExtendedException, FreshTokenRequiredError as FreshTokenRequired }
