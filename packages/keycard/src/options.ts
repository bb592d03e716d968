/**
 * What `createKeycard` and `jwtRequired` accept, with Flask-JWT-Extended 4.7's defaults, and what they
 * look like once checked (`ResolvedOptions`, `ResolvedGuard`). The checks themselves are in
 * `option-checks.ts`.
 */

import type { Duration } from './duration.ts'
import type { JSONWebKeySet } from 'jose'
import type { JwksOptions } from './key-options.ts'
import type { KeyEntry } from './keyring.ts'
import type { Algorithm, KeyInput } from './keys.ts'
import type { ResponseBuilders } from './responses.ts'
import type { RevocationStore } from './stores/store.ts'
import type { JwtClaims, JwtHeader, KeycardUser, TokenLocation } from './types.ts'

type MaybePromise<T> = T | Promise<T>

/**
 * Callbacks, named after Flask-JWT-Extended's `*_loader` decorators. Every one may be async.
 *
 * @example
 * const loaders: KeycardLoaders<User> = { userLookup: (_header, claims) => users.find(claims.sub!) }
 */
export interface KeycardLoaders<User = KeycardUser> {
  /** Extra claims for every new token (FJE `additional_claims_loader`); the call's own win on conflict. */
  additionalClaims?: (identity: unknown) => MaybePromise<Record<string, unknown>>
  /** Extra JOSE header fields for every new token (FJE `additional_headers_loader`). */
  additionalHeaders?: (identity: unknown) => MaybePromise<Record<string, unknown>>
  /** Maps what you pass as identity (a user object, say) to the string identity claim (FJE `user_identity_loader`). */
  // biome-ignore lint/suspicious/noExplicitAny: the caller's own identity type (a user object, say); unknown would force a cast at every call site
  userIdentity?: (identity: any) => MaybePromise<string>
  /** The key that signs a token for this identity (FJE `encode_key_loader`). Turns off the verified-token cache. */
  encodeKey?: (identity: unknown) => MaybePromise<KeyInput>
  /** The key that verifies this (still unverified) token (FJE `decode_key_loader`). Turns off the verified-token cache. */
  decodeKey?: (header: JwtHeader, claims: JwtClaims) => MaybePromise<KeyInput>
  /** `true` when the token is revoked (FJE `token_in_blocklist_loader`); defaults to `revocationStore.isRevoked(jti)`. */
  tokenInBlocklist?: (header: JwtHeader, claims: JwtClaims) => MaybePromise<boolean>
  /** `false` rejects the token with 400 "User claims verification failed" (FJE `token_verification_loader`). */
  tokenVerification?: (header: JwtHeader, claims: JwtClaims) => MaybePromise<boolean>
  /** Loads the user of a verified token; `null`/`undefined` → 401 "Error loading the user <id>" (FJE `user_lookup_loader`). */
  userLookup?: (header: JwtHeader, claims: JwtClaims) => MaybePromise<User | null | undefined>
}

/**
 * Everything `createKeycard` accepts; each option names the FJE setting it stands for.
 *
 * @example
 * const options: KeycardOptions = { secret: process.env.JWT_SECRET, tokenLocation: ['headers', 'cookies'], cookieSecure: true }
 */
