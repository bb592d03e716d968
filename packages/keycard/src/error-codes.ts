/**
 * The codes of keycard's errors and the unions that make `switch (err.code)` narrow: one member per
 * class and code (as jose's `AnyJOSEError`). Types only; the classes are in `errors.ts`.
 */

import type {
  ExpiredSignatureError,
  FreshTokenRequiredError,
  IdentityError,
  InvalidHeaderError,
  InvalidQueryParamError,
  JWTDecodeError,
  KeycardError,
  KeycardOptionError,
  NoAuthorizationError,
  CSRFError,
  RevokedTokenError,
  UserClaimsVerificationError,
  UserLookupError,
  WrongTokenError,
} from './errors.ts'
import type { JwksUnavailableError } from './jwks/errors.ts'

/**
 * Every code a keycard error can carry; stable across versions.
 *
 * @example
 * const code: KeycardErrorCode = 'KEYCARD_JWT_EXPIRED'
 */
export type KeycardErrorCode =
  | 'KEYCARD_NO_AUTHORIZATION'
  | 'KEYCARD_INVALID_HEADER'
  | 'KEYCARD_INVALID_QUERY_PARAM'
  | 'KEYCARD_CSRF'
  | 'KEYCARD_JWT_MALFORMED'
  | 'KEYCARD_JWT_TOO_LARGE'
  | 'KEYCARD_JWT_ALG_NOT_ALLOWED'
  | 'KEYCARD_JWT_KID_MISSING'
  | 'KEYCARD_JWT_KID_UNKNOWN'
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
  | 'KEYCARD_JWKS_UNAVAILABLE'

/**
 * The codes of `TokenError`s: answers to a request's bad or missing token.
 *
 * @example
 * const code: TokenErrorCode = 'KEYCARD_TOKEN_REVOKED'
 */
export type TokenErrorCode = Exclude<
  KeycardErrorCode,
  'KEYCARD_OPTION_INVALID' | 'KEYCARD_IDENTITY_INVALID' | 'KEYCARD_NO_CONTEXT' | 'KEYCARD_JWKS_UNAVAILABLE'
>

/**
 * Which overridable response builder renders an error (Flask-JWT-Extended's `*_loader` callbacks).
 *
 * @example
 * const kind: ResponseKind = new RevokedTokenError(header, claims).kind // 'revoked'
 */
export type ResponseKind = 'unauthorized' | 'invalid' | 'expired' | 'needsFresh' | 'revoked' | 'userLookup' | 'verificationFailed'

/** The codes `InvalidHeaderError` carries: a bad header, or (as `InvalidQueryParamError`) a bad query parameter. */
export type HeaderCode = 'KEYCARD_INVALID_HEADER' | 'KEYCARD_INVALID_QUERY_PARAM'

/** The codes `JWTDecodeError` carries, one per check. */
export type DecodeCode =
  | 'KEYCARD_JWT_MALFORMED'
  | 'KEYCARD_JWT_TOO_LARGE'
  | 'KEYCARD_JWT_ALG_NOT_ALLOWED'
  | 'KEYCARD_JWT_KID_MISSING'
  | 'KEYCARD_JWT_KID_UNKNOWN'
  | 'KEYCARD_JWT_SIGNATURE_INVALID'
  | 'KEYCARD_JWT_NOT_YET_VALID'
  | 'KEYCARD_JWT_CLAIM_INVALID'

/** One `JWTDecodeError` per code, so each narrows on its own. */
type DecodeErrors = { [C in DecodeCode]: JWTDecodeError<C> }[DecodeCode]

/**
 * Every `TokenError`, discriminated by `code`.
 *
 * @example
 * if (isTokenError(err) && err.code === 'KEYCARD_CSRF') console.log(err.kind) // 'unauthorized'
 */
export type AnyTokenError =
  | NoAuthorizationError
  | CSRFError
  | InvalidHeaderError
  | InvalidQueryParamError
  | DecodeErrors
  | ExpiredSignatureError
  | WrongTokenError
  | FreshTokenRequiredError
  | RevokedTokenError
  | UserLookupError
  | UserClaimsVerificationError

/**
 * Codes thrown as a plain `KeycardError` on a misuse outside the request path: `KEYCARD_NO_CONTEXT`
 * (reading the context of an unguarded request), and a malformed token or a missing claim handed to
 * the cookie helpers or `revokeToken`.
 */
type PlainCode = 'KEYCARD_NO_CONTEXT' | 'KEYCARD_JWT_MALFORMED' | 'KEYCARD_JWT_CLAIM_INVALID'

/**
 * Every error keycard throws, discriminated by `code`: `switch (err.code)` narrows to the class (as
 * jose's `AnyJOSEError`).
 *
 * @example
 * function describe(err: AnyKeycardError): string {
 *   switch (err.code) {
 *     case 'KEYCARD_JWT_EXPIRED': return `expired for ${err.claims?.sub}` // err: ExpiredSignatureError
 *     case 'KEYCARD_OPTION_INVALID': return `fix option ${err.option}` // err: KeycardOptionError
 *     default: return err.message
 *   }
 * }
 */
export type AnyKeycardError =
  | AnyTokenError
  | KeycardOptionError
  | IdentityError
  | JwksUnavailableError
  | { [C in PlainCode]: KeycardError<C> }[PlainCode]
