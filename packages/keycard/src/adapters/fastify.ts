/**
 * Fastify 5 adapter: `keycard/fastify`.
 *
 * @example
 * const auth = fastifyKeycard(keycard)
 * await app.register(auth.plugin)
 * app.get('/me', { preHandler: auth.jwtRequired() }, (req) => ({ id: req.jwt!.identity }))
 */

import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  HookHandlerDoneFunction,
  onRequestHookHandler,
  preHandlerHookHandler,
} from 'fastify'
import { cookieNames, setCookieLines, unsetCookieLines, withoutCookies, type CookieKind, type SetCookieOptions } from '../cookies.ts'
import { isTokenError, KeycardError, TokenError } from '../errors.ts'
import type { JwtRequiredOptions, Keycard } from '../keycard.ts'
import { NodeRequestView } from '../request.ts'
import { type AuthResponse, unavailableResponse } from '../responses.ts'
import { isJwksUnavailable } from '../jwks/errors.ts'
import { isStoreUnavailable } from '../stores/errors.ts'
import type { JwtContext } from '../types.ts'
import { implicitRefresher, needsBody, type AdapterOptions } from './shared.ts'

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by a keycard guard: the verified token, or null on an optional route without one. */
    jwt: JwtContext | null
  }
}

export type { AdapterOptions } from './shared.ts'
export type { SetCookieOptions } from '../cookies.ts'

/** The guard: valid as a `preHandler` and as an `onRequest` hook. */
export type KeycardHook = preHandlerHookHandler & onRequestHookHandler

export interface FastifyKeycard<User> {
  /** Registers `request.jwt`; register it on the root instance (it is not encapsulated). */
  plugin: (app: FastifyInstance) => Promise<void>
  /**
   * A hook that verifies the request's token and answers auth failures itself. Use it as `preHandler`,
   * or as `onRequest` to authenticate before the body is even read (then the `json` location, which
   * needs the parsed body, finds nothing).
   */
  jwtRequired(options?: JwtRequiredOptions): KeycardHook
  /** The verified token of a guarded request, typed with your user; throws outside a guarded route. */
  context(request: FastifyRequest): JwtContext<User>
  /** Writes a keycard error response (status, `WWW-Authenticate`, `{msg}` body). */
  sendError(reply: FastifyReply, response: AuthResponse): FastifyReply
  /** Sets the access-token cookie (HttpOnly) and its CSRF cookie (FJE `set_access_cookies`). */
  setAccessCookies(reply: FastifyReply, token: string, options?: SetCookieOptions): void
  /** Sets the refresh-token cookie and its CSRF cookie (FJE `set_refresh_cookies`). */
  setRefreshCookies(reply: FastifyReply, token: string, options?: SetCookieOptions): void
  /** Deletes the access and refresh cookies (FJE `unset_jwt_cookies`), dropping any re-issued in this response. */
  unsetJwtCookies(reply: FastifyReply, domain?: string): void
  unsetAccessCookies(reply: FastifyReply, domain?: string): void
  unsetRefreshCookies(reply: FastifyReply, domain?: string): void
}

function send(reply: FastifyReply, response: AuthResponse): FastifyReply {
  return reply.code(response.status).headers(response.headers).send(response.body)
}

export function fastifyKeycard<User = unknown>(keycard: Keycard<User>, adapterOptions?: AdapterOptions<User>): FastifyKeycard<User> {
  const options = keycard.options
  const refresher = implicitRefresher(keycard, adapterOptions)
  const plugin = async (app: FastifyInstance) => {
    if (!app.hasRequestDecorator('jwt')) app.decorateRequest('jwt', null)
  }
  // What fastify-plugin does: share the decorator with the whole app instead of one child context.
  Object.assign(plugin, { [Symbol.for('skip-override')]: true, [Symbol.for('fastify.display-name')]: 'keycard' })

  // Fastify appends to an existing set-cookie header instead of replacing it.
  const append = (reply: FastifyReply, lines: string[]) => {
    reply.header('set-cookie', lines)
  }
  const setCookies = (kind: CookieKind) => (reply: FastifyReply, token: string, opts?: SetCookieOptions) => {
    append(reply, setCookieLines(options, kind, token, opts))
  }
  const unset = (kinds: CookieKind[]) => (reply: FastifyReply, domain?: string) => {
    const names = kinds.flatMap((kind) => cookieNames(options, kind))
    const kept = withoutCookies(reply.getHeader('set-cookie'), names)
    reply.removeHeader('set-cookie')
    reply.header('set-cookie', [...kept, ...kinds.flatMap((kind) => unsetCookieLines(options, kind, domain))])
  }

  // Made once per adapter, not per request.
  const fail = (err: unknown, reply: FastifyReply, done: HookHandlerDoneFunction) => {
    // Rendered here (a hook that replies does not call done), not passed on: another plugin's error
    // handler can never turn it into a 500.
    if (isTokenError(err)) send(reply, keycard.renderError(err))
    // A shared store that cannot vouch for its view (keycard/stores/kysely, /redis), or a jwks-mode key
    // set that cannot be fetched: 503 + Retry-After in keycard's shape, never an accepted token.
    else if (isStoreUnavailable(err) || isJwksUnavailable(err)) send(reply, unavailableResponse(err, keycard.options.errorMessageKey))
    else done(err as Error)
  }
  const proceed = (context: JwtContext<User> | null, request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
    request.jwt = context
    if (!refresher || !context) return done()
    refresher(context).then(
      (token) => {
        if (token) append(reply, setCookieLines(options, 'access', token))
        done()
      },
      (err: unknown) => fail(err, reply, done),
    )
  }

  return {
    plugin,
    jwtRequired(guardOptions) {
      const guard = keycard.guardOptions(guardOptions)
      const readsBody = needsBody(guard, options)
      // Callback style: when every check is synchronous (the usual case) the route goes on in the same
      // tick, without a promise, a microtask or a closure per request.
      return function keycardGuard(request, reply, done) {
        let result: ReturnType<typeof keycard.checkRequestResult>
        try {
          result = keycard.checkRequestResult(new NodeRequestView(request.raw, readsBody ? request.body : undefined), guard)
        } catch (err) {
          return fail(err, reply, done)
        }
        // A refusal is a value, not a throw (keycard.checkRequestResult): answered here, in the same tick.
        if (result instanceof Promise)
          result.then(
            (settled) => (settled instanceof TokenError ? fail(settled, reply, done) : proceed(settled, request, reply, done)),
            (err: unknown) => fail(err, reply, done),
          )
        else if (result instanceof TokenError) fail(result, reply, done)
        else proceed(result, request, reply, done)
      }
    },
    context(request) {
      if (!request.jwt)
        throw new KeycardError(
          'KEYCARD_NO_CONTEXT',
          'No verified token on this request: guard the route with jwtRequired() (and handle optional routes, where request.jwt is null).',
        )
      return request.jwt as JwtContext<User>
    },
    sendError: send,
    setAccessCookies: setCookies('access'),
    setRefreshCookies: setCookies('refresh'),
    unsetJwtCookies: unset(['access', 'refresh']),
    unsetAccessCookies: unset(['access']),
    unsetRefreshCookies: unset(['refresh']),
  }
}
