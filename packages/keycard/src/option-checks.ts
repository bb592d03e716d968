/**
 * Every option check, run once: `resolveOptions` when the keycard is created, `resolveGuard` when a
 * route is set up. Each result is frozen. A wrong option fails at startup with a message naming the
 * option and the fix, never on the first request (FJE checks config lazily).
 */

import { toSeconds } from './duration.ts'
import { KeycardOptionError } from './errors.ts'
import { resolveKeyMode } from './key-options.ts'
import { isAlgorithm, isHmac, type Algorithm } from './keys.ts'
import type { JwtRequiredOptions, KeycardOptions, ResolvedGuard, ResolvedOptions } from './options.ts'
import type { TokenLocation } from './types.ts'

/** The loader options: functions, each checked to be one. */
const LOADERS = [
  'additionalClaims',
  'additionalHeaders',
  'userIdentity',
  'encodeKey',
  'decodeKey',
  'tokenInBlocklist',
  'tokenVerification',
  'userLookup',
] as const

const KNOWN_OPTIONS = new Set<string>([
  'secret',
  'privateKey',
  'publicKey',
  'algorithm',
  'decodeAlgorithms',
  'accessTokenExpires',
  'refreshTokenExpires',
  'encodeAudience',
  'decodeAudience',
  'encodeIssuer',
  'decodeIssuer',
  'leeway',
  'identityClaim',
  'tokenLocation',
  'headerName',
  'headerType',
  'errorMessageKey',
  'verifySub',
  'encodeNbf',
  'csrfProtect',
  'strict',
  'allErrorsAs401',
  'realm',
  'maxTokenLength',
  'cacheSize',
  'queryStringName',
  'queryStringValuePrefix',
  'jsonKey',
  'refreshJsonKey',
  'accessCookieName',
  'refreshCookieName',
  'accessCookiePath',
  'refreshCookiePath',
  'cookieDomain',
  'cookieSecure',
  'cookieSameSite',
  'sessionCookie',
  'csrfMethods',
  'csrfInCookies',
  'csrfCheckForm',
  'accessCsrfCookieName',
  'refreshCsrfCookieName',
  'accessCsrfCookiePath',
  'refreshCsrfCookiePath',
  'accessCsrfHeaderName',
  'refreshCsrfHeaderName',
  'accessCsrfFieldName',
  'refreshCsrfFieldName',
  'revocationStore',
  'responses',
  'keys',
  'signingKid',
  'jwks',
  'jwksOptions',
  ...LOADERS,
])
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
    throw new KeycardOptionError(
      name,
      `expected a positive number of seconds, a string such as '15m' or '30d', or false for tokens that never expire; got ${JSON.stringify(value)}.`,
    )
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
  if (typeof value !== 'string' || value.length === 0)
    throw new KeycardOptionError(name, `expected a non-empty string, got ${JSON.stringify(value)}.`)
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

/**
 * A checked, frozen, de-duplicated location list; `name` is the option reported on error.
 *
 * @example
 * resolveLocations('tokenLocation', ['headers', 'cookies']) // ['headers', 'cookies']
 */
export function resolveLocations(name: string, value: unknown): readonly TokenLocation[] {
  const list = Array.isArray(value) ? value : [value]
  if (list.length === 0)
    throw new KeycardOptionError(name, `expected at least one of ${SUPPORTED_LOCATIONS.map((l) => `'${l}'`).join(', ')}.`)
  for (const location of list) {
    if (!SUPPORTED_LOCATIONS.includes(location)) {
      throw new KeycardOptionError(
        name,
        `unknown token location ${JSON.stringify(location)}; use any of ${SUPPORTED_LOCATIONS.map((l) => `'${l}'`).join(', ')}.`,
      )
    }
  }
  return Object.freeze([...new Set(list as TokenLocation[])])
}

