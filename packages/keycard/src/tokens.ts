/**
 * Tokens, apart from any request (Flask-JWT-Extended's `tokens.py`): `mintToken` builds and signs a
 * token in FJE's claim layout; `TokenVerifier` checks a token's signature and claims, through the
 * cache of verified tokens.
 */

import { randomUUID } from 'node:crypto'
import { CompactSign } from 'jose'
import { VerifiedCache, type Verified } from './cache.ts'
import { checkClaims, checkTimes, withDefaults } from './claims.ts'
import { toSeconds, type Duration } from './duration.ts'
import { IdentityError, JWTDecodeError, KeycardOptionError, type TokenError } from './errors.ts'
import { parseToken, type ParsedToken } from './jws.ts'
import {
  asymmetricVerifier,
  hmacVerifier,
  importSignKey,
  importVerifyKey,
  isAlgorithm,
  isHmac,
  secretBytes,
  type Algorithm,
  type KeyInput,
  type SignatureVerifier,
  type SigningKey,
} from './keys.ts'
import type { KeySource, VerificationKey } from './keyring.ts'
import type { KeycardOptions, ResolvedOptions } from './options.ts'
import type { TokenType } from './types.ts'

/**
 * Per-token options of `createAccessToken` (FJE `create_access_token`'s keyword arguments).
 *
 * @example
 * await keycard.createAccessToken('42', { fresh: '15m', expiresIn: '1h', additionalClaims: { role: 'admin' } })
 */
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

/**
 * Per-token options of `createRefreshToken`: those of access tokens but `fresh`.
 *
 * @example
 * await keycard.createRefreshToken('42', { expiresIn: '7d' })
 */
export type CreateRefreshTokenOptions = Omit<CreateAccessTokenOptions, 'fresh'>

const RESERVED_HEADERS = new Set(['alg', 'crit', 'b64'])

/**
 * What minting reads: the checked options, the loaders, and the key imported at startup (if any),
 * with its algorithm and, in keys mode, its kid (a keys-mode keycard swaps its whole Minter on `setKeys`).
 *
 * @example
 * const minter: Minter = { options, loaders: raw, signingKey: secretBytes('secret', raw.secret, 'HS256'), algorithm: 'HS256', kid: undefined, mode: 'single' }
 */
export interface Minter {
  readonly options: ResolvedOptions
  // biome-ignore lint/suspicious/noExplicitAny: minting reads only the loaders that do not depend on the User type
  readonly loaders: KeycardOptions<any>
  readonly signingKey: SigningKey | undefined
  readonly algorithm: Algorithm
  /** Put in every header in keys mode (and then not overridable by `additionalHeaders`). */
  readonly kid: string | undefined
  readonly mode: 'single' | 'keys' | 'jwks'
}

const VERIFY_ONLY: Record<Minter['mode'], (alg: Algorithm) => [string, string]> = {
  single: (alg) => ['privateKey', `this keycard only verifies; pass "privateKey" to mint ${alg} tokens.`],
  keys: () => [
    'signingKid',
    'this keycard only verifies: no entry of "keys" can sign. Give one a privateKey (or an HS* secret), and name it in signingKid if several can.',
  ],
  jwks: () => ['jwks', 'a keycard made with "jwks" only verifies tokens; mint them where the private keys are (the auth server).'],
}

/**
 * A signed token of `type` for `identity` (FJE `_encode_jwt`); `fresh` is always false for refresh tokens.
 * Rejects with IdentityError or KeycardOptionError, never with a token its keycard would refuse.
 *
 * @example
 * const token = await mintToken(minter, 'access', '42', true, { expiresIn: '1h' })
 */
