/**
 * GET /auth/verify: forward-auth for nginx `auth_request`, Traefik ForwardAuth and Envoy ext_authz.
 * 200 with `X-User-Id`, `X-User-Admin` and `X-Session-Id` headers, or 401 with the token layer's
 * message. Bearer tokens only, never the account page's cookies (see below). Every token failure is
 * a 401 here (not FJE's 422): nginx turns any status other than 2xx/401/403 from an auth subrequest
 * into a 500 for the client.
 */

import type { FastifyInstance } from 'fastify'
import { isTokenError, NodeRequestView } from 'keycard'
import type { Services } from '../app.ts'
import { SESSION_CLAIM } from '../revocations.ts'

export function registerVerifyRoutes(app: FastifyInstance, s: Services): void {
  const { keycard, auth } = s
  // Headers only, never cookies: nginx and Traefik ask with a GET whatever the original method, so a
  // cookie would authenticate a cross-site POST to the protected app without any CSRF check.
  const guard = keycard.guardOptions({ locations: ['headers'] })

  app.get('/auth/verify', {
    async onRequest(request, reply) {
      try {
        request.jwt = await keycard.verifyJwtInRequest(new NodeRequestView(request.raw), guard)
      } catch (err) {
        if (!isTokenError(err)) throw err
        const response = keycard.renderError(err)
        const headers = { 'WWW-Authenticate': 'Bearer error="invalid_token"', ...response.headers }
        return auth.sendError(reply, { ...response, status: 401, headers })
      }
    },
  }, async (request, reply) => {
    const { claims, identity } = auth.context(request)
    const admin = claims.admin === true
    reply.headers({ 'X-User-Id': identity, 'X-User-Admin': String(admin), 'X-Session-Id': String(claims[SESSION_CLAIM]) })
    return { id: identity, admin }
  })
}
