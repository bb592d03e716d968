/**
 * Fastify 5 adapter: `keycard/fastify`. The flow is the adapter kit's (kit.ts); this file only
 * says how Fastify reads a request, attaches `request.jwt`, queues Set-Cookie and replies.
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
import type { JwtRequiredOptions, Keycard } from '../keycard.ts'
import { NodeRequestView } from '../request.ts'
import type { AuthResponse } from '../responses.ts'
import type { JwtContext, KeycardUser } from '../types.ts'
import { AdapterKit, type AdapterGlue, type CookieHelpers } from './kit.ts'
import type { AdapterOptions } from './shared.ts'

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by a keycard guard: the verified token (typed by `KeycardTypes`), or null on an optional route without one. */
    jwt: JwtContext | null
  }
}

export type { AdapterOptions } from './shared.ts'
export type { SetCookieOptions } from '../cookies.ts'

/** The guard: valid as a `preHandler` and as an `onRequest` hook. */
export type KeycardHook = preHandlerHookHandler & onRequestHookHandler

/**
 * What `fastifyKeycard` returns.
 *
 * @example
 * const auth: FastifyKeycard<User> = fastifyKeycard(keycard)
 */
export interface FastifyKeycard<User> extends CookieHelpers<FastifyReply> {
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
}

function send(reply: FastifyReply, response: AuthResponse): FastifyReply {
  return reply.code(response.status).headers(response.headers).send(response.body)
}

const glue: AdapterGlue<FastifyRequest, FastifyReply, HookHandlerDoneFunction, void> = {
  attach(request, context) {
    // Typed by the app's KeycardTypes; the kit carries the keycard's own User.
    request.jwt = context as JwtContext | null
  },
  send(reply, response) {
    send(reply, response)
  },
  next(done, err) {
    if (err === undefined) done()
    else done(err as Error)
  },
  // Fastify appends to an existing set-cookie header instead of replacing it.
  appendSetCookie(reply, lines) {
    reply.header('set-cookie', lines)
  },
  replaceSetCookie(reply, edit) {
    const lines = edit(reply.getHeader('set-cookie'))
    reply.removeHeader('set-cookie')
    reply.header('set-cookie', lines)
  },
}

/**
 * The Fastify adapter for `keycard`.
 *
 * @example
 * const auth = fastifyKeycard(keycard, { implicitRefresh: { within: '5m' } })
 * await app.register(auth.plugin)
 * app.post('/logout', (req, reply) => { auth.unsetJwtCookies(reply); return { msg: 'bye' } })
 */
export function fastifyKeycard<User = KeycardUser>(keycard: Keycard<User>, adapterOptions?: AdapterOptions<User>): FastifyKeycard<User> {
  const kit = new AdapterKit(keycard, glue, adapterOptions)
  const plugin = async (app: FastifyInstance) => {
    if (!app.hasRequestDecorator('jwt')) app.decorateRequest('jwt', null)
  }
  // What fastify-plugin does: share the decorator with the whole app instead of one child context.
  Object.assign(plugin, { [Symbol.for('skip-override')]: true, [Symbol.for('fastify.display-name')]: 'keycard' })

  return {
    plugin,
    jwtRequired(guardOptions) {
      const guard = kit.guard(guardOptions)
      const readsBody = kit.needsBody(guard)
      // Callback style: when every check is synchronous (the usual case) the route goes on in the same
      // tick, without a promise, a microtask or a closure per request. Returns nothing: a hook that
      // returned a promise would have Fastify go on twice.
      return function keycardGuard(request, reply, done) {
        kit.run(new NodeRequestView(request.raw, readsBody ? request.body : undefined), guard, request, reply, done)
      }
    },
    context: (request) => kit.context(request.jwt, 'request.jwt'),
    sendError: send,
    ...kit.cookieHelpers(),
  }
}
