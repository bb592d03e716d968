/**
 * Express 5 adapter: `keycard/express`.
 *
 * @example
 * const auth = expressKeycard(keycard)
 * app.get('/me', auth.jwtRequired(), (req, res) => { res.json({ id: req.jwt!.identity }) })
 */

import { IncomingMessage } from 'node:http'
import type { NextFunction, RequestHandler, Request, Response } from 'express'
import { cookieNames, setCookieLines, unsetCookieLines, withoutCookies, type CookieKind, type SetCookieOptions } from '../cookies.ts'
import { isTokenError, KeycardError, TokenError } from '../errors.ts'
import type { JwtRequiredOptions, Keycard } from '../keycard.ts'
import { NodeRequestView } from '../request.ts'
import { type AuthResponse, unavailableResponse } from '../responses.ts'
import { isJwksUnavailable } from '../jwks/errors.ts'
import { isStoreUnavailable } from '../stores/errors.ts'
import type { JwtContext } from '../types.ts'
import { implicitRefresher, needsBody, type AdapterOptions } from './shared.ts'

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** Set by a keycard guard: the verified token, or null on an optional route without one. */
      jwt?: JwtContext | null
    }
  }
}

export type { AdapterOptions } from './shared.ts'
export type { SetCookieOptions } from '../cookies.ts'

export interface ExpressKeycard<User> {
  /** Middleware that verifies the request's token and answers auth failures itself. */
  jwtRequired(options?: JwtRequiredOptions): RequestHandler
  /** The verified token of a guarded request, typed with your user; throws outside a guarded route. */
  context(req: Request): JwtContext<User>
  /** Writes a keycard error response (status, `WWW-Authenticate`, `{msg}` body). */
  sendError(res: Response, response: AuthResponse): void
  /** Sets the access-token cookie (HttpOnly) and its CSRF cookie (FJE `set_access_cookies`). */
  setAccessCookies(res: Response, token: string, options?: SetCookieOptions): void
  /** Sets the refresh-token cookie and its CSRF cookie (FJE `set_refresh_cookies`). */
  setRefreshCookies(res: Response, token: string, options?: SetCookieOptions): void
  /** Deletes the access and refresh cookies (FJE `unset_jwt_cookies`), dropping any re-issued in this response. */
  unsetJwtCookies(res: Response, domain?: string): void
  unsetAccessCookies(res: Response, domain?: string): void
  unsetRefreshCookies(res: Response, domain?: string): void
}

/**
 * Where `req.jwt` lives. Express gives each request object a hidden class of its own (it swaps the
 * prototype of every request), so adding a property to `req` builds a new hidden class per request
 * and every later read of it misses V8's caches. Instead, `jwt` is an accessor on Express's shared
 * request prototype (installed once, on first use) over this WeakMap: `req.jwt` reads and writes as
 * before, without reshaping the request. A request that is not an Express one gets a plain property.
 */
const contexts = new WeakMap<object, unknown>()
const accessor: PropertyDescriptor = {
  configurable: true,
  enumerable: false,
  get(this: object) {
    return contexts.get(this)
  },
  set(this: object, value: unknown) {
    contexts.set(this, value)
  },
}
/** Request prototypes (each app's `app.request`) whose chain has the accessor. */
const prepared = new WeakSet<object>()

function attach(req: Request, context: JwtContext | null): void {
  const proto = Object.getPrototypeOf(req) as object | null
  if (proto !== null && !prepared.has(proto)) prepare(proto)
  req.jwt = context
}

function prepare(proto: object): void {
  // Express's own request object is the last prototype before node's IncomingMessage.prototype.
  let root: object | null = proto === IncomingMessage.prototype ? null : proto
  while (root !== null) {
    const next = Object.getPrototypeOf(root) as object | null
    if (next === IncomingMessage.prototype) break
    root = next
  }
  if (root !== null && !Object.hasOwn(root, 'jwt')) Object.defineProperty(root, 'jwt', accessor)
  prepared.add(proto)
}

function send(res: Response, response: AuthResponse): void {
  res.status(response.status).set(response.headers).json(response.body)
}

export function expressKeycard<User = unknown>(keycard: Keycard<User>, adapterOptions?: AdapterOptions<User>): ExpressKeycard<User> {
  const options = keycard.options
  const refresher = implicitRefresher(keycard, adapterOptions)
  const setCookies = (kind: CookieKind) => (res: Response, token: string, opts?: SetCookieOptions) => {
    res.append('Set-Cookie', setCookieLines(options, kind, token, opts))
  }
  const unset = (kinds: CookieKind[]) => (res: Response, domain?: string) => {
    const names = kinds.flatMap((kind) => cookieNames(options, kind))
    res.setHeader('Set-Cookie', [
      ...withoutCookies(res.getHeader('Set-Cookie'), names),
      ...kinds.flatMap((kind) => unsetCookieLines(options, kind, domain)),
    ])
  }

  // Made once per adapter, not per request: the usual path allocates no closure.
  const fail = (err: unknown, res: Response, next: NextFunction) => {
    // Rendered here, not passed on: an app's error handler can never turn it into a 500.
    if (isTokenError(err)) send(res, keycard.renderError(err))
    // A shared store that cannot vouch for its view (keycard/stores/kysely, /redis), or a jwks-mode key
    // set that cannot be fetched: 503 + Retry-After in keycard's shape, never an accepted token.
    else if (isStoreUnavailable(err) || isJwksUnavailable(err)) send(res, unavailableResponse(err, keycard.options.errorMessageKey))
    else next(err)
  }
  const proceed = (context: JwtContext<User> | null, req: Request, res: Response, next: NextFunction) => {
    attach(req, context)
    if (!refresher || !context) return next()
    refresher(context)
      .then((token) => {
        if (token) res.append('Set-Cookie', setCookieLines(options, 'access', token))
      })
      .then(
        () => next(),
        (err: unknown) => fail(err, res, next),
      )
  }

  return {
    jwtRequired(guardOptions) {
      const guard = keycard.guardOptions(guardOptions)
      const readsBody = needsBody(guard, options)
      return function keycardGuard(req, res, next) {
        let result: ReturnType<typeof keycard.checkRequestResult>
        try {
          result = keycard.checkRequestResult(new NodeRequestView(req, readsBody ? req.body : undefined), guard)
        } catch (err) {
          return fail(err, res, next)
        }
        // A refusal is a value, not a throw (keycard.checkRequestResult): answered here, in the same tick.
        if (result instanceof Promise)
          result.then(
            (settled) => (settled instanceof TokenError ? fail(settled, res, next) : proceed(settled, req, res, next)),
            (err: unknown) => fail(err, res, next),
          )
        else if (result instanceof TokenError) fail(result, res, next)
        else proceed(result, req, res, next)
      }
    },
    context(req) {
      if (!req.jwt)
        throw new KeycardError(
          'KEYCARD_NO_CONTEXT',
          'No verified token on this request: guard the route with jwtRequired() (and handle optional routes, where req.jwt is null).',
        )
      return req.jwt as JwtContext<User>
    },
    sendError: send,
    setAccessCookies: setCookies('access'),
    setRefreshCookies: setCookies('refresh'),
    unsetJwtCookies: unset(['access', 'refresh']),
    unsetAccessCookies: unset(['access']),
    unsetRefreshCookies: unset(['refresh']),
  }
}
