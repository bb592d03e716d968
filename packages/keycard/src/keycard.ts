/**
 * `createKeycard(options)`: the one object that mints and verifies tokens (Flask-JWT-Extended's
 * `JWTManager`). Options are checked and keys imported here, once; the per-request path does no
 * option parsing and, for a token seen before, no cryptography. Minting and verifying are in
 * `tokens.ts`, the request pipeline in `guard.ts`, the option checks in `option-checks.ts` (and
 * `key-options.ts`), key import in `key-material.ts`, keys mode's keyring in `keyring.ts`, and the
 * remote key set of jwks mode in `jwks/`.
 */

import type { JWK } from 'jose'
import { KeycardError, KeycardOptionError, TokenError } from './errors.ts'
import { RequestGuard, type CheckResult } from './guard.ts'
import { unverifiedHeader } from './jws.ts'
import { importKeyMaterial, type KeyMaterial } from './key-material.ts'
import { resolveKeyMode } from './key-options.ts'
import { checkKeyEntries, importKeyEntries, StaticKeySet, type KeyEntry } from './keyring.ts'
import { copyOptions, isResolvedGuard, resolveGuard, resolveOptions } from './option-checks.ts'
import type { JwtRequiredOptions, KeycardOptions, ResolvedGuard, ResolvedOptions } from './options.ts'
import type { RequestView } from './request.ts'
import { createRenderer, type AuthResponse } from './responses.ts'
import { mintToken, TokenVerifier, type CreateAccessTokenOptions, type CreateRefreshTokenOptions, type Minter } from './tokens.ts'
import type { JwtClaims, JwtContext, JwtHeader, KeycardUser } from './types.ts'

export type { CreateAccessTokenOptions, CreateRefreshTokenOptions } from './tokens.ts'
export type { JwtRequiredOptions, ResolvedGuard } from './options.ts'
export type { CheckResult } from './guard.ts'
export type { KeyMaterial } from './key-material.ts'

/**
 * Mints and verifies tokens for one configuration; made by `createKeycard`, handed to the adapters.
 *
 * @example
 * const keycard = await createKeycard({ secret: process.env.JWT_SECRET })
 * const claims = await keycard.decodeToken(await keycard.createAccessToken('42'))
 */
export class Keycard<User = KeycardUser> {
  readonly options: ResolvedOptions
  readonly #loaders: KeycardOptions<User>
  #minter: Minter
  readonly #material: KeyMaterial
  readonly #verifier: TokenVerifier
  readonly #guard: RequestGuard<User>
  readonly #render: (error: TokenError) => AuthResponse
  readonly #defaultGuard: ResolvedGuard

