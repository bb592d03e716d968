/**
 * Fastify 5 adapter: `keycard/fastify`.
 *
 * @example
 * const auth = fastifyKeycard(keycard)
 * await app.register(auth.plugin)
 * app.get('/me', { preHandler: auth.jwtRequired() }, (req) => ({ id: req.jwt!.identity }))
 */

import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify'
import { isTokenError, KeycardError } from '../errors.ts'
import type { JwtRequiredOptions, Keycard } from '../keycard.ts'
import { NodeRequestView } from '../request.ts'
import type { AuthResponse } from '../responses.ts'
import type { JwtContext } from '../types.ts'

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by a keycard guard: the verified token, or null on an optional route without one. */
    jwt: JwtContext | null
  }
}

export interface FastifyKeycard<User> {
  /** Registers `request.jwt`; register it on the root instance (it is not encapsulated). */
  plugin: (app: FastifyInstance) => Promise<void>
  /** A `preHandler` that verifies the request's token and answers auth failures itself. */
  jwtRequired(options?: JwtRequiredOptions): preHandlerAsyncHookHandler
  /** The verified token of a guarded request, typed with your user; throws outside a guarded route. */
  context(request: FastifyRequest): JwtContext<User>
  /** Writes a keycard error response (status, `WWW-Authenticate`, `{msg}` body). */
  sendError(reply: FastifyReply, response: AuthResponse): FastifyReply
}

function send(reply: FastifyReply, response: AuthResponse): FastifyReply {
  return reply.code(response.status).headers(response.headers).send(response.body)
}

export function fastifyKeycard<User = unknown>(keycard: Keycard<User>): FastifyKeycard<User> {
  const plugin = async (app: FastifyInstance) => {
    if (!app.hasRequestDecorator('jwt')) app.decorateRequest('jwt', null)
  }
  // What fastify-plugin does: share the decorator with the whole app instead of one child context.
  Object.assign(plugin, { [Symbol.for('skip-override')]: true, [Symbol.for('fastify.display-name')]: 'keycard' })

  return {
    plugin,
    jwtRequired(options) {
      const guard = keycard.guardOptions(options)
      return async function keycardGuard(request, reply) {
        try {
          request.jwt = await keycard.verifyJwtInRequest(new NodeRequestView(request.raw, request.body), guard)
        } catch (err) {
          // Rendered here, not thrown: another plugin's error handler can never turn it into a 500.
          if (isTokenError(err)) return send(reply, keycard.renderError(err))
          throw err
        }
      }
    },
    context(request) {
      if (!request.jwt) throw new KeycardError('KEYCARD_NO_CONTEXT', 'No verified token on this request: guard the route with jwtRequired() (and handle optional routes, where request.jwt is null).')
      return request.jwt as JwtContext<User>
    },
    sendError: send,
  }
}
