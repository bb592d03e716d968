/**
 * Express 5 adapter: `keycard/express`. The flow is the adapter kit's (kit.ts); this file only
 * says how Express reads a request, attaches `req.jwt`, queues Set-Cookie and responds.
 *
 * @example
 * const auth = expressKeycard(keycard)
 * app.get('/me', auth.jwtRequired(), (req, res) => { res.json({ id: req.jwt!.identity }) })
 */

import { IncomingMessage } from 'node:http'
import type { NextFunction, RequestHandler, Request, Response } from 'express'
import type { JwtRequiredOptions, Keycard } from '../keycard.ts'
import { NodeRequestView } from '../request.ts'
import type { AuthResponse } from '../responses.ts'
import type { JwtContext, KeycardUser } from '../types.ts'
import { AdapterKit, type AdapterGlue, type CookieHelpers } from './kit.ts'
import type { AdapterOptions } from './shared.ts'

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** Set by a keycard guard: the verified token (typed by `KeycardTypes`), or null on an optional route without one. */
      jwt?: JwtContext | null
    }
  }
}

export type { AdapterOptions } from './shared.ts'
export type { SetCookieOptions } from '../cookies.ts'

/**
 * What `expressKeycard` returns.
 *
 * @example
 * const auth: ExpressKeycard<User> = expressKeycard(keycard)
 */
export interface ExpressKeycard<User> extends CookieHelpers<Response> {
  /** Middleware that verifies the request's token and answers auth failures itself. */
  jwtRequired(options?: JwtRequiredOptions): RequestHandler
  /** The verified token of a guarded request, typed with your user; throws outside a guarded route. */
  context(req: Request): JwtContext<User>
  /** Writes a keycard error response (status, `WWW-Authenticate`, `{msg}` body). */
  sendError(res: Response, response: AuthResponse): void
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

const glue: AdapterGlue<Request, Response, NextFunction, void> = {
  attach(req, context) {
    const proto = Object.getPrototypeOf(req) as object | null
    if (proto !== null && !prepared.has(proto)) prepare(proto)
    req.jwt = context as JwtContext | null
  },
  send,
  next(next, err) {
    if (err === undefined) next()
    else next(err)
  },
  appendSetCookie(res, lines) {
    res.append('Set-Cookie', lines as string[])
  },
  replaceSetCookie(res, edit) {
    res.setHeader('Set-Cookie', edit(res.getHeader('Set-Cookie')))
  },
}

/**
 * The Express adapter for `keycard`.
 *
 * @example
 * const auth = expressKeycard(keycard, { implicitRefresh: { within: '5m' } })
 * app.post('/logout', (req, res) => { auth.unsetJwtCookies(res); res.json({ msg: 'bye' }) })
 */
export function expressKeycard<User = KeycardUser>(keycard: Keycard<User>, adapterOptions?: AdapterOptions<User>): ExpressKeycard<User> {
  const kit = new AdapterKit(keycard, glue, adapterOptions)
  return {
    jwtRequired(guardOptions) {
      const guard = kit.guard(guardOptions)
      const readsBody = kit.needsBody(guard)
      // Returns nothing: the usual path allocates no promise or closure, and Express never awaits one.
      return function keycardGuard(req, res, next) {
        kit.run(new NodeRequestView(req, readsBody ? req.body : undefined), guard, req, res, next)
      }
    },
    context: (req) => kit.context(req.jwt, 'req.jwt'),
    sendError: send,
    ...kit.cookieHelpers(),
  }
}