export interface KeycardOptions<User = KeycardUser> extends KeycardLoaders<User> {
  /** HMAC secret for HS* (FJE `JWT_SECRET_KEY`): at least as many bytes as the hash (32 for HS256). */
  secret?: string | Uint8Array
  /** Signing key for RS*, PS*, ES*, EdDSA (FJE `JWT_PRIVATE_KEY`). PEM, JWK, CryptoKey or KeyObject. */
  privateKey?: KeyInput
  /** Verifying key for RS*, PS*, ES*, EdDSA (FJE `JWT_PUBLIC_KEY`); derived from `privateKey` when omitted. */
  publicKey?: KeyInput
  /** Signing algorithm (FJE `JWT_ALGORITHM`). Default `'HS256'`. */
  algorithm?: Algorithm
  /** Algorithms accepted when verifying (FJE `JWT_DECODE_ALGORITHMS`); `algorithm` is always included. */
  decodeAlgorithms?: Algorithm[]
  /** Access token lifetime (FJE `JWT_ACCESS_TOKEN_EXPIRES`): seconds, `'15m'`, or `false` for none. Default 15 minutes. */
  accessTokenExpires?: Duration | false
  /** Refresh token lifetime (FJE `JWT_REFRESH_TOKEN_EXPIRES`). Default 30 days. */
  refreshTokenExpires?: Duration | false
  /** `aud` put in new tokens (FJE `JWT_ENCODE_AUDIENCE`). */
  encodeAudience?: string | string[]
  /** Audience(s) a token must name (FJE `JWT_DECODE_AUDIENCE`); unchecked when unset. */
  decodeAudience?: string | string[]
  /** `iss` put in new tokens (FJE `JWT_ENCODE_ISSUER`). */
  encodeIssuer?: string
  /** Issuer(s) a token must name (FJE `JWT_DECODE_ISSUER`); unchecked when unset. */
  decodeIssuer?: string | string[]
  /** Clock skew allowed on `iat`, `nbf`, `exp` (FJE `JWT_DECODE_LEEWAY`). Default 0. */
  leeway?: Duration
  /** Claim that holds the identity (FJE `JWT_IDENTITY_CLAIM`). Default `'sub'`. */
  identityClaim?: string
  /** Where to look for tokens, in order (FJE `JWT_TOKEN_LOCATION`). Default `['headers']`. */
  tokenLocation?: TokenLocation | TokenLocation[]
  /** Header holding the token (FJE `JWT_HEADER_NAME`). Default `'Authorization'`. */
  headerName?: string
  /** Scheme before the token (FJE `JWT_HEADER_TYPE`); `''` means the header holds the bare token. Default `'Bearer'`. */
  headerType?: string
  /** Key of every default error body (FJE `JWT_ERROR_MESSAGE_KEY`). Default `'msg'`. */
  errorMessageKey?: string
  /** Reject tokens whose `sub` is not a string (FJE `JWT_VERIFY_SUB`). Default `true`. */
  verifySub?: boolean
  /** Put `nbf` (= `iat`) in new tokens (FJE `JWT_ENCODE_NBF`). Default `true`. */
  encodeNbf?: boolean
  /** Put a `csrf` claim in every new token, for cookie double-submit (FJE `JWT_COOKIE_CSRF_PROTECT`). Default `true`. */
  csrfProtect?: boolean
  /**
   * Refuse tokens Flask-JWT-Extended would accept but that no keycard or FJE issuer mints: no `exp`
   * (unless that token type's lifetime is `false`), no `jti` or `type`, an unknown `type`, a `crit`
   * header, non-base64url characters, a deeply nested payload. Default `true`; `false` for interop
   * with issuers that omit FJE's claims.
   */
  strict?: boolean
  /** Answer 401 instead of FJE's 422/400 for every token error, for clients that only re-login on 401. Default `false`. */
  allErrorsAs401?: boolean
  /** `realm` of the `WWW-Authenticate` header sent with every 401. */
  realm?: string
  /** Tokens longer than this many characters are refused before any parsing. Default 8192. */
  maxTokenLength?: number
  /** Entries in the cache of verified tokens; `0` turns it off. Default 10000. */
  cacheSize?: number
  /** Query parameter holding the token (FJE `JWT_QUERY_STRING_NAME`). Default `'jwt'`. */
  queryStringName?: string
  /** Prefix the query value must start with, e.g. `'Bearer '` (FJE `JWT_QUERY_STRING_VALUE_PREFIX`). Default `''`. */
  queryStringValuePrefix?: string
  /** JSON body key of access tokens (FJE `JWT_JSON_KEY`). Default `'access_token'`. */
  jsonKey?: string
  /** JSON body key of refresh tokens on refresh routes (FJE `JWT_REFRESH_JSON_KEY`). Default `'refresh_token'`. */
  refreshJsonKey?: string
  /** Cookie holding the access token (FJE `JWT_ACCESS_COOKIE_NAME`). Default `'access_token_cookie'`. */
  accessCookieName?: string
  /** Cookie holding the refresh token (FJE `JWT_REFRESH_COOKIE_NAME`). Default `'refresh_token_cookie'`. */
  refreshCookieName?: string
  /** Path of the access cookie (FJE `JWT_ACCESS_COOKIE_PATH`). Default `'/'`. */
  accessCookiePath?: string
  /** Path of the refresh cookie; narrow it to your refresh route (FJE `JWT_REFRESH_COOKIE_PATH`). Default `'/'`. */
  refreshCookiePath?: string
  /** `Domain` of every cookie (FJE `JWT_COOKIE_DOMAIN`). Default none (host-only). */
  cookieDomain?: string
  /** `Secure` on every cookie (FJE `JWT_COOKIE_SECURE`); turn on in production. Default `false`. */
  cookieSecure?: boolean
  /** `SameSite` of every cookie (FJE `JWT_COOKIE_SAMESITE`). Default `'Lax'` (FJE omits it); `'None'` needs `cookieSecure`. */
  cookieSameSite?: 'Lax' | 'Strict' | 'None' | false
  /** `true`: cookies end with the browser session; `false`: they persist one year, as FJE (FJE `JWT_SESSION_COOKIE`). Default `true`. */
  sessionCookie?: boolean
  /** Methods that must echo the CSRF value (FJE `JWT_CSRF_METHODS`). Default POST, PUT, PATCH, DELETE. */
  csrfMethods?: string[]
  /** Also set the JavaScript-readable CSRF cookies (FJE `JWT_CSRF_IN_COOKIES`). Default `true`. */
  csrfInCookies?: boolean
  /** Also accept the CSRF value from a form field (FJE `JWT_CSRF_CHECK_FORM`). Default `false`. */
  csrfCheckForm?: boolean
  /** (FJE `JWT_ACCESS_CSRF_COOKIE_NAME`) Default `'csrf_access_token'`. */
  accessCsrfCookieName?: string
  /** (FJE `JWT_REFRESH_CSRF_COOKIE_NAME`) Default `'csrf_refresh_token'`. */
  refreshCsrfCookieName?: string
  /** (FJE `JWT_ACCESS_CSRF_COOKIE_PATH`) Default `'/'`. */
  accessCsrfCookiePath?: string
  /** (FJE `JWT_REFRESH_CSRF_COOKIE_PATH`) Default `'/'`. */
  refreshCsrfCookiePath?: string
  /** Header carrying the access CSRF value (FJE `JWT_ACCESS_CSRF_HEADER_NAME`). Default `'X-CSRF-TOKEN'`. */
  accessCsrfHeaderName?: string
  /** Header carrying the refresh CSRF value (FJE `JWT_REFRESH_CSRF_HEADER_NAME`). Default `'X-CSRF-TOKEN'`. */
  refreshCsrfHeaderName?: string
  /** Form field of the access CSRF value (FJE `JWT_ACCESS_CSRF_FIELD_NAME`). Default `'csrf_token'`. */
  accessCsrfFieldName?: string
  /** Form field of the refresh CSRF value (FJE `JWT_REFRESH_CSRF_FIELD_NAME`). Default `'csrf_token'`. */
  refreshCsrfFieldName?: string
  /** Where revoked token ids live; used by the default `tokenInBlocklist`. */
  revocationStore?: RevocationStore
  /** Replace any default error response (FJE `unauthorized_loader`, `expired_token_loader`, …). */
  responses?: Partial<ResponseBuilders>
  /**
   * Several keys with kids, instead of secret/privateKey/publicKey: verification picks the key by the
   * token's `kid` (required) and its pinned algorithm; new tokens carry the signing entry's `kid`.
   * Change them later with `keycard.setKeys` / `keycard.removeKey`.
   */
  keys?: readonly KeyEntry[]
  /** The entry of `keys` that signs; default: the only one that can (none: verify-only; several: name one). */
  signingKid?: string
  /**
   * Verify-only, with a key set: its URL (fetched and cached, see `jwksOptions`) or the set itself
   * (`{ keys: [...] }`). Tokens need a `kid`; each key's algorithm is pinned.
   */
  jwks?: string | URL | JSONWebKeySet
  /** How the `jwks` URL is fetched and cached. */
  jwksOptions?: JwksOptions
}

