/**
 * The request pipeline (Flask-JWT-Extended's `view_decorators.py`): find the token, verify it, then
 * CSRF, type, freshness, revocation and the user loaders, in that order. Synchronous whenever every
 * step is, so an adapter can go on in the same tick. Every step returns its failure as a value: a
 * refused request throws nothing, since a throw made V8 build a message with the throw's source
 * location (summarising the optimized frames), which cost more than most checks themselves
 * (bench/README.md, "Rejected requests (issue 15)").
 */

import { checkCsrf, csrfOverExpiry } from './csrf.ts'
import {
  FreshTokenRequiredError,
  RevokedTokenError,
  TokenError,
  UserClaimsVerificationError,
  UserLookupError,
  WrongTokenError,
} from './errors.ts'
import { confirmHeaderToken, findToken, type FoundToken } from './locations.ts'
import type { KeycardOptions, ResolvedGuard, ResolvedOptions } from './options.ts'
import type { RequestView } from './request.ts'
import type { TokenVerifier, Verification } from './tokens.ts'
import type { JwtClaims, JwtContext, JwtHeader, KeycardClaims, TokenLocation } from './types.ts'

/**
 * What the guard gives: the context (null: OPTIONS, or an optional route without a token) or the refusal.
 *
 * @example
 * const result: CheckResult<User> = await keycard.checkRequestResult(view)
 * if (result instanceof TokenError) return keycard.renderError(result)
 */
export type CheckResult<User> = JwtContext<User> | null | TokenError

/**
 * One keycard's request checks; the keycard answers `OPTIONS` and resolves the guard options before
 * calling `check`. A refusal is returned as its TokenError, never thrown (see the file's header);
 * only what is not the token's fault (a revocation store or a loader failing) throws or rejects.
 *
 * @example
 * const guard = new RequestGuard(options, loaders, verifier)
 * const result = await guard.check(view, resolveGuard({ fresh: true }, options))
 * if (result instanceof TokenError) return keycard.renderError(result)
 */
export class RequestGuard<User> {
  readonly #options: ResolvedOptions
  readonly #loaders: KeycardOptions<User>
  readonly #verifier: TokenVerifier
  readonly #headerKey: string

  constructor(options: ResolvedOptions, loaders: KeycardOptions<User>, verifier: TokenVerifier) {
    this.#options = options
    this.#loaders = loaders
    this.#verifier = verifier
    this.#headerKey = options.headerName.toLowerCase()
  }

  /** The result, or a promise of it when a step was asynchronous. */
  check(req: RequestView, guard: ResolvedGuard): CheckResult<User> | Promise<CheckResult<User>> {
    const found = findToken(req, guard.locations, this.#options, this.#headerKey, guard.refresh)
    if (found instanceof TokenError) return guard.optional && found.code === 'KEYCARD_NO_AUTHORIZATION' ? null : found
    const hit = this.#verifier.cached(found.token)
    // A token the header's fast path took unchecked is served as it is only when cached (it passed
    // strict parsing then, so FJE's header parsing returns it too); otherwise it is checked now,
    // before anything reads it, and the header errors keep their precedence over token errors.
    if (hit === undefined && found.shape === 'deferred') {
      const bad = confirmHeaderToken(req, found, this.#options, this.#headerKey)
      if (bad !== undefined) return guard.optional && bad.code === 'KEYCARD_NO_AUTHORIZATION' ? null : bad
    }
    const verified =
      hit !== undefined ? this.#verifier.checkHit(hit, false) : this.#verifier.verifyUncached(found.token, false, found.shape === 'valid')
    if (verified instanceof Promise) return verified.then((v) => this.#authorize(v, found, guard))
    return this.#authorize(verified, found, guard)
  }

  /** The checks after the signature: CSRF, type, freshness, revocation, then the loaders. */
  #authorize(verified: Verification, found: FoundToken, guard: ResolvedGuard): CheckResult<User> | Promise<CheckResult<User>> {
    if (verified instanceof TokenError) return csrfOverExpiry(verified, found.csrf)
    const { header, claims } = verified
    if (found.csrf !== undefined) {
      const bad = checkCsrf(claims, found.csrf)
      if (bad !== undefined) return bad
    }
    if (guard.verifyType) {
      if (guard.refresh && claims.type !== 'refresh') return new WrongTokenError('Only refresh tokens are allowed', header, claims)
      if (!guard.refresh && claims.type === 'refresh') return new WrongTokenError('Only non-refresh tokens are allowed', header, claims)
    }
    if (guard.fresh && !isFresh(claims.fresh)) return new FreshTokenRequiredError(header, claims)

    const loaders = this.#loaders
    if (!guard.skipRevocationCheck) {
      let revoked: boolean | Promise<boolean> = false
      if (loaders.tokenInBlocklist) revoked = loaders.tokenInBlocklist(header, claims)
      else if (loaders.revocationStore && typeof claims.jti === 'string') revoked = loaders.revocationStore.isRevoked(claims.jti)
      if (typeof revoked !== 'boolean') {
        return Promise.resolve(revoked).then((isRevoked) =>
          isRevoked ? new RevokedTokenError(header, claims) : this.#context(header, claims, found.location),
        )
      }
      if (revoked) return new RevokedTokenError(header, claims)
    }
    return this.#context(header, claims, found.location)
  }

  #context(header: JwtHeader, claims: JwtClaims, location: TokenLocation): CheckResult<User> | Promise<CheckResult<User>> {
    const identity = claims[this.#options.identityClaim] as string
    if (this.#loaders.tokenVerification || this.#loaders.userLookup) return this.#runLoaders(header, claims, identity, location)
    // The app's KeycardTypes['claims'] are its promise (checked by its tokenVerification), not keycard's.
    return { header, claims: claims as KeycardClaims, identity, user: undefined as User, location }
  }

  async #runLoaders(header: JwtHeader, claims: JwtClaims, identity: string, location: TokenLocation): Promise<CheckResult<User>> {
    const loaders = this.#loaders
    if (loaders.tokenVerification && !(await loaders.tokenVerification(header, claims))) {
      return new UserClaimsVerificationError(header, claims)
    }
    let user: User | null | undefined = undefined as User
    if (loaders.userLookup) {
      user = await loaders.userLookup(header, claims)
      if (user === null || user === undefined) return new UserLookupError(String(identity), header, claims)
    }
    return { header, claims: claims as KeycardClaims, identity, user: user as User, location }
  }
}

/** `fresh` is `true`, or a "fresh until" epoch still in the future. */
function isFresh(fresh: unknown): boolean {
  if (typeof fresh === 'boolean') return fresh
  return typeof fresh === 'number' && fresh >= Date.now() / 1000
}
