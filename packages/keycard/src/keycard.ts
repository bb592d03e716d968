/**
 * `createKeycard(options)`: the one object that mints and verifies tokens (Flask-JWT-Extended's
 * `JWTManager`). Options are checked and keys imported here, once; the per-request path does no
 * option parsing and, for a token seen before, no cryptography.
 */

import { randomUUID } from 'node:crypto'
import { CompactSign } from 'jose'
import { VerifiedCache, type Verified } from './cache.ts'
import { checkClaims, checkTimes, withDefaults } from './claims.ts'
import { toSeconds, type Duration } from './duration.ts'
import {
  FreshTokenRequiredError,
  IdentityError,
  JWTDecodeError,
  KeycardError,
  KeycardOptionError,
  RevokedTokenError,
  UserClaimsVerificationError,
  UserLookupError,
  WrongTokenError,
  type TokenError,
} from './errors.ts'
import { parseToken, unverifiedHeader, type ParsedToken } from './jws.ts'
import {
  asymmetricVerifier,
  hmacVerifier,
  importSignKey,
  importVerifyKey,
  isHmac,
  secretBytes,
  type Algorithm,
  type KeyInput,
  type SignatureVerifier,
  type SigningKey,
} from './keys.ts'
import { confirmHeaderToken, findToken, type FoundToken } from './locations.ts'
import { checkCsrf, csrfOverExpiry } from './csrf.ts'
import { resolveLocations, resolveOptions, type KeycardOptions, type ResolvedOptions } from './options.ts'
import type { RequestView } from './request.ts'
import { createRenderer, type AuthResponse } from './responses.ts'
import type { JwtClaims, JwtContext, JwtHeader, TokenLocation, TokenType } from './types.ts'

export interface CreateAccessTokenOptions {
  /** `true`, `false` (default), or a duration the token stays fresh for ("fresh until" timestamp). */
  fresh?: boolean | Duration
  /** Overrides `accessTokenExpires` for this token; `false` for no `exp`. */
  expiresIn?: Duration | false
  /** Claims added after the standard ones; they win over `additionalClaims` loader output. */
  additionalClaims?: Record<string, unknown>
  /** JOSE header fields, such as `kid`; they win over the `additionalHeaders` loader. */
  additionalHeaders?: Record<string, unknown>
}

export type CreateRefreshTokenOptions = Omit<CreateAccessTokenOptions, 'fresh'>

/** Options of `jwtRequired` / `verifyJwtInRequest`, as Flask-JWT-Extended's `jwt_required`. */
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

/** A guard's options after checking: what the per-request path reads. */
export interface ResolvedGuard {
  readonly optional: boolean
  readonly fresh: boolean
  readonly refresh: boolean
  readonly locations: readonly TokenLocation[]
  readonly verifyType: boolean
  readonly skipRevocationCheck: boolean
}

const GUARD_KEYS = new Set(['optional', 'fresh', 'refresh', 'locations', 'verifyType', 'skipRevocationCheck'])
const RESERVED_HEADERS = new Set(['alg', 'crit', 'b64'])
/** Guards made by `guardOptions`, so the per-request path can skip re-checking them. */
const RESOLVED_GUARDS = new WeakSet<object>()

export class Keycard<User = unknown> {
  readonly options: ResolvedOptions
  readonly #loaders: KeycardOptions<User>
  readonly #verifiers: ReadonlyMap<string, SignatureVerifier>
  readonly #signingKey: SigningKey | undefined
  readonly #cache: VerifiedCache
  readonly #headerKey: string
  readonly #render: (error: TokenError) => AuthResponse
  readonly #defaultGuard: ResolvedGuard

  /** Use `createKeycard`, which imports the keys first. */
  constructor(options: ResolvedOptions, raw: KeycardOptions<User>, verifiers: Map<string, SignatureVerifier>, signingKey: SigningKey | undefined) {
    this.options = options
    this.#loaders = raw
    this.#verifiers = verifiers
    this.#signingKey = signingKey
    // Keys chosen per token by a loader could change between calls: never serve those from cache.
    this.#cache = new VerifiedCache(raw.decodeKey ? 0 : options.cacheSize)
    this.#headerKey = options.headerName.toLowerCase()
    this.#render = createRenderer(options, raw.responses)
    this.#defaultGuard = this.guardOptions()
  }

  // ---- minting --------------------------------------------------------------------------------

  /** A new access token for `identity` (FJE `create_access_token`). */
  createAccessToken(identity: unknown, options: CreateAccessTokenOptions = {}): Promise<string> {
    return this.#mint('access', identity, options.fresh ?? false, options)
  }

