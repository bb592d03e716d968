/**
 * Every failure keycard reports is a `KeycardError` with a stable `code`. The token errors carry the
 * HTTP status and the message Flask-JWT-Extended 4.7 answers with, so the default response bodies
 * are wire-compatible; `kind` names the response builder (see `responses.ts`) that renders it.
 */

import type { JwtClaims, JwtHeader } from './types.ts'

export type KeycardErrorCode =
  | 'KEYCARD_NO_AUTHORIZATION'
  | 'KEYCARD_INVALID_HEADER'
  | 'KEYCARD_INVALID_QUERY_PARAM'
  | 'KEYCARD_CSRF'
  | 'KEYCARD_JWT_MALFORMED'
  | 'KEYCARD_JWT_TOO_LARGE'
  | 'KEYCARD_JWT_ALG_NOT_ALLOWED'
  | 'KEYCARD_JWT_SIGNATURE_INVALID'
  | 'KEYCARD_JWT_NOT_YET_VALID'
  | 'KEYCARD_JWT_EXPIRED'
  | 'KEYCARD_JWT_CLAIM_INVALID'
  | 'KEYCARD_WRONG_TOKEN_TYPE'
  | 'KEYCARD_FRESH_TOKEN_REQUIRED'
  | 'KEYCARD_TOKEN_REVOKED'
  | 'KEYCARD_USER_LOOKUP_FAILED'
  | 'KEYCARD_CLAIMS_VERIFICATION_FAILED'
  | 'KEYCARD_OPTION_INVALID'
  | 'KEYCARD_IDENTITY_INVALID'
  | 'KEYCARD_NO_CONTEXT'

/** Which overridable response builder renders an error (Flask-JWT-Extended's `*_loader` callbacks). */
export type ResponseKind =
  | 'unauthorized'
  | 'invalid'
  | 'expired'
  | 'needsFresh'
  | 'revoked'
  | 'userLookup'
  | 'verificationFailed'

/** Whether `Error.stackTraceLimit` may be set here (not where intrinsics are frozen). */
const STACK_LIMIT_WRITABLE = Object.getOwnPropertyDescriptor(Error, 'stackTraceLimit')?.writable === true