export async function mintToken(
  minter: Minter,
  type: TokenType,
  identity: unknown,
  fresh: boolean | Duration,
  options: CreateRefreshTokenOptions,
): Promise<string> {
  const loaders = minter.loaders
  if (!minter.signingKey && !loaders.encodeKey) {
    // Verify-only (a resource server holding only the public key): say why it cannot mint.
    const [option, message] = VERIFY_ONLY[minter.mode](minter.algorithm)
    throw new KeycardOptionError(option, message)
  }
  const subject = loaders.userIdentity ? await loaders.userIdentity(identity) : identity
  if (typeof subject !== 'string' || subject.length === 0) {
    const got = typeof subject === 'string' ? 'an empty string' : `${typeof subject}${typeof subject === 'number' ? ` ${subject}` : ''}`
    throw new IdentityError(
      `The identity must be a non-empty string, got ${got}: JWT "${minter.options.identityClaim}" is a string (RFC 7519; PyJWT 2.10+ rejects anything else). ` +
        (loaders.userIdentity
          ? 'Make the userIdentity loader return a string.'
          : 'Pass String(id), or set the userIdentity option to map your user object to its id.'),
    )
  }
  const o = minter.options
  const now = Date.now() / 1000
  const iat = Math.floor(now)

  let freshClaim: boolean | number
  if (typeof fresh === 'boolean') freshClaim = fresh
  else {
    const seconds = toSeconds(fresh)
    if (seconds === undefined)
      throw new KeycardOptionError('fresh', `expected true, false or a duration such as '15m', got ${JSON.stringify(fresh)}.`)
    freshClaim = now + seconds
  }
  let lifetime = type === 'access' ? o.accessTokenExpires : o.refreshTokenExpires
  if (options.expiresIn !== undefined) {
    const seconds = options.expiresIn === false ? false : toSeconds(options.expiresIn)
    if (seconds === undefined || seconds === 0)
      throw new KeycardOptionError(
        'expiresIn',
        `expected a positive duration such as '1h', or false; got ${JSON.stringify(options.expiresIn)}.`,
      )
    // Strict verification requires `exp` unless this type's configured lifetime is false: refuse here,
    // rather than mint a token this same keycard would refuse.
    if (seconds === false && lifetime !== false && o.strict) throw neverExpiresRefused(type, lifetime)
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

  const extra: Record<string, unknown> = {
    ...(loaders.additionalHeaders ? await loaders.additionalHeaders(identity) : undefined),
    ...options.additionalHeaders,
  }
  for (const name of Object.keys(extra)) {
    if (RESERVED_HEADERS.has(name) || (name === 'kid' && minter.kid !== undefined))
      throw new KeycardOptionError('additionalHeaders', `"${name}" is set by keycard and cannot be overridden.`)
  }
  // PyJWT writes header keys sorted.
  const fields: Record<string, unknown> = { alg: minter.algorithm, typ: 'JWT', ...extra }
  if (minter.kid !== undefined) fields.kid = minter.kid
  const header: Record<string, unknown> = {}
  for (const name of Object.keys(fields).sort()) header[name] = fields[name]

  const key = loaders.encodeKey ? await importLoadedSignKey(minter.algorithm, await loaders.encodeKey(identity)) : minter.signingKey!
  const payload = new TextEncoder().encode(JSON.stringify(claims))
  return new CompactSign(payload).setProtectedHeader(header as { alg: string }).sign(key)
}

function neverExpiresRefused(type: TokenType, lifetime: number): KeycardOptionError {
  const option = type === 'access' ? 'accessTokenExpires' : 'refreshTokenExpires'
  return new KeycardOptionError(
    'expiresIn',
    `false mints a ${type} token without "exp", which strict mode (the default) refuses while ${option} is ${lifetime} seconds. ` +
      `Pass a duration such as '365d'; or set ${option}: false to mint and accept ${type} tokens that never expire; or strict: false to accept tokens without "exp" from any issuer, as Flask-JWT-Extended does.`,
  )
}

async function importLoadedSignKey(alg: Algorithm, input: KeyInput): Promise<SigningKey> {
  return isHmac(alg) ? secretBytes('encodeKey', input, alg) : importSignKey('encodeKey', input, alg)
}

/**
 * What a verification gives: the verified token, or the TokenError that refused it (returned, not thrown).
 *
 * @example
 * const v: Verification = await verifier.verify(token, false)
 * if (!(v instanceof TokenError)) console.log(v.claims.sub)
 */
export type Verification = Verified | TokenError

/**
 * Signature and claim checks of one keycard (FJE `_decode_jwt`), with the cache of verified tokens.
 * Synchronous when keys are static, which is the hot path. With a key source (keys or jwks mode) the
 * key is picked by the token's `kid` and its pinned algorithm must be the token's `alg`; a cached
 * verification is served only while the key it was verified with is still the kid's current key.
 * A refused token's TokenError is returned (or resolved), not thrown: this is the request path, and a
 * throw costs V8 more than most checks (bench/README.md, "Rejected requests"). Anything else (a key
 * loader's or a key source's failure) still throws or rejects.
 *
 * @example
 * const verifier = new TokenVerifier(options, undefined, verifiers)
 * const result = await verifier.verify(token, false)
 * if (result instanceof TokenError) throw result
 */
export class TokenVerifier {
  readonly #options: ResolvedOptions
  readonly #decodeKey: KeycardOptions['decodeKey']
  readonly #verifiers: ReadonlyMap<string, SignatureVerifier>
  readonly #keys: KeySource | undefined
  readonly #cache: VerifiedCache

  constructor(
    options: ResolvedOptions,
    decodeKey: KeycardOptions['decodeKey'],
    verifiers: ReadonlyMap<string, SignatureVerifier>,
    keys?: KeySource,
  ) {
    this.#options = options
    this.#decodeKey = decodeKey
    this.#verifiers = verifiers
    this.#keys = keys
    // Keys chosen per token by a loader could change between calls: never serve those from cache.
    this.#cache = new VerifiedCache(decodeKey ? 0 : options.cacheSize)
  }

  /** Verified header and claims, or the refusal; synchronous when keys are static, which is the hot path. */
  verify(token: string, allowExpired: boolean): Verification | Promise<Verification> {
    const hit = this.cached(token)
    return hit !== undefined ? this.checkHit(hit, allowExpired) : this.verifyUncached(token, allowExpired, false)
  }

  /** The cached verification of exactly this token, if any (its time claims still unchecked). */
  cached(token: string): Verified | undefined {
    const hit = this.#cache.get(token)
    // A removed or replaced key (setKeys, removeKey, a refetched set) makes its tokens' entries dead at once.
    if (hit !== undefined && this.#keys !== undefined && (hit.key === undefined || this.#keys.current(hit.key.kid) !== hit.key))
      return undefined
    return hit
  }

  /** A cached token: only its time claims can have changed. */
  checkHit(hit: Verified, allowExpired: boolean): Verification {
    return checkTimes(hit.header, hit.claims, Date.now() / 1000, this.#options.leeway, allowExpired) ?? hit
  }

  /** `verify` without the cache lookup; `shapeChecked`: the token is known to have compact-JWS shape (FoundToken). */
  verifyUncached(token: string, allowExpired: boolean, shapeChecked: boolean): Verification | Promise<Verification> {
    const now = Date.now() / 1000
    if (token.length > this.#options.maxTokenLength) {
      return new JWTDecodeError('KEYCARD_JWT_TOO_LARGE', `Token is too large (over ${this.#options.maxTokenLength} characters)`)
    }
    const parsed = parseToken(token, this.#options.strict, shapeChecked)
    if (parsed instanceof JWTDecodeError) return parsed
    const alg = parsed.header.alg
    if (this.#keys !== undefined) return this.#verifyByKid(token, parsed, now, allowExpired)
    if (typeof alg !== 'string' || !this.#options.decodeAlgorithms.includes(alg as Algorithm)) {
      return new JWTDecodeError('KEYCARD_JWT_ALG_NOT_ALLOWED', 'The specified alg value is not allowed')
    }
    if (this.#decodeKey) return this.#verifyWithLoader(token, parsed, alg as Algorithm, now, allowExpired)
    if (!this.#verifiers.get(alg)!(parsed.signingInput, parsed.signature)) {
      return new JWTDecodeError('KEYCARD_JWT_SIGNATURE_INVALID', 'Signature verification failed')
    }
    return this.#accept(token, parsed, now, allowExpired)
  }

  #verifyByKid(token: string, parsed: ParsedToken, now: number, allowExpired: boolean): Verification | Promise<Verification> {
    const keys = this.#keys!
    const { alg, kid } = parsed.header
    if (!isAlgorithm(alg)) return new JWTDecodeError('KEYCARD_JWT_ALG_NOT_ALLOWED', 'The specified alg value is not allowed')
    if (kid === undefined)
      return new JWTDecodeError('KEYCARD_JWT_KID_MISSING', 'The token has no "kid" header; this keycard needs it to pick the key')
    let key: VerificationKey | Promise<VerificationKey> | undefined = keys.current(kid)
    if (key === undefined) {
      // An alg no key of this source could pin (HS* against a fetched set) is refused before any refetch.
      if (!keys.accepts(alg)) return new JWTDecodeError('KEYCARD_JWT_ALG_NOT_ALLOWED', 'The specified alg value is not allowed')
      key = keys.resolve(kid)
    }
    if (key instanceof Promise) return key.then((found) => this.#verifyWithKey(token, parsed, found, Date.now() / 1000, allowExpired))
    return this.#verifyWithKey(token, parsed, key, now, allowExpired)
  }

  #verifyWithKey(token: string, parsed: ParsedToken, key: VerificationKey, now: number, allowExpired: boolean): Verification {
    if (parsed.header.alg !== key.algorithm)
      return new JWTDecodeError('KEYCARD_JWT_ALG_NOT_ALLOWED', 'The specified alg value is not allowed')
    if (!key.verify(parsed.signingInput, parsed.signature)) {
      return new JWTDecodeError('KEYCARD_JWT_SIGNATURE_INVALID', 'Signature verification failed')
    }
    return this.#accept(token, parsed, now, allowExpired, key)
  }

  async #verifyWithLoader(token: string, parsed: ParsedToken, alg: Algorithm, now: number, allowExpired: boolean): Promise<Verification> {
    const input = await this.#decodeKey!(parsed.header, parsed.claims)
    const verifier = isHmac(alg)
      ? hmacVerifier(alg, secretBytes('decodeKey', input, alg))
      : asymmetricVerifier(alg, await importVerifyKey('decodeKey', input, alg))
    if (!verifier(parsed.signingInput, parsed.signature)) {
      return new JWTDecodeError('KEYCARD_JWT_SIGNATURE_INVALID', 'Signature verification failed')
    }
    return this.#accept(token, parsed, now, allowExpired)
  }

  #accept(token: string, parsed: ParsedToken, now: number, allowExpired: boolean, key?: VerificationKey): Verification {
    const { header } = parsed
    // Strict mode must see the claims as sent (a missing `type` is an error, not "access"); the
    // defaults are filled in place afterwards, also on the claims an ExpiredSignatureError carries.
    const failure = checkClaims(header, parsed.claims, this.#options, now, allowExpired)
    const claims = withDefaults(parsed.claims)
    if (failure !== undefined) return failure
    const verified: Verified = key === undefined ? { header, claims } : { header, claims, key }
    // An expired token passed only because of allowExpired must not be served to a strict caller.
    if (claims.exp === undefined || claims.exp > now - this.#options.leeway) this.#cache.set(token, verified)
    return verified
  }

  /** Forgets every verified token. */
  clear(): void {
    this.#cache.clear()
  }
}