function cookieName(name: string, value: unknown, fallback: string): string {
  const v = nonEmptyString(name, value, fallback)
  if (!COOKIE_NAME.test(v))
    throw new KeycardOptionError(name, `${JSON.stringify(v)} is not a valid cookie name (letters, digits and !#$%&'*+.^_\`|~- only).`)
  return v
}

function cookiePath(name: string, value: unknown): string {
  const v = nonEmptyString(name, value, '/')
  if (!COOKIE_PATH.test(v))
    throw new KeycardOptionError(name, `${JSON.stringify(v)} is not a valid cookie path; it must start with '/' and hold no ';' or spaces.`)
  return v
}

function headerName(name: string, value: unknown, fallback: string): string {
  const v = nonEmptyString(name, value, fallback)
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(v))
    throw new KeycardOptionError(
      name,
      `${JSON.stringify(v)} is not a valid HTTP header name; use a single token such as 'Authorization' (letters, digits and !#$%&'*+.^_\`|~- only).`,
    )
  return v
}

/** `algorithm` and `decodeAlgorithms` of a single-key keycard, checked against the key options given. */
// biome-ignore lint/suspicious/noExplicitAny: it takes a keycard's options whatever its User type
function singleKeyAlgorithms(options: KeycardOptions<any>): { algorithm: Algorithm; decodeAlgorithms: readonly Algorithm[] } {
  const algorithm = options.algorithm ?? 'HS256'
  if (!isAlgorithm(algorithm)) {
    throw new KeycardOptionError(
      'algorithm',
      `unknown algorithm ${JSON.stringify(algorithm)}; use one of HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA ('none' is never allowed).`,
    )
  }
  const decodeList = options.decodeAlgorithms ?? [algorithm]
  if (!Array.isArray(decodeList) || decodeList.length === 0)
    throw new KeycardOptionError('decodeAlgorithms', 'expected a non-empty array of algorithm names.')
  for (const alg of decodeList) {
    if (!isAlgorithm(alg))
      throw new KeycardOptionError('decodeAlgorithms', `unknown algorithm ${JSON.stringify(alg)}; 'none' is never allowed.`)
  }
  // FJE appends JWT_ALGORITHM to JWT_DECODE_ALGORITHMS when missing: tokens we mint must verify.
  const decodeAlgorithms = Object.freeze([...new Set([...decodeList, algorithm])])

  if (
    options.secret !== undefined &&
    !decodeAlgorithms.some(isHmac) &&
    options.privateKey === undefined &&
    options.publicKey === undefined
  ) {
    throw new KeycardOptionError(
      'secret',
      `a secret is only used by HS* algorithms, but "algorithm" is ${algorithm}; pass "privateKey"/"publicKey" instead, or set algorithm: 'HS256'.`,
    )
  }
  if (isHmac(algorithm) && options.privateKey !== undefined) {
    throw new KeycardOptionError(
      'privateKey',
      `${algorithm} is an HMAC algorithm and signs with "secret"; set "algorithm" to RS256, ES256, EdDSA, … to sign with a private key.`,
    )
  }
  if (options.publicKey !== undefined && decodeAlgorithms.every(isHmac)) {
    throw new KeycardOptionError(
      'publicKey',
      `no asymmetric algorithm is accepted (decodeAlgorithms is ${decodeAlgorithms.join(', ')}), so the public key would never be used; add e.g. 'RS256' to decodeAlgorithms, or drop publicKey.`,
    )
  }

  return { algorithm, decodeAlgorithms }
}

/**
 * Checks every option and fills FJE's defaults; throws a KeycardOptionError naming the option and the fix.
 * In keys and jwks mode (see `resolveKeyMode`) `algorithm` is the signing entry's (or the first
 * entry's) and `decodeAlgorithms` those the keys pin; verification goes by each key's pinned algorithm.
 *
 * @example
 * const resolved = resolveOptions({ secret: process.env.JWT_SECRET, tokenLocation: 'cookies' })
 * resolved.accessTokenExpires // 900
 */