export class KeycardError extends Error {
  readonly code: KeycardErrorCode
  constructor(code: KeycardErrorCode, message: string, options?: { cause?: unknown }) {
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

/** An error raised while authenticating a request: it knows its HTTP status and its response builder. */
export abstract class TokenError extends KeycardError {
  abstract readonly status: number
  abstract readonly kind: ResponseKind
  /** Header and claims of the token, for the errors raised after the signature was verified. */
  header: JwtHeader | undefined
  claims: JwtClaims | undefined
}

/** No token in any configured location (FJE `NoAuthorizationError`). */
export class NoAuthorizationError extends TokenError {
  readonly status = 401
  readonly kind = 'unauthorized' as const
  constructor(message: string) {
    super('KEYCARD_NO_AUTHORIZATION', message)
  }
}

/** A CSRF double-submit failure (FJE `CSRFError`). */
export class CSRFError extends TokenError {
  readonly status = 401
  readonly kind = 'unauthorized' as const
  constructor(message: string) {
    super('KEYCARD_CSRF', message)
  }
}

/** The header (or the query parameter) holds a token, but not in the expected shape (FJE `InvalidHeaderError`, `InvalidQueryParamError`). */
export class InvalidHeaderError extends TokenError {
  readonly status = 422
  readonly kind = 'invalid' as const
  constructor(message: string, code: 'KEYCARD_INVALID_HEADER' | 'KEYCARD_INVALID_QUERY_PARAM' = 'KEYCARD_INVALID_HEADER') {
    super(code, message)
  }
}

type DecodeCode =
  | 'KEYCARD_JWT_MALFORMED'
  | 'KEYCARD_JWT_TOO_LARGE'
  | 'KEYCARD_JWT_ALG_NOT_ALLOWED'
  | 'KEYCARD_JWT_SIGNATURE_INVALID'
  | 'KEYCARD_JWT_NOT_YET_VALID'
  | 'KEYCARD_JWT_CLAIM_INVALID'

/** The token failed decoding or a claim check (PyJWT's `DecodeError` family, FJE `JWTDecodeError`). */
export class JWTDecodeError extends TokenError {
  readonly status = 422
  readonly kind = 'invalid' as const
  /** The claim that failed, for `KEYCARD_JWT_CLAIM_INVALID` and `KEYCARD_JWT_NOT_YET_VALID`. */
  readonly claim: string | undefined
  constructor(code: DecodeCode, message: string, claim?: string) {
    super(code, message)
    this.claim = claim
  }
}

/** `exp` is in the past (PyJWT `ExpiredSignatureError`). Carries the decoded header and claims. */
export class ExpiredSignatureError extends TokenError {
  readonly status = 401
  readonly kind = 'expired' as const
  constructor(header: JwtHeader, claims: JwtClaims) {
    super('KEYCARD_JWT_EXPIRED', 'Token has expired')
    this.header = header
    this.claims = claims
  }
}

/** An access token on a refresh route or the reverse (FJE `WrongTokenError`). */
export class WrongTokenError extends TokenError {
  readonly status = 422
  readonly kind = 'invalid' as const
  constructor(message: string, header: JwtHeader, claims: JwtClaims) {
    super('KEYCARD_WRONG_TOKEN_TYPE', message)
    this.header = header
    this.claims = claims
  }
}

/** The route needs a fresh token (FJE `FreshTokenRequired`). */
export class FreshTokenRequiredError extends TokenError {
  readonly status = 401
  readonly kind = 'needsFresh' as const
  constructor(header: JwtHeader, claims: JwtClaims) {
    super('KEYCARD_FRESH_TOKEN_REQUIRED', 'Fresh token required')
    this.header = header
    this.claims = claims
  }
}

/** The token is in the blocklist (FJE `RevokedTokenError`). */
export class RevokedTokenError extends TokenError {
  readonly status = 401
  readonly kind = 'revoked' as const
  constructor(header: JwtHeader, claims: JwtClaims) {
    super('KEYCARD_TOKEN_REVOKED', 'Token has been revoked')
    this.header = header
    this.claims = claims
  }
}

/** `userLookup` returned null or undefined (FJE `UserLookupError`). */
export class UserLookupError extends TokenError {
  readonly status = 401
  readonly kind = 'userLookup' as const
  constructor(identity: string, header: JwtHeader, claims: JwtClaims) {
    super('KEYCARD_USER_LOOKUP_FAILED', `Error loading the user ${identity}`)
    this.header = header
    this.claims = claims
  }
}

/** `tokenVerification` returned false (FJE `UserClaimsVerificationError`). */
export class UserClaimsVerificationError extends TokenError {
  readonly status = 400
  readonly kind = 'verificationFailed' as const
  constructor(header: JwtHeader, claims: JwtClaims) {
    super('KEYCARD_CLAIMS_VERIFICATION_FAILED', 'User claims verification failed')
    this.header = header
    this.claims = claims
  }
}

/** A bad option passed to `createKeycard`; the message names the option and how to fix it. */
export class KeycardOptionError extends KeycardError {
  readonly option: string
  constructor(option: string, message: string, options?: { cause?: unknown }) {
    super('KEYCARD_OPTION_INVALID', `keycard option "${option}": ${message}`, options)
    this.option = option
  }
}

/** An identity that cannot go into a token (not a string, or empty), refused when minting. */
export class IdentityError extends KeycardError {
  constructor(message: string) {
    super('KEYCARD_IDENTITY_INVALID', message)
  }
}

export function isTokenError(err: unknown): err is TokenError {
  return err instanceof TokenError
}