  /** A new refresh token for `identity`; never fresh (FJE `create_refresh_token`). */
  createRefreshToken(identity: unknown, options: CreateRefreshTokenOptions = {}): Promise<string> {
    return this.#mint('refresh', identity, false, options)
  }

  async #mint(type: TokenType, identity: unknown, fresh: boolean | Duration, options: CreateRefreshTokenOptions): Promise<string> {
    const loaders = this.#loaders
    if (!this.#signingKey && !loaders.encodeKey) {
      // Verify-only (a resource server holding only the public key): say why it cannot mint.
      throw new KeycardOptionError('privateKey', `this keycard only verifies; pass "privateKey" to mint ${this.options.algorithm} tokens.`)
    }
    const subject = loaders.userIdentity ? await loaders.userIdentity(identity) : identity
    if (typeof subject !== 'string' || subject.length === 0) {
      const got = typeof subject === 'string' ? 'an empty string' : `${typeof subject}${typeof subject === 'number' ? ` ${subject}` : ''}`
      throw new IdentityError(
        `The identity must be a non-empty string, got ${got}: JWT "${this.options.identityClaim}" is a string (RFC 7519; PyJWT 2.10+ rejects anything else). ` +
          (loaders.userIdentity ? 'Make the userIdentity loader return a string.' : 'Pass String(id), or set the userIdentity option to map your user object to its id.'),
      )
    }
    const o = this.options
    const now = Date.now() / 1000
    const iat = Math.floor(now)

    let freshClaim: boolean | number
    if (typeof fresh === 'boolean') freshClaim = fresh
    else {
      const seconds = toSeconds(fresh)
      if (seconds === undefined) throw new KeycardOptionError('fresh', `expected true, false or a duration such as '15m', got ${JSON.stringify(fresh)}.`)
      freshClaim = now + seconds
    }
    let lifetime = type === 'access' ? o.accessTokenExpires : o.refreshTokenExpires
    if (options.expiresIn !== undefined) {
      const seconds = options.expiresIn === false ? false : toSeconds(options.expiresIn)
      if (seconds === undefined || seconds === 0) throw new KeycardOptionError('expiresIn', `expected a positive duration such as '1h', or false; got ${JSON.stringify(options.expiresIn)}.`)
      lifetime = seconds
    }

    // Flask-JWT-Extended's key order; extra claims are assigned afterwards, so an overridden
    // reserved claim keeps its position, as in FJE.
    const claims: Record<string, unknown> = { fresh: freshClaim, iat, jti: randomUUID(), type, [o.identityClaim]: subject }
    if (o.encodeNbf) claims.nbf = iat
    if (o.csrfProtect) claims.csrf = randomUUID()
    if (o.encodeAudience !== undefined) claims.aud = o.encodeAudience
    if (o.encodeIssuer !== undefined) claims.iss = o.encodeIssuer
    if (lifetime !== false) claims.exp = Math.floor(now + lifetime)
    if (loaders.additionalClaims) Object.assign(claims, await loaders.additionalClaims(identity))
    if (options.additionalClaims) Object.assign(claims, options.additionalClaims)

    const extra: Record<string, unknown> = { ...(loaders.additionalHeaders ? await loaders.additionalHeaders(identity) : undefined), ...options.additionalHeaders }
    for (const name of Object.keys(extra)) {
      if (RESERVED_HEADERS.has(name)) throw new KeycardOptionError('additionalHeaders', `"${name}" is set by keycard and cannot be overridden.`)
    }
    // PyJWT writes header keys sorted.
    const fields: Record<string, unknown> = { alg: o.algorithm, typ: 'JWT', ...extra }
    const header: Record<string, unknown> = {}
    for (const name of Object.keys(fields).sort()) header[name] = fields[name]

