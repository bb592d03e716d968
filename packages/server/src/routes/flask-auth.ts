/**
 * What /auth/refresh and /auth/logout do with a token of the Flask service (ACCEPT_FLASK_TOKENS_UNTIL,
 * src/flask-tokens.ts); routes/auth.ts calls these when the verified token is Flask-shaped. A Flask
 * refresh token is exchanged, once, for a Keycard session; a logout blocklists the jti of the token
 * presented and of the Flask refresh token sent in the body as `refresh_token`.
 */

import type { FastifyReply, FastifyRequest } from 'fastify'
import { isTokenError, RevokedTokenError, type JwtClaims, type JwtHeader } from 'keycard'
import type { Services } from '../app.ts'
import { requestContext } from '../audit/log.ts'
import type { FlaskTokenRef, FlaskTokens } from '../flask-tokens.ts'
import { isFlaskShaped } from '../flask-tokens.ts'
import { HttpError } from '../http-errors.ts'

/** Where FJE puts the refresh cookie by default (JWT_REFRESH_COOKIE_PATH); Keycard's is narrower. */
const FLASK_REFRESH_COOKIE = 'refresh_token_cookie=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax'
const BAD_REFRESH = 'refresh_token: expected a refresh token the Flask service issued to this user'

/**
 * POST /auth/refresh with a Flask refresh token: a new Keycard session (non-fresh access token and
 * refresh token, in the body or, for a cookie client, in cookies), and the Flask token's jti
 * blocklisted in the same transaction, so a second use is refused everywhere.
 *
 * @example
 * if (s.flask && isFlaskShaped(claims)) return flaskRefresh(s, s.flask, request, reply, { header, claims })
 */
export async function flaskRefresh(
  s: Services,
  flask: FlaskTokens,
  request: FastifyRequest,
  reply: FastifyReply,
  token: { header: JwtHeader; claims: JwtClaims },
): Promise<unknown> {
  const cookies = s.auth.context(request).location === 'cookies'
  const ref = flask.refOf(token.claims)
  const userAgent = request.headers['user-agent']
  const tokens =
    ref &&
    (await flask.exchange(ref, (trx, user) =>
      s.sessions.start(user, { fresh: false, withRefresh: true, userAgent, db: trx }).then((t) => ({ ...t, username: user.username })),
    ))
  if (!ref || !tokens) {
    if (cookies) s.auth.unsetJwtCookies(reply)
    return s.auth.sendError(reply, s.keycard.renderError(new RevokedTokenError(token.header, token.claims)))
  }
  request.log.info({ userId: ref.userId, sessionId: tokens.sessionId }, 'Flask refresh token exchanged for a session')
  await s.audit.record({
    type: 'login.succeeded',
    userId: ref.userId,
    username: tokens.username,
    sessionId: tokens.sessionId,
    ...requestContext(request),
    detail: { mode: cookies ? 'cookie' : 'header', via: 'flask-refresh' },
  })
  if (!cookies) return { access_token: tokens.access_token, refresh_token: tokens.refresh_token }
  s.auth.setAccessCookies(reply, tokens.access_token)
  s.auth.setRefreshCookies(reply, tokens.refresh_token!)
  // The Flask cookie at `/` would otherwise shadow Keycard's at /auth/refresh on the next refresh.
  reply.header('set-cookie', FLASK_REFRESH_COOKIE)
  return { refresh: true }
}

/**
 * POST /auth/logout with a Flask token: blocklists it and, when the body names one, the user's Flask
 * refresh token (`{"refresh_token": "…"}`; an expired one is skipped, anything else that is not such a
 * token is a 400 naming the field).
 *
 * @example
 * if (s.flask && isFlaskShaped(claims)) return flaskLogout(s, s.flask, request, reply, claims)
 */
export async function flaskLogout(
  s: Services,
  flask: FlaskTokens,
  request: FastifyRequest,
  reply: FastifyReply,
  claims: JwtClaims,
): Promise<unknown> {
  const own = flask.refOf(claims)
  const refs: FlaskTokenRef[] = own ? [own] : []
  const extra = await bodyRefreshToken(s, flask, request.body, own?.userId)
  if (extra) refs.push(extra)
  const blocked = await flask.block(refs)
  await s.audit.record({
    type: 'logout',
    userId: own?.userId ?? null,
    ...requestContext(request),
    detail: { via: 'flask-token', blocked_tokens: blocked },
  })
  if (s.auth.context(request).location === 'cookies') s.auth.unsetJwtCookies(reply)
  return { msg: 'Successfully logged out' }
}

/** The blocklist entry of the `refresh_token` in a logout body, undefined when there is none or it has expired. */
async function bodyRefreshToken(
  s: Services,
  flask: FlaskTokens,
  body: unknown,
  userId: number | undefined,
): Promise<FlaskTokenRef | undefined> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return undefined
  const token = (body as Record<string, unknown>).refresh_token
  if (token === undefined) return undefined
  if (typeof token !== 'string' || token === '' || token.length > 8192)
    throw new HttpError(400, BAD_REFRESH, 'INVALID_FIELD', 'refresh_token')
  let claims: JwtClaims
  try {
    claims = await s.keycard.decodeToken(token)
  } catch (err) {
    // Expired: nothing left to revoke.
    if (isTokenError(err) && err.code === 'KEYCARD_JWT_EXPIRED') return undefined
    if (isTokenError(err)) throw new HttpError(400, BAD_REFRESH, 'INVALID_FIELD', 'refresh_token')
    throw err
  }
  const ref = isFlaskShaped(claims) && claims.type === 'refresh' ? flask.refOf(claims) : undefined
  if (!ref || ref.userId !== userId) throw new HttpError(400, BAD_REFRESH, 'INVALID_FIELD', 'refresh_token')
  return ref
}
