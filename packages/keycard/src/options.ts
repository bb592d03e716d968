/**
 * `KeycardOptions` with Flask-JWT-Extended 4.7's defaults, and `resolveOptions`, which checks every
 * option once when the keycard is created and freezes the result. A wrong option fails at startup with
 * a message naming the option and the fix, never on the first request (FJE checks config lazily).
 */

import { KeycardOptionError } from './errors.ts'
import { toSeconds, type Duration } from './duration.ts'
import { isAlgorithm, isHmac, type Algorithm, type KeyInput } from './keys.ts'
import type { ResponseBuilders } from './responses.ts'
import type { RevocationStore } from './stores/store.ts'
import type { JwtClaims, JwtHeader, TokenLocation } from './types.ts'

type MaybePromise<T> = T | Promise<T>

/** Callbacks, named after Flask-JWT-Extended's `*_loader` decorators. Every one may be async. */
export interface KeycardLoaders<User = unknown> {
  /** Extra claims for every new token (FJE `additional_claims_loader`); the call's own win on conflict. */
  additionalClaims?: (identity: unknown) => MaybePromise<Record<string, unknown>>
  /** Extra JOSE header fields for every new token (FJE `additional_headers_loader`). */
  additionalHeaders?: (identity: unknown) => MaybePromise<Record<string, unknown>>
  /** Maps what you pass as identity (a user object, say) to the string identity claim (FJE `user_identity_loader`). */
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

export interface KeycardOptions<User = unknown> extends KeycardLoaders<User> {
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
}

/** Options after defaults and checks; frozen. */
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

const KNOWN_OPTIONS = new Set([
  'secret', 'privateKey', 'publicKey', 'algorithm', 'decodeAlgorithms', 'accessTokenExpires',
  'refreshTokenExpires', 'encodeAudience', 'decodeAudience', 'encodeIssuer', 'decodeIssuer', 'leeway',
  'identityClaim', 'tokenLocation', 'headerName', 'headerType', 'errorMessageKey', 'verifySub',
  'encodeNbf', 'csrfProtect', 'strict', 'allErrorsAs401', 'realm', 'maxTokenLength', 'cacheSize',
  'queryStringName', 'queryStringValuePrefix', 'jsonKey', 'refreshJsonKey', 'accessCookieName',
  'refreshCookieName', 'accessCookiePath', 'refreshCookiePath', 'cookieDomain', 'cookieSecure',
  'cookieSameSite', 'sessionCookie', 'csrfMethods', 'csrfInCookies', 'csrfCheckForm', 'accessCsrfCookieName',
  'refreshCsrfCookieName', 'accessCsrfCookiePath', 'refreshCsrfCookiePath', 'accessCsrfHeaderName',
  'refreshCsrfHeaderName', 'accessCsrfFieldName', 'refreshCsrfFieldName',
  'revocationStore', 'responses', 'additionalClaims', 'additionalHeaders', 'userIdentity', 'encodeKey',
  'decodeKey', 'tokenInBlocklist', 'tokenVerification', 'userLookup',
])
const LOADERS = ['additionalClaims', 'additionalHeaders', 'userIdentity', 'encodeKey', 'decodeKey', 'tokenInBlocklist', 'tokenVerification', 'userLookup'] as const
const RESPONSE_KINDS = new Set(['unauthorized', 'invalid', 'expired', 'needsFresh', 'revoked', 'userLookup', 'verificationFailed'])
const SUPPORTED_LOCATIONS: readonly TokenLocation[] = ['headers', 'cookies', 'query_string', 'json']
/** RFC 6265 cookie-name token and cookie-path characters; anything else would break the Set-Cookie line. */
const COOKIE_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
const COOKIE_PATH = /^\/[\x21-\x3A\x3C-\x7E]*$/

function lifetime(name: string, value: unknown, fallback: number): number | false {
  if (value === undefined) return fallback
  if (value === false) return false
  const seconds = toSeconds(value)
  if (seconds === undefined || seconds <= 0) {
    throw new KeycardOptionError(name, `expected a positive number of seconds, a string such as '15m' or '30d', or false for tokens that never expire; got ${JSON.stringify(value)}.`)
  }
  return seconds
}

function bool(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') throw new KeycardOptionError(name, `expected true or false, got ${JSON.stringify(value)}.`)
  return value
}

function nonEmptyString(name: string, value: unknown, fallback: string): string {
  if (value === undefined) return fallback
  if (typeof value !== 'string' || value.length === 0) throw new KeycardOptionError(name, `expected a non-empty string, got ${JSON.stringify(value)}.`)
  return value
}

function stringList(name: string, value: unknown): readonly string[] | undefined {
  if (value === undefined || value === null) return undefined
  const list = Array.isArray(value) ? value : [value]
  if (list.length === 0 || !list.every((v) => typeof v === 'string' && v.length > 0)) {
    throw new KeycardOptionError(name, `expected a non-empty string or a non-empty array of strings, got ${JSON.stringify(value)}.`)
  }
  return Object.freeze([...list])
}

function positiveInteger(name: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new KeycardOptionError(name, `expected an integer of at least ${min}, got ${JSON.stringify(value)}.`)
  }
  return value
}