  /** Use `createKeycard`, which imports the keys first. */
  constructor(options: ResolvedOptions, raw: KeycardOptions<User>, material: KeyMaterial) {
    this.options = options
    this.#loaders = raw
    this.#material = material
    const { signer, mode } = material
    this.#minter = {
      options,
      loaders: raw,
      signingKey: signer?.key,
      algorithm: signer?.algorithm ?? options.algorithm,
      kid: signer?.kid,
      mode,
    }
    this.#verifier = new TokenVerifier(options, raw.decodeKey, material.verifiers, material.source)
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
    const verified = await this.#verifier.verify(token, options.allowExpired ?? false)
    if (verified instanceof TokenError) throw verified
    return verified.claims
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
    const result = this.checkRequestResult(req, options)
    if (result instanceof Promise) return result.then(orThrow)
    return orThrow(result)
  }

  /**
   * `checkRequest` with the refusal returned instead of thrown: the context (null for `OPTIONS` and
   * an optional route without a token), or the TokenError to answer with (`renderError`), directly
   * when every step was synchronous, else as a promise that resolves to either. What the adapters and
   * the server's forward-auth route call: a refused request then costs no throw, which on V8 costs
   * more than most checks (bench/README.md, "Rejected requests (issue 15)"). Failures that are not
   * the token's (a revocation store or a jwks key set that cannot answer, a loader that throws) still
   * throw or reject, as in `checkRequest`.
   *
   * @example
   * const result = keycard.checkRequestResult(new NodeRequestView(req))
   * if (result instanceof TokenError) return keycard.renderError(result) // 401/422 {msg}
   */
  checkRequestResult(req: RequestView, options?: JwtRequiredOptions | ResolvedGuard): CheckResult<User> | Promise<CheckResult<User>> {
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

  // ---- keys -----------------------------------------------------------------------------------

  /**
   * Keys mode: replaces the keyring. The new keys are checked and imported first (async); then they
   * are swapped in at once (sync), with the new signer. Tokens of kids no longer present are refused
   * from then on, cached verifications included; unchanged keys keep theirs. Rejects with a
   * KeycardOptionError (and changes nothing) when an entry or `signingKid` is wrong. Calls that
   * overlap resolve in call order (a call finishing after a later one changes nothing), and a key
   * removed with `removeKey` while a call was importing stays removed.
   *
   * @example
   * await keycard.setKeys([{ kid: 'k2', algorithm: 'ES256', privateKey: next }, { kid: 'k1', algorithm: 'ES256', publicKey: old }], 'k2')
   */
  async setKeys(keys: readonly KeyEntry[], signingKid?: string): Promise<void> {
    const set = this.#keySet('setKeys')
    const entries = copyOptions(keys)
    const signingEntry = checkKeyEntries(entries, signingKid, 'setKeys')
    const ticket = set.begin()
    let imported: Awaited<ReturnType<typeof importKeyEntries>>
    try {
      imported = await importKeyEntries(entries, signingEntry, 'setKeys', set.keys)
    } catch (err) {
      set.abort()
      throw err
    }
    const applied = set.commit(ticket, imported.keys)
    if (applied === undefined) return
    const signer = imported.signer !== undefined && applied.has(imported.signer.kid) ? imported.signer : undefined
    this.#minter = { ...this.#minter, signingKey: signer?.key, algorithm: signer?.algorithm ?? this.#minter.algorithm, kid: signer?.kid }
  }

  /**
   * Keys mode: drops the key `kid` at once (the emergency retire): tokens signed with it are refused
   * from the next verification on, even those verified (and cached) a moment before. Removing the
   * signing key leaves the keycard verify-only until `setKeys` names another. Returns whether it was there.
   *
   * @example
   * if (!keycard.removeKey('2025-10')) console.warn('no such key')
   */
  removeKey(kid: string): boolean {
    const set = this.#keySet('removeKey')
    if (!set.remove(kid)) return false
    if (this.#minter.kid === kid) this.#minter = { ...this.#minter, signingKey: undefined, kid: undefined }
    return true
  }

  /**
   * The public half of every asymmetric key this keycard verifies with, as a JWK Set to serve at
   * `/.well-known/jwks.json`: kty and public members, kid, alg, `use: 'sig'`; never a private member,
   * and HMAC keys are left out. A jwks-mode keycard gives the keys of its current cached set; a
   * single-key keycard its one public key, with its RFC 7638 thumbprint as kid (its tokens carry no
   * kid: publish with `keys` instead).
   *
   * @example
   * app.get('/.well-known/jwks.json', (_req, reply) => reply.header('cache-control', 'public, max-age=600').send(keycard.jwks()))
   */
  jwks(): { keys: JWK[] } {
    const { source, publicJwk } = this.#material
    if (source !== undefined) return source.jwks()
    return { keys: publicJwk ? [{ ...publicJwk }] : [] }
  }

  #keySet(method: string): StaticKeySet {
    const source = this.#material.source
    if (this.#material.mode !== 'keys' || !(source instanceof StaticKeySet))
      throw new KeycardOptionError(
        'keys',
        `${method} works on a keycard created with "keys" (several keys with kids); this one was created with ${this.#material.mode === 'jwks' ? '"jwks"' : 'a single key'}.`,
      )
    return source
  }
}

/** The context, or the TokenError thrown: `checkRequest`'s contract over `checkRequestResult`. */
function orThrow<User>(result: CheckResult<User>): JwtContext<User> | null {
  if (result instanceof TokenError) throw result
  return result
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
export async function createKeycard<User = KeycardUser>(given: KeycardOptions<User>): Promise<Keycard<User>> {
  const options = copyOptions(given)
  const resolved = resolveOptions(options)
  const material = await importKeyMaterial(options, resolved, resolveKeyMode(options))
  return new Keycard<User>(resolved, options, material)
}