    const key = loaders.encodeKey ? await this.#importSignKey(await loaders.encodeKey(identity)) : this.#signingKey!
    const payload = new TextEncoder().encode(JSON.stringify(claims))
    return new CompactSign(payload).setProtectedHeader(header as { alg: string }).sign(key)
  }

  async #importSignKey(input: KeyInput): Promise<SigningKey> {
    const alg = this.options.algorithm
    return isHmac(alg) ? secretBytes('encodeKey', input, alg) : importSignKey('encodeKey', input, alg)
  }

  // ---- verifying ------------------------------------------------------------------------------

  /**
   * Verifies signature and claims (FJE `decode_token`): no type, freshness, revocation or user
   * checks. Throws a TokenError; with `allowExpired` an expired token is returned.
   */
  async decodeToken(token: string, options: { allowExpired?: boolean } = {}): Promise<JwtClaims> {
    return (await this.#verify(token, options.allowExpired ?? false)).claims
  }

  /** The header of a token, unverified (FJE `get_unverified_jwt_headers`). */
  getUnverifiedHeader(token: string): JwtHeader {
    return unverifiedHeader(token)
  }

  /** Verified header and claims; synchronous when keys are static, which is the hot path. */
  #verify(token: string, allowExpired: boolean): Verified | Promise<Verified> {
    const hit = this.#cache.get(token)
    return hit !== undefined ? this.#checkHit(hit, allowExpired) : this.#verifyUncached(token, allowExpired, false)
  }

  /** A cached token: only its time claims can have changed. */
  #checkHit(hit: Verified, allowExpired: boolean): Verified {
    checkTimes(hit.header, hit.claims, Date.now() / 1000, this.options.leeway, allowExpired)
    return hit
  }

  /** `#verify` without the cache lookup; `shapeChecked`: the token is known to have compact-JWS shape (FoundToken). */
  #verifyUncached(token: string, allowExpired: boolean, shapeChecked: boolean): Verified | Promise<Verified> {
    const now = Date.now() / 1000
    if (token.length > this.options.maxTokenLength) {
      throw new JWTDecodeError('KEYCARD_JWT_TOO_LARGE', `Token is too large (over ${this.options.maxTokenLength} characters)`)
    }
    const parsed = parseToken(token, this.options.strict, shapeChecked)
    const alg = parsed.header.alg
    if (typeof alg !== 'string' || !this.options.decodeAlgorithms.includes(alg as Algorithm)) {
      throw new JWTDecodeError('KEYCARD_JWT_ALG_NOT_ALLOWED', 'The specified alg value is not allowed')
    }
    if (this.#loaders.decodeKey) return this.#verifyWithLoader(token, parsed, alg as Algorithm, now, allowExpired)
    if (!this.#verifiers.get(alg)!(parsed.signingInput, parsed.signature)) {
      throw new JWTDecodeError('KEYCARD_JWT_SIGNATURE_INVALID', 'Signature verification failed')
    }
    return this.#accept(token, parsed, now, allowExpired)
  }

  async #verifyWithLoader(token: string, parsed: ParsedToken, alg: Algorithm, now: number, allowExpired: boolean): Promise<Verified> {
    const input = await this.#loaders.decodeKey!(parsed.header, parsed.claims)
    const verifier = isHmac(alg)
      ? hmacVerifier(alg, secretBytes('decodeKey', input, alg))
      : asymmetricVerifier(alg, await importVerifyKey('decodeKey', input, alg))
    if (!verifier(parsed.signingInput, parsed.signature)) {
      throw new JWTDecodeError('KEYCARD_JWT_SIGNATURE_INVALID', 'Signature verification failed')
    }
    return this.#accept(token, parsed, now, allowExpired)
  }

  #accept(token: string, parsed: ParsedToken, now: number, allowExpired: boolean): Verified {
    const { header } = parsed
    // Strict mode must see the claims as sent (a missing `type` is an error, not "access"); the
    // defaults are filled in place afterwards, also on the claims an ExpiredSignatureError carries.
    let claims: JwtClaims
    try {
      checkClaims(header, parsed.claims, this.options, now, allowExpired)
    } finally {
      claims = withDefaults(parsed.claims)
    }
    const verified = { header, claims }
    // An expired token passed only because of allowExpired must not be served to a strict caller.
    if (claims.exp === undefined || claims.exp > now - this.options.leeway) this.#cache.set(token, verified)
    return verified
  }

  /** Checks a `jwtRequired` options object once, at route setup; throws KeycardOptionError. */
  guardOptions(options: JwtRequiredOptions = {}): ResolvedGuard {
    for (const key of Object.keys(options)) {
      if (!GUARD_KEYS.has(key)) throw new KeycardOptionError(`jwtRequired.${key}`, `is not a jwtRequired option; use ${[...GUARD_KEYS].join(', ')}.`)
    }
    for (const key of ['optional', 'fresh', 'refresh', 'verifyType', 'skipRevocationCheck'] as const) {
      const value = options[key]
      if (value !== undefined && typeof value !== 'boolean') throw new KeycardOptionError(`jwtRequired.${key}`, `expected true or false, got ${JSON.stringify(value)}.`)
    }
    if (options.fresh && options.refresh) throw new KeycardOptionError('jwtRequired.fresh', 'refresh tokens are never fresh; a route cannot require both fresh and refresh.')
    const guard: ResolvedGuard = Object.freeze({
      optional: options.optional ?? false,
      fresh: options.fresh ?? false,
      refresh: options.refresh ?? false,
      locations: options.locations === undefined ? this.options.tokenLocation : resolveLocations('jwtRequired.locations', options.locations),
      verifyType: options.verifyType ?? true,
      skipRevocationCheck: options.skipRevocationCheck ?? false,
    })
    RESOLVED_GUARDS.add(guard)
    return guard
  }

  /**
   * Finds and checks the request's token (FJE `verify_jwt_in_request`): location, signature,
   * claims, type, freshness, revocation, `tokenVerification`, `userLookup`, in that order.
   * Resolves to null for `OPTIONS` and for an optional route without a token; rejects with a TokenError.
   */
  async verifyJwtInRequest(req: RequestView, options?: JwtRequiredOptions | ResolvedGuard): Promise<JwtContext<User> | null> {
    return this.checkRequest(req, options)
  }

  /**
   * The checks of `verifyJwtInRequest`, for adapters: returns the result directly, or throws, when
   * every step was synchronous (static keys, a synchronous revocation store, no async loader), which
   * is the usual case, and a promise otherwise. A framework can then go on in the same tick, without
   * a promise, a microtask and their allocations on every request.
   */
  checkRequest(req: RequestView, options?: JwtRequiredOptions | ResolvedGuard): JwtContext<User> | null | Promise<JwtContext<User> | null> {
    if (req.method === 'OPTIONS') return null
    const guard = options === undefined ? this.#defaultGuard : RESOLVED_GUARDS.has(options) ? (options as ResolvedGuard) : this.guardOptions(options)
    let found: FoundToken
    let hit: Verified | undefined
    try {
      found = findToken(req, guard.locations, this.options, this.#headerKey, guard.refresh)
      hit = this.#cache.get(found.token)
      // A token the header's fast path took unchecked is served as it is only when cached (it passed
      // strict parsing then, so FJE's header parsing returns it too); otherwise it is checked now,
      // before anything reads it, and the header errors keep their precedence over token errors.
      if (hit === undefined && found.shape === 'deferred') confirmHeaderToken(req, found, this.options, this.#headerKey)
    } catch (err) {
      if (guard.optional && err instanceof KeycardError && err.code === 'KEYCARD_NO_AUTHORIZATION') return null
      throw err
    }
    let verified: Verified | Promise<Verified>
    try {
      verified = hit !== undefined ? this.#checkHit(hit, false) : this.#verifyUncached(found.token, false, found.shape === 'valid')
    } catch (err) {
      throw csrfOverExpiry(err, found.csrf)
    }
    if (verified instanceof Promise) {
      return verified.then(
        (v) => this.#authorize(v, found, guard),
        (err: unknown) => {
          throw csrfOverExpiry(err, found.csrf)
        },
      )
    }
    return this.#authorize(verified, found, guard)
  }

  /** The checks after the signature: CSRF, type, freshness, revocation, then the loaders. */
  #authorize({ header, claims }: Verified, found: FoundToken, guard: ResolvedGuard): JwtContext<User> | Promise<JwtContext<User>> {
    if (found.csrf !== undefined) checkCsrf(claims, found.csrf)
    if (guard.verifyType) {
      if (guard.refresh && claims.type !== 'refresh') throw new WrongTokenError('Only refresh tokens are allowed', header, claims)
      if (!guard.refresh && claims.type === 'refresh') throw new WrongTokenError('Only non-refresh tokens are allowed', header, claims)
    }
    if (guard.fresh && !isFresh(claims.fresh)) throw new FreshTokenRequiredError(header, claims)

    const loaders = this.#loaders
    if (!guard.skipRevocationCheck) {
      let revoked: boolean | Promise<boolean> = false
      if (loaders.tokenInBlocklist) revoked = loaders.tokenInBlocklist(header, claims)
      else if (loaders.revocationStore && typeof claims.jti === 'string') revoked = loaders.revocationStore.isRevoked(claims.jti)
      if (typeof revoked !== 'boolean') {
        return Promise.resolve(revoked).then((isRevoked) => {
          if (isRevoked) throw new RevokedTokenError(header, claims)
          return this.#context(header, claims, found.location)
        })
      }
      if (revoked) throw new RevokedTokenError(header, claims)
    }
    return this.#context(header, claims, found.location)
  }

  #context(header: JwtHeader, claims: JwtClaims, location: TokenLocation): JwtContext<User> | Promise<JwtContext<User>> {
    const identity = claims[this.options.identityClaim] as string
    if (this.#loaders.tokenVerification || this.#loaders.userLookup) return this.#runLoaders(header, claims, identity, location)
    return { header, claims, identity, user: undefined as User, location }
  }

  async #runLoaders(header: JwtHeader, claims: JwtClaims, identity: string, location: TokenLocation): Promise<JwtContext<User>> {
    const loaders = this.#loaders
    if (loaders.tokenVerification && !(await loaders.tokenVerification(header, claims))) {
      throw new UserClaimsVerificationError(header, claims)
    }
    let user: User | null | undefined = undefined as User
    if (loaders.userLookup) {
      user = await loaders.userLookup(header, claims)
      if (user === null || user === undefined) throw new UserLookupError(String(identity), header, claims)
    }
    return { header, claims, identity, user: user as User, location }
  }

  /** The response for a token error, through the configured builders (adds `WWW-Authenticate` to 401s). */
  renderError(error: TokenError): AuthResponse {
    return this.#render(error)
  }

  /** Revokes a verified token by its claims through `revocationStore` (for logout routes). */
  async revokeToken(claims: JwtClaims): Promise<void> {
    const store = this.#loaders.revocationStore
    if (!store) throw new KeycardOptionError('revocationStore', 'revokeToken needs a revocationStore; pass one to createKeycard (for example new MemoryRevocationStore()).')
    if (typeof claims.jti !== 'string') throw new KeycardError('KEYCARD_JWT_CLAIM_INVALID', 'Cannot revoke a token without a string jti claim')
    await store.revoke(claims.jti, typeof claims.exp === 'number' ? claims.exp : null)
  }

  /** Forgets every verified token, e.g. after rotating keys out of band. */
  clearCache(): void {
    this.#cache.clear()
  }
}