export function resolveLocations(name: string, value: unknown): readonly TokenLocation[] {
  const list = Array.isArray(value) ? value : [value]
  if (list.length === 0) throw new KeycardOptionError(name, `expected at least one of ${SUPPORTED_LOCATIONS.map((l) => `'${l}'`).join(', ')}.`)
  for (const location of list) {
    if (!SUPPORTED_LOCATIONS.includes(location)) {
      throw new KeycardOptionError(name, `unknown token location ${JSON.stringify(location)}; use any of ${SUPPORTED_LOCATIONS.map((l) => `'${l}'`).join(', ')}.`)
    }
  }
  return Object.freeze([...new Set(list as TokenLocation[])])
}

function cookieName(name: string, value: unknown, fallback: string): string {
  const v = nonEmptyString(name, value, fallback)
  if (!COOKIE_NAME.test(v)) throw new KeycardOptionError(name, `${JSON.stringify(v)} is not a valid cookie name (letters, digits and !#$%&'*+.^_\`|~- only).`)
  return v
}

function cookiePath(name: string, value: unknown): string {
  const v = nonEmptyString(name, value, '/')
  if (!COOKIE_PATH.test(v)) throw new KeycardOptionError(name, `${JSON.stringify(v)} is not a valid cookie path; it must start with '/' and hold no ';' or spaces.`)
  return v
}

function headerName(name: string, value: unknown, fallback: string): string {
  const v = nonEmptyString(name, value, fallback)
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(v)) throw new KeycardOptionError(name, `${JSON.stringify(v)} is not a valid HTTP header name; use a single token such as 'Authorization' (letters, digits and !#$%&'*+.^_\`|~- only).`)
  return v
}

