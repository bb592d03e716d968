/**
 * GET /auth/verify: forward-auth for nginx `auth_request`, Traefik ForwardAuth and Envoy ext_authz.
 * 200 with `X-User-Id`, `X-User-Admin` and `X-Session-Id` headers, or 401 with the token layer's
 * message, or 503 `REVOCATION_VIEW_STALE` while this instance cannot confirm its revocation state
 * (revocation-view.ts). `X-User-Admin` is what the database says now (services.admins), not the token's claim; a
 * token whose `sub` or `sid` is not one this server issues (a user id, a session id) is a 401, never
 * a header value that Node refuses to send. Bearer tokens only, never the account page's cookies (see below). Every token failure is
 * a 401 here (not FJE's 422): nginx turns any status other than 2xx/401/403 from an auth subrequest
 * into a 500 for the client.
 *
 * The proxy asks once per request of the protected app, so this is the server's hot path: the token
 * is checked in the handler itself (GET and HEAD have no body to wait for, so a hook would only add a
 * step), with one promise reaction and `reply.send`, and the 200 body goes through a compiled
 * serializer. The check is the adapter kit's `runGuard` with this route's own ends; a refused token comes back from `checkRequestResult` as a value, not a throw, so a
 * forged or malformed one costs no more than a good one (bench/README.md, "Rejected requests"). Its request log lines are at `warn` (see `verifyLogLevel`).
 */

import type { FastifyInstance, FastifyReply, FastifyRequest, LogLevel } from 'fastify'
import { isTokenError, NodeRequestView, runGuard, type GuardFlow, type JwtContext } from 'keycard'
import type { Services } from '../app.ts'
import { isFlaskShaped } from '../flask-tokens.ts'
import { SESSION_CLAIM } from '../revocations.ts'
import { sendStale } from '../services.ts'
import { VERIFY_SCHEMA } from '../schemas/verify.ts'

/**
 * The route's log level: `warn` when the server logs at `info`, so that forward-auth subrequests
 * (one per request of the protected app) do not write two "incoming request" / "request completed"
 * lines each; failures (5xx) are still logged. At `debug`/`trace` every verify request is logged as
 * before, and a stricter global level (`warn`, `error`, …) is inherited unchanged. Undefined means
 * inherit: an explicit level costs pino a rebuild of the request logger's methods.
 */
export function verifyLogLevel(global: string): LogLevel | undefined {
  return global === 'info' ? 'warn' : undefined
}

/** What this server puts in `sub` (a user id) and `sid` (a randomUUID): safe in a header, checked in linear time. */
const USER_ID = /^[1-9][0-9]{0,15}$/
const SESSION_ID = /^[0-9A-Za-z-]{1,64}$/
export const INVALID_IDENTITY = 'Token identity is invalid: sub must be a user id and sid a session id'

/** Anything thrown goes to the error handler (a 500), as an Error so `reply.send` never sends it as a body. */
function fail(reply: FastifyReply, err: unknown): void {
  reply.send(err instanceof Error ? err : new Error(String(err)))
}

export function registerVerifyRoutes(app: FastifyInstance, s: Services): void {
  const { keycard, auth, admins, view, flask } = s
  // Headers only, never cookies: nginx and Traefik ask with a GET whatever the original method, so a
  // cookie would authenticate a cross-site POST to the protected app without any CSRF check.
  const guard = keycard.guardOptions({ locations: ['headers'] })
  const logLevel = verifyLogLevel(s.config.logLevel)

  function verified(request: FastifyRequest, reply: FastifyReply, context: JwtContext<unknown> | null): void {
    try {
      request.jwt = context
      const { claims, identity } = auth.context(request)
      const sid = claims[SESSION_CLAIM]
      // A Flask token (ACCEPT_FLASK_TOKENS_UNTIL) has no session: it passed its checks, and gets no X-Session-Id.
      const flaskToken = flask !== undefined && isFlaskShaped(claims)
      if (typeof identity !== 'string' || !USER_ID.test(identity) || (!flaskToken && (typeof sid !== 'string' || !SESSION_ID.test(sid)))) {
        auth.sendError(reply, {
          status: 401,
          headers: { 'WWW-Authenticate': `Bearer error="invalid_token", error_description="${INVALID_IDENTITY}"` },
          body: { msg: INVALID_IDENTITY, code: 'KEYCARD_JWT_CLAIM_INVALID' },
        })
        return
      }
      const admin = admins.has(identity)
      // Lower case, as Fastify stores them (it would lower-case each name per request); the same on the wire.
      reply.header('x-user-id', identity).header('x-user-admin', admin ? 'true' : 'false')
      if (typeof sid === 'string') reply.header('x-session-id', sid)
      reply.send({ id: identity, admin })
    } catch (err) {
      fail(reply, err)
    }
  }

  function rejected(reply: FastifyReply, err: unknown): void {
    try {
      if (!isTokenError(err)) {
        fail(reply, err)
        return
      }
      const response = keycard.renderError(err)
      const headers = { 'WWW-Authenticate': 'Bearer error="invalid_token"', ...response.headers }
      auth.sendError(reply, { ...response, status: 401, headers })
    } catch (e) {
      fail(reply, e)
    }
  }

  // This route's own ends of the kit's flow: every refusal a 401, the headers on success.
  const flow: GuardFlow<FastifyRequest, FastifyReply, undefined, void> = {
    pass: (context, request, reply) => verified(request, reply, context),
    refuse: (err, _request, reply) => rejected(reply, err),
  }

  app.get(
    '/auth/verify',
    {
      ...(logLevel ? { logLevel } : {}),
      schema: VERIFY_SCHEMA,
    },
    function verify(request, reply) {
      // Past the staleness bound nothing is vouched for, not even a token that was never revoked.
      if (view.isStale()) return sendStale(reply)
      // The adapter kit's guard flow: synchronous on the usual path (the revocation store is in memory), no promise per request.
      runGuard(keycard, new NodeRequestView(request.raw), guard, flow, request, reply, undefined)
    },
  )
}