/**
 * Options after defaults and checks; frozen.
 *
 * @example
 * keycard.options.accessTokenExpires // 900 unless configured
 */
export interface ResolvedOptions {
  readonly algorithm: Algorithm
  readonly decodeAlgorithms: readonly Algorithm[]
  readonly accessTokenExpires: number | false
  readonly refreshTokenExpires: number | false
  readonly encodeAudience: string | readonly string[] | undefined
  readonly decodeAudience: readonly string[] | undefined
  readonly encodeIssuer: string | undefined
  readonly decodeIssuer: readonly string[] | undefined
  readonly leeway: number
  readonly identityClaim: string
  readonly tokenLocation: readonly TokenLocation[]
  readonly headerName: string
  readonly headerType: string
  readonly errorMessageKey: string
  readonly verifySub: boolean
  readonly encodeNbf: boolean
  readonly csrfProtect: boolean
  readonly strict: boolean
  readonly allErrorsAs401: boolean
  readonly realm: string | undefined
  readonly maxTokenLength: number
  readonly cacheSize: number
  readonly queryStringName: string
  readonly queryStringValuePrefix: string
  readonly jsonKey: string
  readonly refreshJsonKey: string
  readonly accessCookieName: string
  readonly refreshCookieName: string
  readonly accessCookiePath: string
  readonly refreshCookiePath: string
  readonly cookieDomain: string | undefined
  readonly cookieSecure: boolean
  readonly cookieSameSite: 'Lax' | 'Strict' | 'None' | false
  readonly sessionCookie: boolean
  readonly csrfMethods: ReadonlySet<string>
  readonly csrfInCookies: boolean
  readonly csrfCheckForm: boolean
  readonly accessCsrfCookieName: string
  readonly refreshCsrfCookieName: string
  readonly accessCsrfCookiePath: string
  readonly refreshCsrfCookiePath: string
  /** Lower-cased, as RequestView.header takes it. */
  readonly accessCsrfHeaderName: string
  readonly refreshCsrfHeaderName: string
  readonly accessCsrfFieldName: string
  readonly refreshCsrfFieldName: string
}