/** `fresh` is `true`, or a "fresh until" epoch still in the future. */
function isFresh(fresh: unknown): boolean {
  if (typeof fresh === 'boolean') return fresh
  return typeof fresh === 'number' && fresh >= Date.now() / 1000
}

/**
 * Checks the options, imports the keys and returns the keycard. Rejects with a KeycardOptionError
 * naming the option and the fix.
 *
 * @example
 * const keycard = await createKeycard({ secret: process.env.JWT_SECRET })
 * const token = await keycard.createAccessToken('42', { fresh: true })
 */
export async function createKeycard<User = unknown>(options: KeycardOptions<User>): Promise<Keycard<User>> {
  const resolved = resolveOptions(options)
  const verifiers = new Map<string, SignatureVerifier>()
  const needsSecret = resolved.decodeAlgorithms.some(isHmac) || isHmac(resolved.algorithm)
  const needsKeys = resolved.decodeAlgorithms.some((a) => !isHmac(a))

  if (needsSecret && options.secret === undefined && !(options.decodeKey && options.encodeKey)) {
    throw new KeycardOptionError('secret', `${resolved.algorithm} needs a secret of at least 32 bytes; pass secret: process.env.JWT_SECRET (generate one with \`openssl rand -base64 32\`), or set "algorithm" to an asymmetric algorithm.`)
  }
  if (needsKeys && options.publicKey === undefined && options.privateKey === undefined && !options.decodeKey) {
    const asym = resolved.decodeAlgorithms.find((a) => !isHmac(a))!
    throw new KeycardOptionError('publicKey', `${asym} needs "publicKey" (to verify) and, to sign, "privateKey": PEM strings, JWKs, CryptoKeys or KeyObjects.`)
  }
  for (const alg of resolved.decodeAlgorithms) {
    if (isHmac(alg)) {
      if (options.secret !== undefined) verifiers.set(alg, hmacVerifier(alg, secretBytes('secret', options.secret, alg)))
    } else if (options.publicKey !== undefined || options.privateKey !== undefined) {
      const name = options.publicKey !== undefined ? 'publicKey' : 'privateKey'
      verifiers.set(alg, asymmetricVerifier(alg, await importVerifyKey(name, options.publicKey ?? options.privateKey, alg)))
    }
  }

  let signingKey: SigningKey | undefined
  if (!options.encodeKey) {
    if (isHmac(resolved.algorithm)) signingKey = secretBytes('secret', options.secret, resolved.algorithm)
    else if (options.privateKey !== undefined) signingKey = await importSignKey('privateKey', options.privateKey, resolved.algorithm)
  }
  return new Keycard<User>(resolved, options, verifiers, signingKey)
}