// biome-ignore lint/suspicious/noExplicitAny: it takes a keycard's options whatever its User type
export function resolveOptions(options: KeycardOptions<any>): ResolvedOptions {
  if (options === null || typeof options !== 'object') {
    throw new KeycardOptionError(
      'options',
      'createKeycard needs an options object, e.g. createKeycard({ secret: process.env.JWT_SECRET }).',
    )
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) throw new KeycardOptionError(key, 'is not a keycard option; see the option table in the keycard README.')
  }
  for (const loader of LOADERS) {
    const fn = options[loader]
    if (fn !== undefined && typeof fn !== 'function') throw new KeycardOptionError(loader, `expected a function, got ${typeof fn}.`)
  }
  for (const [kind, fn] of Object.entries(options.responses ?? {})) {
    if (!RESPONSE_KINDS.has(kind))
      throw new KeycardOptionError(`responses.${kind}`, `is not a response builder; use one of ${[...RESPONSE_KINDS].join(', ')}.`)
    if (typeof fn !== 'function') throw new KeycardOptionError(`responses.${kind}`, `expected a function, got ${typeof fn}.`)
  }

  const mode = resolveKeyMode(options)
  const { algorithm, decodeAlgorithms } = mode.mode === 'single' ? singleKeyAlgorithms(options) : mode

  const leeway = options.leeway === undefined ? 0 : toSeconds(options.leeway)
  if (leeway === undefined)
    throw new KeycardOptionError('leeway', `expected a number of seconds or a duration string, got ${JSON.stringify(options.leeway)}.`)

  const identityClaim = nonEmptyString('identityClaim', options.identityClaim, 'sub')
  const authHeaderName = headerName('headerName', options.headerName, 'Authorization')
  const headerType = options.headerType ?? 'Bearer'
  if (typeof headerType !== 'string' || /\s|,/.test(headerType))
    throw new KeycardOptionError(
      'headerType',
      `expected a single word such as 'Bearer', or '' for a bare token; got ${JSON.stringify(headerType)}.`,
    )

  const encodeAudience = stringList('encodeAudience', options.encodeAudience)
  const encodeIssuer = options.encodeIssuer === undefined ? undefined : nonEmptyString('encodeIssuer', options.encodeIssuer, '')
  const realm = options.realm === undefined ? undefined : nonEmptyString('realm', options.realm, '')

  const sameSite = options.cookieSameSite ?? 'Lax'
  if (sameSite !== false && sameSite !== 'Lax' && sameSite !== 'Strict' && sameSite !== 'None') {
    throw new KeycardOptionError(
      'cookieSameSite',
      `expected 'Lax', 'Strict', 'None' or false (no attribute), got ${JSON.stringify(sameSite)}.`,
    )
  }
  const cookieSecure = bool('cookieSecure', options.cookieSecure, false)
  if (sameSite === 'None' && !cookieSecure) {
    throw new KeycardOptionError(
      'cookieSameSite',
      "'None' needs cookieSecure: true; browsers drop SameSite=None cookies that are not Secure.",
    )
  }
  const cookieDomain = options.cookieDomain === undefined ? undefined : nonEmptyString('cookieDomain', options.cookieDomain, '')
  if (cookieDomain !== undefined && !/^\.?[A-Za-z0-9.-]+$/.test(cookieDomain))
    throw new KeycardOptionError('cookieDomain', `${JSON.stringify(cookieDomain)} is not a domain name.`)
  const csrfMethods = options.csrfMethods ?? ['POST', 'PUT', 'PATCH', 'DELETE']
  if (!Array.isArray(csrfMethods) || !csrfMethods.every((m) => typeof m === 'string' && /^[A-Za-z]+$/.test(m))) {
    throw new KeycardOptionError(
      'csrfMethods',
      `expected an array of HTTP method names such as ['POST', 'PUT', 'PATCH', 'DELETE'], got ${JSON.stringify(csrfMethods)}.`,
    )
  }
  const queryStringValuePrefix = options.queryStringValuePrefix ?? ''
  if (typeof queryStringValuePrefix !== 'string')
    throw new KeycardOptionError('queryStringValuePrefix', `expected a string, got ${JSON.stringify(queryStringValuePrefix)}.`)

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

