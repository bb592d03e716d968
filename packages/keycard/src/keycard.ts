/**
 * `createKeycard(options)`: the one object that mints and verifies tokens (Flask-JWT-Extended's
 * `JWTManager`). Options are checked and keys imported here, once; the per-request path does no
 * option parsing and, for a token seen before, no cryptography. Minting and verifying are in
 * `tokens.ts`, the request pipeline in `guard.ts`, the option checks in `option-checks.ts`.
 */

import { KeycardError, KeycardOptionError, type TokenError } from './errors.ts'
import { RequestGuard } from './guard.ts'
import { unverifiedHeader } from './jws.ts'
import {
  asymmetricVerifier,
  hmacVerifier,
  importSignKey,
  importVerifyKey,
  isHmac,
  secretBytes,
  type SignatureVerifier,
  type SigningKey,
} from './keys.ts'
import { copyOptions, isResolvedGuard, resolveGuard, resolveOptions } from './option-checks.ts'
import type { JwtRequiredOptions, KeycardOptions, ResolvedGuard, ResolvedOptions } from './options.ts'
import type { RequestView } from './request.ts'
import { createRenderer, type AuthResponse } from './responses.ts'
import { mintToken, TokenVerifier, type CreateAccessTokenOptions, type CreateRefreshTokenOptions, type Minter } from './tokens.ts'
import type { JwtClaims, JwtContext, JwtHeader } from './types.ts'

export type { CreateAccessTokenOptions, CreateRefreshTokenOptions } from './tokens.ts'
export type { JwtRequiredOptions, ResolvedGuard } from './options.ts'

/**
 * Mints and verifies tokens for one configuration; made by `createKeycard`, handed to the adapters.
 *
 * @example
 * const keycard = await createKeycard({ secret: process.env.JWT_SECRET })
 * const claims = await keycard.decodeToken(await keycard.createAccessToken('42'))
 */
export class Keycard<User = unknown> {
  readonly options: ResolvedOptions
  readonly #loaders: KeycardOptions<User>
  readonly #minter: Minter
  readonly #verifier: TokenVerifier
  readonly #guard: RequestGuard<User>
  readonly #render: (error: TokenError) => AuthResponse
  readonly #defaultGuard: ResolvedGuard

  /** Use `createKeycard`, which imports the keys first. */
  constructor(
    options: ResolvedOptions,
    raw: KeycardOptions<User>,
    verifiers: Map<string, SignatureVerifier>,
    signingKey: SigningKey | undefined,
  ) {
    this.options = options
    this.#loaders = raw
    this.#minter = { options, loaders: raw, signingKey }
    this.#verifier = new TokenVerifier(options, raw.decodeKey, verifiers)
    this.#guard = new RequestGuard(options, raw, this.#verifier)
    this.#render = createRenderer(options, raw.responses)
    this.#defaultGuard = this.guardOptions()
  }

  // ---- minting --------------------------------------------------------------------------------

  /** A new access token for `identity` (FJE `create_access_token`). */
  createAccessToken(identity: unknown, options: CreateAccessTokenOptions = {}): Promise<string> {
    return mintToken(this.#minter, 'access', identity, options.fresh ?? false, options)
  }

  /** A new refresh token for `identity`; never fresh (FJE `create_refresh_token`). */
  createRefreshToken(identity: unknown, options: CreateRefreshTokenOptions = {}): Promise<string> {
    return mintToken(this.#minter, 'refresh', identity, false, options)
  }

  // ---- verifying ------------------------------------------------------------------------------

  /**
   * Verifies signature and claims (FJE `decode_token`): no type, freshness, revocation or user
   * checks. Throws a TokenError; with `allowExpired` an expired token is returned.
   */
  async decodeToken(token: string, options: { allowExpired?: boolean } = {}): Promise<JwtClaims> {
    return (await this.#verifier.verify(token, options.allowExpired ?? false)).claims
  }

  /** The header of a token, unverified (FJE `get_unverified_jwt_headers`). */
  getUnverifiedHeader(token: string): JwtHeader {
    return unverifiedHeader(token)
  }

  /** Checks a `jwtRequired` options object once, at route setup; throws KeycardOptionError. */
  guardOptions(options: JwtRequiredOptions = {}): ResolvedGuard {
    return resolveGuard(options, this.options)
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
    const guard = options === undefined ? this.#defaultGuard : isResolvedGuard(options) ? options : this.guardOptions(options)
    return this.#guard.check(req, guard)
  }

  /** The response for a token error, through the configured builders (adds `WWW-Authenticate` to 401s). */
  renderError(error: TokenError): AuthResponse {
    return this.#render(error)
  }

  /** Revokes a verified token by its claims through `revocationStore` (for logout routes). */
  async revokeToken(claims: JwtClaims): Promise<void> {
    const store = this.#loaders.revocationStore
    if (!store)
      throw new KeycardOptionError(
        'revocationStore',
        'revokeToken needs a revocationStore; pass one to createKeycard (for example new MemoryRevocationStore()).',
      )
    if (typeof claims.jti !== 'string')
      throw new KeycardError('KEYCARD_JWT_CLAIM_INVALID', 'Cannot revoke a token without a string jti claim')
    await store.revoke(claims.jti, typeof claims.exp === 'number' ? claims.exp : null)
  }

  /** Forgets every verified token, e.g. after rotating keys out of band. */
  clearCache(): void {
    this.#verifier.clear()
  }
}

/**
 * Checks the options, imports the keys and returns the keycard. Rejects with a KeycardOptionError
 * naming the option and the fix. The options (loaders and `responses` included) are copied and frozen
 * first: changing the object passed in, or anything in it, afterwards changes nothing.
 *
 * @example
 * const keycard = await createKeycard({ secret: process.env.JWT_SECRET })
 * const token = await keycard.createAccessToken('42', { fresh: true })
 */
export async function createKeycard<User = unknown>(given: KeycardOptions<User>): Promise<Keycard<User>> {
  const options = copyOptions(given)
  const resolved = resolveOptions(options)
  const verifiers = new Map<string, SignatureVerifier>()
  const needsSecret = resolved.decodeAlgorithms.some(isHmac) || isHmac(resolved.algorithm)
  const needsKeys = resolved.decodeAlgorithms.some((a) => !isHmac(a))

  if (needsSecret && options.secret === undefined && !(options.decodeKey && options.encodeKey)) {
    throw new KeycardOptionError(
      'secret',
      `${resolved.algorithm} needs a secret of at least 32 bytes; pass secret: process.env.JWT_SECRET (generate one with \`openssl rand -base64 32\`), or set "algorithm" to an asymmetric algorithm.`,
    )
  }
  if (needsKeys && options.publicKey === undefined && options.privateKey === undefined && !options.decodeKey) {
    const asym = resolved.decodeAlgorithms.find((a) => !isHmac(a))!
    throw new KeycardOptionError(
      'publicKey',
      `${asym} needs "publicKey" (to verify) and, to sign, "privateKey": PEM strings, JWKs, CryptoKeys or KeyObjects.`,
    )
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
