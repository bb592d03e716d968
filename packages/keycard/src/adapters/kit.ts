/**
 * The adapter kit: everything a framework adapter does that is not a framework call, written once.
 * The guard flow (`runGuard`: check, synchronous or not, a refusal as a value), what a failure
 * answers (`fail`), what a success does (`proceed`: attach the context, implicit refresh), `context()`
 * and the cookie helpers. An adapter hands the kit an `AdapterGlue`, the few calls its framework
 * spells its own way, and translates its hook signature into `kit.run`.
 *
 * @example
 * const kit = new AdapterKit(keycard, glue, adapterOptions)
 * const guard = kit.guard({ fresh: true })
 * function hook(req, res, next) { kit.run(viewOf(req), guard, req, res, next) }
 */

import { cookieNames, setCookieLines, unsetCookieLines, withoutCookies, type CookieKind, type SetCookieOptions } from '../cookies.ts'
import { isTokenError, KeycardError, TokenError } from '../errors.ts'
import { isJwksUnavailable } from '../jwks/errors.ts'
import type { JwtRequiredOptions, Keycard, ResolvedGuard } from '../keycard.ts'
import type { RequestView } from '../request.ts'
import { type AuthResponse, unavailableResponse } from '../responses.ts'
import { isStoreUnavailable } from '../stores/errors.ts'
import type { JwtContext } from '../types.ts'
import { implicitRefresher, needsBody, type AdapterOptions, type Refresher } from './shared.ts'

/**
 * The two ends of a guard check, called with the adapter's own three values (request, response,
 * continuation), so a flow made once per route needs no closure per request.
 *
 * @example
 * const flow: GuardFlow<Req, Res, Next, void> = { pass: (ctx, req, res, next) => next(), refuse: (err, req, res) => res.end() }
 */
export interface GuardFlow<A, B, C, R> {
  /** The token passed every check (null: `OPTIONS`, or an optional route without a token). */
  pass(context: JwtContext<unknown> | null, a: A, b: B, c: C): R
  /** A TokenError (the token's fault), or what a store, key set or loader threw. */
  refuse(err: unknown, a: A, b: B, c: C): R
}

/**
 * Checks the request and calls `flow.pass` or `flow.refuse`: in the same tick when every check was
 * synchronous (the usual case: no promise, microtask or closure), else once the check settles.
 * Returns what the flow returned, or a promise of it.
 *
 * @example
 * runGuard(keycard, new NodeRequestView(req), guard, flow, req, res, next)
 */
export function runGuard<A, B, C, R>(
  keycard: Keycard<unknown>,
  view: RequestView,
  guard: ResolvedGuard,
  flow: GuardFlow<A, B, C, R>,
  a: A,
  b: B,
  c: C,
): R | Promise<R> {
  let result: ReturnType<typeof keycard.checkRequestResult>
  try {
    result = keycard.checkRequestResult(view, guard)
  } catch (err) {
    return flow.refuse(err, a, b, c)
  }
  // A refusal is a value, not a throw (keycard.checkRequestResult): answered here, in the same tick.
  if (result instanceof Promise)
    return result.then(
      (settled) => (settled instanceof TokenError ? flow.refuse(settled, a, b, c) : flow.pass(settled, a, b, c)),
      (err: unknown) => flow.refuse(err, a, b, c),
    )
  if (result instanceof TokenError) return flow.refuse(result, a, b, c)
  return flow.pass(result, a, b, c)
}

/**
 * What an adapter tells the kit about its framework. `R` is what its hook returns (void for
 * callback-style Fastify and Express, a Response or promise for Hono).
 *
 * @example
 * const glue: AdapterGlue<Request, Response, NextFunction, void> = {
 *   attach: (req, ctx) => { req.jwt = ctx },
 *   send: (res, r) => { res.status(r.status).set(r.headers).json(r.body) },
 *   next: (next, err) => next(err),
 *   appendSetCookie: (res, lines) => { res.append('Set-Cookie', lines) },
 *   replaceSetCookie: (res, edit) => { res.setHeader('Set-Cookie', edit(res.getHeader('Set-Cookie'))) },
 * }
 */
export interface AdapterGlue<Req, Res, Next, R> {
  /** Hangs the verified context (or null) on the request. */
  attach(req: Req, context: JwtContext<unknown> | null): void
  /** Writes a keycard response (status, headers, JSON body). */
  send(res: Res, response: AuthResponse): R
  /** Goes on to the route, or with `err`, to the framework's error handling. */
  next(next: Next, err?: unknown): R
  /** Adds Set-Cookie lines after any already queued. */
  appendSetCookie(res: Res, lines: readonly string[]): void
  /** Replaces the queued Set-Cookie lines with `edit(current)`; `current` as the framework holds it. */
  replaceSetCookie(res: Res, edit: (current: unknown) => string[]): void
}

/**
 * The framework-free half of an adapter (see the file comment).
 *
 * @example
 * const kit = new AdapterKit(keycard, glue)
 * kit.setCookies(res, 'access', token)
 */
export class AdapterKit<User, Req, Res, Next, R> implements GuardFlow<Req, Res, Next, R | Promise<R>> {
  readonly keycard: Keycard<User>
  readonly #glue: AdapterGlue<Req, Res, Next, R>
  readonly #refresher: Refresher<User> | undefined

  constructor(keycard: Keycard<User>, glue: AdapterGlue<Req, Res, Next, R>, options?: AdapterOptions<User>) {
    this.keycard = keycard
    this.#glue = glue
    this.#refresher = implicitRefresher(keycard, options)
  }