/**
 * Options of `jwtRequired` / `verifyJwtInRequest`, as Flask-JWT-Extended's `jwt_required`.
 *
 * @example
 * app.post('/token/refresh', { preHandler: auth.jwtRequired({ refresh: true }) }, handler)
 */
export interface JwtRequiredOptions {
  /** No token anywhere → continue without one (`req.jwt` is null). A bad token still fails. */
  optional?: boolean
  /** Require a fresh access token. */
  fresh?: boolean
  /** Require a refresh token (otherwise refresh tokens are refused). */
  refresh?: boolean
  /** Override `tokenLocation` for this route. */
  locations?: TokenLocation | readonly TokenLocation[]
  /** `false` accepts both access and refresh tokens (a single logout route). Default `true`. */
  verifyType?: boolean
  /** Skip the revocation check (FJE `skip_revocation_check`). */
  skipRevocationCheck?: boolean
}

/**
 * A guard's options after checking: what the per-request path reads.
 *
 * @example
 * const guard: ResolvedGuard = keycard.guardOptions({ optional: true })
 */
export interface ResolvedGuard {
  readonly optional: boolean
  readonly fresh: boolean
  readonly refresh: boolean
  readonly locations: readonly TokenLocation[]
  readonly verifyType: boolean
  readonly skipRevocationCheck: boolean
}
