/**
 * The request pipeline (Flask-JWT-Extended's `view_decorators.py`): find the token, verify it, then
 * CSRF, type, freshness, revocation and the user loaders, in that order. Synchronous whenever every
 * step is, so an adapter can go on in the same tick.
 */

import type { Verified } from './cache.ts'
import { checkCsrf, csrfOverExpiry } from './csrf.ts'
import {
  FreshTokenRequiredError,
  KeycardError,
  RevokedTokenError,
  UserClaimsVerificationError,
  UserLookupError,
  WrongTokenError,
} from './errors.ts'
import { confirmHeaderToken, findToken, type FoundToken } from './locations.ts'
import type { KeycardOptions, ResolvedGuard, ResolvedOptions } from './options.ts'
import type { RequestView } from './request.ts'
import type { TokenVerifier } from './tokens.ts'
import type { JwtClaims, JwtContext, JwtHeader, TokenLocation } from './types.ts'

/**
 * One keycard's request checks; the keycard answers `OPTIONS` and resolves the guard options before calling `check`.
 *
 * @example
 * const guard = new RequestGuard(options, loaders, verifier)
 * const context = await guard.check(view, resolveGuard({ fresh: true }, options))
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

  /** The result, or a promise of it when a step was asynchronous; throws (or rejects with) a TokenError. */
  check(req: RequestView, guard: ResolvedGuard): JwtContext<User> | null | Promise<JwtContext<User> | null> {
    let found: FoundToken
    let hit: Verified | undefined
    try {
      found = findToken(req, guard.locations, this.#options, this.#headerKey, guard.refresh)
      hit = this.#verifier.cached(found.token)
      // A token the header's fast path took unchecked is served as it is only when cached (it passed
      // strict parsing then, so FJE's header parsing returns it too); otherwise it is checked now,
      // before anything reads it, and the header errors keep their precedence over token errors.
      if (hit === undefined && found.shape === 'deferred') confirmHeaderToken(req, found, this.#options, this.#headerKey)
    } catch (err) {
      if (guard.optional && err instanceof KeycardError && err.code === 'KEYCARD_NO_AUTHORIZATION') return null
      throw err
    }
    let verified: Verified | Promise<Verified>
    try {
      verified =
        hit !== undefined ? this.#verifier.checkHit(hit, false) : this.#verifier.verifyUncached(found.token, false, found.shape === 'valid')
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
    const identity = claims[this.#options.identityClaim] as string
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
}

/** `fresh` is `true`, or a "fresh until" epoch still in the future. */
function isFresh(fresh: unknown): boolean {
  if (typeof fresh === 'boolean') return fresh
  return typeof fresh === 'number' && fresh >= Date.now() / 1000
}