  /** Checks a route's `jwtRequired` options once, at setup (throws KeycardOptionError). */
  guard(options?: JwtRequiredOptions): ResolvedGuard {
    return this.keycard.guardOptions(options)
  }

  /** Whether the route's guard reads the parsed body (`json` location, CSRF form field). */
  needsBody(guard: ResolvedGuard): boolean {
    return needsBody(guard, this.keycard.options)
  }

  /** The guard flow over this kit's `proceed` and `fail`. */
  run(view: RequestView, guard: ResolvedGuard, req: Req, res: Res, next: Next): R | Promise<R> {
    // A promise of a promise is a promise (then flattens it).
    return runGuard(this.keycard, view, guard, this, req, res, next) as R | Promise<R>
  }

  /** GuardFlow: `proceed`. */
  pass(context: JwtContext<User> | null, req: Req, res: Res, next: Next): R | Promise<R> {
    return this.proceed(context, req, res, next)
  }

  /** GuardFlow: `fail`. */
  refuse(err: unknown, _req: Req, res: Res, next: Next): R {
    return this.fail(err, res, next)
  }

  /**
   * Answers a failure: a token error through `renderError`; a store or key set that cannot answer as
   * 503 + Retry-After (never an accepted token); anything else goes on to the framework's errors.
   */
  fail(err: unknown, res: Res, next: Next): R {
    // Rendered here, not passed on: another error handler can never turn it into a 500.
    if (isTokenError(err)) return this.#glue.send(res, this.keycard.renderError(err))
    if (isStoreUnavailable(err) || isJwksUnavailable(err))
      return this.#glue.send(res, unavailableResponse(err, this.keycard.options.errorMessageKey))
    return this.#glue.next(next, err)
  }

  /** Attaches the context, re-issues a cookie that is due (implicit refresh), and goes on. */
  proceed(context: JwtContext<User> | null, req: Req, res: Res, next: Next): R | Promise<R> {
    this.#glue.attach(req, context)
    const refresher = this.#refresher
    if (!refresher || !context) return this.#glue.next(next)
    return refresher(context).then(
      (token) => {
        if (token) this.#glue.appendSetCookie(res, setCookieLines(this.keycard.options, 'access', token))
        return this.#glue.next(next)
      },
      (err: unknown) => this.fail(err, res, next),
    )
  }

  /** The context a guard attached, typed with the user; KEYCARD_NO_CONTEXT when there is none. */
  context(jwt: JwtContext<unknown> | null | undefined, where: string): JwtContext<User> {
    if (!jwt)
      throw new KeycardError(
        'KEYCARD_NO_CONTEXT',
        `No verified token on this request: guard the route with jwtRequired() (and handle optional routes, where ${where} is null).`,
      )
    return jwt as JwtContext<User>
  }

  /** Queues the token's cookie and its CSRF cookie (FJE `set_access_cookies` / `set_refresh_cookies`). */
  setCookies(res: Res, kind: CookieKind, token: string, options?: SetCookieOptions): void {
    this.#glue.appendSetCookie(res, setCookieLines(this.keycard.options, kind, token, options))
  }

  /** Queues deletions of the cookies of `kinds`, dropping lines for them queued earlier (an implicit refresh). */
  unsetCookies(res: Res, kinds: readonly CookieKind[], domain?: string): void {
    const options = this.keycard.options
    const names = kinds.flatMap((kind) => cookieNames(options, kind))
    this.#glue.replaceSetCookie(res, (current) => [
      ...withoutCookies(current, names),
      ...kinds.flatMap((kind) => unsetCookieLines(options, kind, domain)),
    ])
  }

  /** The cookie helpers every adapter exposes, bound to this kit. */
  cookieHelpers(): CookieHelpers<Res> {
    return {
      setAccessCookies: (res, token, options) => this.setCookies(res, 'access', token, options),
      setRefreshCookies: (res, token, options) => this.setCookies(res, 'refresh', token, options),
      unsetJwtCookies: (res, domain) => this.unsetCookies(res, BOTH, domain),
      unsetAccessCookies: (res, domain) => this.unsetCookies(res, ACCESS, domain),
      unsetRefreshCookies: (res, domain) => this.unsetCookies(res, REFRESH, domain),
    }
  }
}

const BOTH: readonly CookieKind[] = ['access', 'refresh']
const ACCESS: readonly CookieKind[] = ['access']
const REFRESH: readonly CookieKind[] = ['refresh']

/**
 * FJE's cookie functions over a framework's response object.
 *
 * @example
 * auth.setAccessCookies(reply, await keycard.createAccessToken('42'))
 * auth.unsetJwtCookies(reply)
 */
export interface CookieHelpers<Res> {
  /** Sets the access-token cookie (HttpOnly) and its CSRF cookie (FJE `set_access_cookies`). */
  setAccessCookies(res: Res, token: string, options?: SetCookieOptions): void
  /** Sets the refresh-token cookie and its CSRF cookie (FJE `set_refresh_cookies`). */
  setRefreshCookies(res: Res, token: string, options?: SetCookieOptions): void
  /** Deletes the access and refresh cookies (FJE `unset_jwt_cookies`), dropping any re-issued in this response. */
  unsetJwtCookies(res: Res, domain?: string): void
  /** Deletes the access cookie and its CSRF cookie (FJE `unset_access_cookies`). */
  unsetAccessCookies(res: Res, domain?: string): void
  /** Deletes the refresh cookie and its CSRF cookie (FJE `unset_refresh_cookies`). */
  unsetRefreshCookies(res: Res, domain?: string): void
}
