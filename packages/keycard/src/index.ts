/**
 * keycard: JWT authentication for TypeScript with Flask-JWT-Extended 4.x's tokens, options and error
 * contract. This file is the public API; adapters live at `keycard/fastify`, `keycard/express` and `keycard/hono`.
 */

export { createKeycard, Keycard } from './keycard.ts'
export type { CheckResult } from './guard.ts'
export type { CreateAccessTokenOptions, CreateRefreshTokenOptions } from './tokens.ts'
export type { JwtRequiredOptions, KeycardOptions, KeycardLoaders, ResolvedGuard, ResolvedOptions } from './options.ts'
export type { Duration } from './duration.ts'
export { toSeconds } from './duration.ts'
export { ALGORITHMS } from './keys.ts'
export type { KeyEntry } from './keyring.ts'
export type { JwksOptions } from './key-options.ts'
export { JwksUnavailableError, isJwksUnavailable, jwksErrorResponse } from './jwks/errors.ts'
export type { Algorithm, KeyInput } from './keys.ts'
export type { JwtClaims, JwtContext, JwtHeader, KeycardClaims, KeycardTypes, KeycardUser, TokenLocation, TokenType } from './types.ts'
export type { RequestView } from './request.ts'
export { AdapterKit, runGuard } from './adapters/kit.ts'
export type { AdapterGlue, CookieHelpers, GuardFlow } from './adapters/kit.ts'
export type { AdapterOptions } from './adapters/shared.ts'
export { NodeRequestView, WebRequestView, parseCookieHeader } from './request.ts'
export { setCookieLines, unsetCookieLines } from './cookies.ts'
export type { CookieKind, SetCookieOptions } from './cookies.ts'
export type { AuthResponse, ResponseBuilders, ResponseInit } from './responses.ts'
export type { RevocationStore } from './stores/store.ts'
export { MemoryRevocationStore } from './stores/memory.ts'
export type { MemoryStoreOptions } from './stores/memory.ts'
export { isStoreUnavailable, StoreUnavailableError, storeErrorResponse } from './stores/errors.ts'
export type { StoreUnavailableReason } from './stores/errors.ts'
export {
  KeycardError,
  TokenError,
  NoAuthorizationError,
  CSRFError,
  InvalidHeaderError,
  InvalidQueryParamError,
  JWTDecodeError,
  ExpiredSignatureError,
  WrongTokenError,
  FreshTokenRequiredError,
  RevokedTokenError,
  UserLookupError,
  UserClaimsVerificationError,
  KeycardOptionError,
  IdentityError,
  isTokenError,
  isKeycardError,
  // Flask-JWT-Extended's names (flask_jwt_extended.exceptions) for the classes above.
  JWTExtendedException,
  FreshTokenRequired,
} from './errors.ts'
export type { AnyKeycardError, AnyTokenError, KeycardErrorCode, TokenErrorCode, ResponseKind } from './errors.ts'