export function resolveOptions(options: KeycardOptions<any>): ResolvedOptions {
  if (options === null || typeof options !== 'object') {
    throw new KeycardOptionError('options', 'createKeycard needs an options object, e.g. createKeycard({ secret: process.env.JWT_SECRET }).')
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) throw new KeycardOptionError(key, 'is not a keycard option; see the option table in the keycard README.')
  }
  for (const loader of LOADERS) {
    const fn = options[loader]
    if (fn !== undefined && typeof fn !== 'function') throw new KeycardOptionError(loader, `expected a function, got ${typeof fn}.`)
  }
  for (const [kind, fn] of Object.entries(options.responses ?? {})) {
    if (!RESPONSE_KINDS.has(kind)) throw new KeycardOptionError(`responses.${kind}`, `is not a response builder; use one of ${[...RESPONSE_KINDS].join(', ')}.`)
    if (typeof fn !== 'function') throw new KeycardOptionError(`responses.${kind}`, `expected a function, got ${typeof fn}.`)
  }

  const algorithm = options.algorithm ?? 'HS256'
  if (!isAlgorithm(algorithm)) {
    throw new KeycardOptionError('algorithm', `unknown algorithm ${JSON.stringify(algorithm)}; use one of HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA ('none' is never allowed).`)
  }
  const decodeList = options.decodeAlgorithms ?? [algorithm]
  if (!Array.isArray(decodeList) || decodeList.length === 0) throw new KeycardOptionError('decodeAlgorithms', 'expected a non-empty array of algorithm names.')
  for (const alg of decodeList) {
    if (!isAlgorithm(alg)) throw new KeycardOptionError('decodeAlgorithms', `unknown algorithm ${JSON.stringify(alg)}; 'none' is never allowed.`)
  }
  // FJE appends JWT_ALGORITHM to JWT_DECODE_ALGORITHMS when missing: tokens we mint must verify.
  const decodeAlgorithms = Object.freeze([...new Set([...decodeList, algorithm])])

  if (options.secret !== undefined && !decodeAlgorithms.some(isHmac) && options.privateKey === undefined && options.publicKey === undefined) {
    throw new KeycardOptionError('secret', `a secret is only used by HS* algorithms, but "algorithm" is ${algorithm}; pass "privateKey"/"publicKey" instead, or set algorithm: 'HS256'.`)
  }
  if (isHmac(algorithm) && (options.privateKey !== undefined)) {
    throw new KeycardOptionError('privateKey', `${algorithm} is an HMAC algorithm and signs with "secret"; set "algorithm" to RS256, ES256, EdDSA, … to sign with a private key.`)
  }
  if (options.publicKey !== undefined && decodeAlgorithms.every(isHmac)) {
    throw new KeycardOptionError('publicKey', `no asymmetric algorithm is accepted (decodeAlgorithms is ${decodeAlgorithms.join(', ')}), so the public key would never be used; add e.g. 'RS256' to decodeAlgorithms, or drop publicKey.`)
  }

  const leeway = options.leeway === undefined ? 0 : toSeconds(options.leeway)
  if (leeway === undefined) throw new KeycardOptionError('leeway', `expected a number of seconds or a duration string, got ${JSON.stringify(options.leeway)}.`)

  const identityClaim = nonEmptyString('identityClaim', options.identityClaim, 'sub')
  const authHeaderName = headerName('headerName', options.headerName, 'Authorization')
  const headerType = options.headerType ?? 'Bearer'
  if (typeof headerType !== 'string' || /\s|,/.test(headerType)) throw new KeycardOptionError('headerType', `expected a single word such as 'Bearer', or '' for a bare token; got ${JSON.stringify(headerType)}.`)

  const encodeAudience = stringList('encodeAudience', options.encodeAudience)
  const encodeIssuer = options.encodeIssuer === undefined ? undefined : nonEmptyString('encodeIssuer', options.encodeIssuer, '')
  const realm = options.realm === undefined ? undefined : nonEmptyString('realm', options.realm, '')

  const sameSite = options.cookieSameSite ?? 'Lax'
  if (sameSite !== false && sameSite !== 'Lax' && sameSite !== 'Strict' && sameSite !== 'None') {
    throw new KeycardOptionError('cookieSameSite', `expected 'Lax', 'Strict', 'None' or false (no attribute), got ${JSON.stringify(sameSite)}.`)
  }
  const cookieSecure = bool('cookieSecure', options.cookieSecure, false)
  if (sameSite === 'None' && !cookieSecure) {
    throw new KeycardOptionError('cookieSameSite', "'None' needs cookieSecure: true; browsers drop SameSite=None cookies that are not Secure.")
  }
  const cookieDomain = options.cookieDomain === undefined ? undefined : nonEmptyString('cookieDomain', options.cookieDomain, '')
  if (cookieDomain !== undefined && !/^\.?[A-Za-z0-9.-]+$/.test(cookieDomain)) throw new KeycardOptionError('cookieDomain', `${JSON.stringify(cookieDomain)} is not a domain name.`)
  const csrfMethods = options.csrfMethods ?? ['POST', 'PUT', 'PATCH', 'DELETE']
  if (!Array.isArray(csrfMethods) || !csrfMethods.every((m) => typeof m === 'string' && /^[A-Za-z]+$/.test(m))) {
    throw new KeycardOptionError('csrfMethods', `expected an array of HTTP method names such as ['POST', 'PUT', 'PATCH', 'DELETE'], got ${JSON.stringify(csrfMethods)}.`)
  }
  const queryStringValuePrefix = options.queryStringValuePrefix ?? ''
  if (typeof queryStringValuePrefix !== 'string') throw new KeycardOptionError('queryStringValuePrefix', `expected a string, got ${JSON.stringify(queryStringValuePrefix)}.`)

  return Object.freeze({
    algorithm,
    decodeAlgorithms,
    accessTokenExpires: lifetime('accessTokenExpires', options.accessTokenExpires, 15 * 60),
    refreshTokenExpires: lifetime('refreshTokenExpires', options.refreshTokenExpires, 30 * 86400),
    encodeAudience: encodeAudience && (Array.isArray(options.encodeAudience) ? encodeAudience : encodeAudience[0]),
    decodeAudience: stringList('decodeAudience', options.decodeAudience),
    encodeIssuer,
    decodeIssuer: stringList('decodeIssuer', options.decodeIssuer),
    leeway,
    identityClaim,
    tokenLocation: resolveLocations('tokenLocation', options.tokenLocation ?? ['headers']),
    headerName: authHeaderName,
    headerType,
    errorMessageKey: nonEmptyString('errorMessageKey', options.errorMessageKey, 'msg'),
    verifySub: bool('verifySub', options.verifySub, true),
    encodeNbf: bool('encodeNbf', options.encodeNbf, true),
    csrfProtect: bool('csrfProtect', options.csrfProtect, true),
    strict: bool('strict', options.strict, true),
    allErrorsAs401: bool('allErrorsAs401', options.allErrorsAs401, false),
    realm,
    maxTokenLength: positiveInteger('maxTokenLength', options.maxTokenLength, 8192, 64),
    cacheSize: positiveInteger('cacheSize', options.cacheSize, 10_000, 0),
    queryStringName: nonEmptyString('queryStringName', options.queryStringName, 'jwt'),
    queryStringValuePrefix,
    jsonKey: nonEmptyString('jsonKey', options.jsonKey, 'access_token'),
    refreshJsonKey: nonEmptyString('refreshJsonKey', options.refreshJsonKey, 'refresh_token'),
    accessCookieName: cookieName('accessCookieName', options.accessCookieName, 'access_token_cookie'),
    refreshCookieName: cookieName('refreshCookieName', options.refreshCookieName, 'refresh_token_cookie'),
    accessCookiePath: cookiePath('accessCookiePath', options.accessCookiePath),
    refreshCookiePath: cookiePath('refreshCookiePath', options.refreshCookiePath),
    cookieDomain,
    cookieSecure,
    cookieSameSite: sameSite,
    sessionCookie: bool('sessionCookie', options.sessionCookie, true),
    csrfMethods: new Set(csrfMethods.map((m) => m.toUpperCase())),
    csrfInCookies: bool('csrfInCookies', options.csrfInCookies, true),
    csrfCheckForm: bool('csrfCheckForm', options.csrfCheckForm, false),
    accessCsrfCookieName: cookieName('accessCsrfCookieName', options.accessCsrfCookieName, 'csrf_access_token'),
    refreshCsrfCookieName: cookieName('refreshCsrfCookieName', options.refreshCsrfCookieName, 'csrf_refresh_token'),
    accessCsrfCookiePath: cookiePath('accessCsrfCookiePath', options.accessCsrfCookiePath),
    refreshCsrfCookiePath: cookiePath('refreshCsrfCookiePath', options.refreshCsrfCookiePath),
    accessCsrfHeaderName: headerName('accessCsrfHeaderName', options.accessCsrfHeaderName, 'X-CSRF-TOKEN').toLowerCase(),
    refreshCsrfHeaderName: headerName('refreshCsrfHeaderName', options.refreshCsrfHeaderName, 'X-CSRF-TOKEN').toLowerCase(),
    accessCsrfFieldName: nonEmptyString('accessCsrfFieldName', options.accessCsrfFieldName, 'csrf_token'),
    refreshCsrfFieldName: nonEmptyString('refreshCsrfFieldName', options.refreshCsrfFieldName, 'csrf_token'),
  })
}