/**
 * A frozen deep copy of what the caller passed, made before any check, so that what was checked is what
 * is used and changing the caller's object afterwards changes nothing. Plain objects and arrays are
 * copied and frozen; byte arrays are copied (a typed array with elements cannot be frozen, and the copy
 * is never handed out); functions, keys, stores and other class instances are kept as references.
 *
 * @example
 * const options = copyOptions({ secret: process.env.JWT_SECRET, tokenLocation: ['headers'] })
 * Object.isFrozen(options.tokenLocation) // true
 */
export function copyOptions<T>(options: T): T {
  const seen = new Map<object, unknown>()
  const copy = (value: unknown): unknown => {
    if (value === null || typeof value !== 'object') return value
    if (seen.has(value)) return seen.get(value)
    if (value instanceof Uint8Array) return new Uint8Array(value)
    if (Array.isArray(value)) {
      const out: unknown[] = []
      seen.set(value, out)
      for (const item of value) out.push(copy(item))
      return Object.freeze(out)
    }
    const proto = Object.getPrototypeOf(value)
    if (proto !== Object.prototype && proto !== null) return value
    const out: Record<string, unknown> = {}
    seen.set(value, out)
    // Each value is read once, so a getter cannot hand the checks one value and the keycard another.
    for (const key of Object.keys(value)) out[key] = copy((value as Record<string, unknown>)[key])
    return Object.freeze(out)
  }
  return copy(options) as T
}

const GUARD_KEYS = new Set(['optional', 'fresh', 'refresh', 'locations', 'verifyType', 'skipRevocationCheck'])
/** Guards made by `resolveGuard`, so the per-request path can skip re-checking them. */
const RESOLVED_GUARDS = new WeakSet<object>()

/**
 * Checks a `jwtRequired` options object once, at route setup; throws KeycardOptionError.
 *
 * @example
 * const guard = resolveGuard({ fresh: true }, keycard.options) // frozen; isResolvedGuard(guard) is true
 */
export function resolveGuard(options: JwtRequiredOptions, defaults: ResolvedOptions): ResolvedGuard {
  for (const key of Object.keys(options)) {
    if (!GUARD_KEYS.has(key))
      throw new KeycardOptionError(`jwtRequired.${key}`, `is not a jwtRequired option; use ${[...GUARD_KEYS].join(', ')}.`)
  }
  for (const key of ['optional', 'fresh', 'refresh', 'verifyType', 'skipRevocationCheck'] as const) {
    const value = options[key]
    if (value !== undefined && typeof value !== 'boolean')
      throw new KeycardOptionError(`jwtRequired.${key}`, `expected true or false, got ${JSON.stringify(value)}.`)
  }
  if (options.fresh && options.refresh)
    throw new KeycardOptionError('jwtRequired.fresh', 'refresh tokens are never fresh; a route cannot require both fresh and refresh.')
  const guard: ResolvedGuard = Object.freeze({
    optional: options.optional ?? false,
    fresh: options.fresh ?? false,
    refresh: options.refresh ?? false,
    locations: options.locations === undefined ? defaults.tokenLocation : resolveLocations('jwtRequired.locations', options.locations),
    verifyType: options.verifyType ?? true,
    skipRevocationCheck: options.skipRevocationCheck ?? false,
  })
  RESOLVED_GUARDS.add(guard)
  return guard
}

/**
 * Whether `options` came out of `resolveGuard` (and so needs no checking).
 *
 * @example
 * isResolvedGuard({ fresh: true }) // false: a plain object is checked on use
 */
export function isResolvedGuard(options: JwtRequiredOptions | ResolvedGuard): options is ResolvedGuard {
  return RESOLVED_GUARDS.has(options)
}
