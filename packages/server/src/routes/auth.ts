/**
 * /auth/*: register, login, fresh-login, refresh, logout, logout-all, me, tokens, password. Token
 * routes check the token in an `onRequest` hook (before the body is even read) and validate the body
 * by hand in the handler, so a request without a valid token always gets the token error first.
 *
 * Cookie mode (browsers): register, login and fresh-login with `X-Token-Mode: cookie` put the tokens
 * in HttpOnly cookies and leave them out of the body. A route whose token came from a cookie answers
 * in cookies too: refresh rotates the cookies, and a route that ends the current session unsets them.
 */

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { RevokedTokenError } from 'keycard'
import type { Services } from '../app.ts'
import { requestContext } from '../audit/log.ts'
import { HttpError, objectBody, requiredString, optionalString } from '../http-errors.ts'
import { LOGIN_MAX, unicodeProblem } from '../identity-rules.ts'
import { passwordProblem } from '../passwords.ts'
import { SESSION_CLAIM } from '../revocations.ts'
import { createUser, findUserById, findUserByLogin, InvalidUserError, setPasswordHash, toPublicUser, UserExistsError } from '../users.ts'
import type { UserRow } from '../db/schema.ts'
import { presentedDeviceToken, setDeviceCookie } from '../throttle/device.ts'
import type { LoginAttempt } from '../throttle/throttle.ts'
import { cookieSessionOf, tokenMode } from './token-mode.ts'
import { isFlaskShaped } from '../flask-tokens.ts'
import { flaskLogout, flaskRefresh } from './flask-auth.ts'
import { AUTH_SCHEMAS as S } from '../schemas/auth.ts'

export { TOKEN_MODE_HEADER, tokenMode } from './token-mode.ts'

const BAD_LOGIN = 'Bad username or password'

export function registerAuthRoutes(app: FastifyInstance, s: Services): void {
  const { db, hasher, sessions, guards, auth, keycard, audit, throttle, flask, metrics } = s

  /** Whether the verified token of this request came from a cookie (then answers go in cookies too). */
  const fromCookie = (request: FastifyRequest) => auth.context(request).location === 'cookies'

  /** The verified token's user id, session id and claims. */
  const tokenOf = (request: FastifyRequest) => {
    const { claims, header } = auth.context(request)
    return { userId: Number(claims.sub), sid: claims[SESSION_CLAIM] as string, claims, header }
  }
  const userAgent = (request: FastifyRequest) => request.headers['user-agent']

  /** A sign-in's audit event (login.succeeded), after its session has committed. */
  const recordLogin = (request: FastifyRequest, user: UserRow, sessionId: string, detail: { mode: string; fresh?: true }) =>
    audit.record({ type: 'login.succeeded', userId: user.id, username: user.username, sessionId, ...requestContext(request), detail })

  /**
   * Checks a username (or email) and password; the same 401, and one argon2 verify, for every failure.
   * The throttle decides first (a 429 costs no verify), and counts a failure.
   */
  async function checkLogin(request: FastifyRequest): Promise<{ user: UserRow; attempt: LoginAttempt }> {
    const fields = objectBody(request.body)
    const login = requiredString(fields, 'username')
    const password = requiredString(fields, 'password')
    // body.ts refuses these already; kept so no ill-formed password reaches argon2, which would hash
    // a lone surrogate as U+FFFD and so accept any other.
    const unicode = unicodeProblem(password)
    if (unicode) throw new HttpError(400, `password ${unicode}`, 'INVALID_FIELD', 'password')
    const deviceToken = presentedDeviceToken(request, fields)
    const user = login.length <= LOGIN_MAX ? await findUserByLogin(db, login) : undefined
    const attempt = await throttle.beginLogin(request, { login, user, deviceToken })
    let verified: boolean
    try {
      verified = await hasher.verify(user?.password_hash ?? null, password)
    } catch (err) {
      // A verify that threw gives its slots back uncounted.
      await attempt.settle(false)
      throw err
    }
    await attempt.settle(!verified || !user)
    if (!verified || !user) {
      // What was typed is recorded (clipped), never the password.
      await audit.record({ type: 'login.failed', userId: user?.id ?? null, username: login, ...requestContext(request) })
      throw new HttpError(401, BAD_LOGIN, 'BAD_CREDENTIALS')
    }
    if (hasher.needsRehash(user.password_hash)) {
      // Parameters changed since this hash was made: upgrade it while we hold the password.
      await setPasswordHash(db, user.id, await hasher.hash(password))
    }
    return { user, attempt }
  }

  /** A new device token for a client that signed in without one: in the body (header mode) or a cookie. */
  async function deviceToken(reply: FastifyReply, attempt: LoginAttempt, user: UserRow, mode: 'cookie' | 'header') {
    const minted = await throttle.deviceAfterLogin(attempt, user.id)
    if (minted !== undefined && mode === 'cookie') setDeviceCookie(reply, minted, s.config.cookieSecure)
    return mode === 'header' && minted !== undefined ? { device_token: minted } : {}
  }

  app.post('/auth/register', { schema: S.register }, async (request, reply) => {
    const mode = tokenMode(request)
    const body = objectBody(request.body)
    const username = requiredString(body, 'username')
    const password = requiredString(body, 'password')
    const email = optionalString(body, 'email')
    // Every attempt counts (refused by the rules, taken, or made), before any hashing.
    await throttle.count('register', request, { username })
    let user: UserRow
    let tokens: Awaited<ReturnType<typeof sessions.start>> | undefined
    try {
      // The user and its first session in one transaction: a 503 leaves no user behind to make the retry a 409.
      user = await createUser(
        db,
        hasher,
        { username, password, email },
        {
          andThen: async (trx, created) => {
            tokens = await sessions.start(created, { fresh: true, withRefresh: true, userAgent: userAgent(request), db: trx })
          },
        },
      )
    } catch (err) {
      if (err instanceof InvalidUserError) throw new HttpError(400, err.message, 'INVALID_FIELD', err.field)
      if (err instanceof UserExistsError) throw new HttpError(409, err.message, 'USER_EXISTS', err.field)
      throw err
    }
    if (!tokens) throw new Error('registration committed without its session')
    request.log.info({ userId: user.id }, 'user registered')
    await audit.record({
      type: 'user.registered',
      userId: user.id,
      username: user.username,
      sessionId: tokens.sessionId,
      ...requestContext(request),
    })
    if (mode === 'cookie') {
      auth.setAccessCookies(reply, tokens.access_token)
      auth.setRefreshCookies(reply, tokens.refresh_token!)
      return reply.code(201).send({ user: toPublicUser(user) })
    }
    return reply.code(201).send({ user: toPublicUser(user), access_token: tokens.access_token, refresh_token: tokens.refresh_token })
  })

  app.post('/auth/login', { schema: S.login }, async (request, reply) => {
    const mode = tokenMode(request)
    const { user, attempt } = await checkLogin(request)
    const tokens = await sessions.start(user, { fresh: true, withRefresh: true, userAgent: userAgent(request) })
    request.log.info({ userId: user.id, sessionId: tokens.sessionId, mode }, 'login')
    await recordLogin(request, user, tokens.sessionId, { mode })
    if (mode === 'cookie') {
      auth.setAccessCookies(reply, tokens.access_token)
      auth.setRefreshCookies(reply, tokens.refresh_token!)
      await deviceToken(reply, attempt, user, mode)
      return { login: true }
    }
    return { access_token: tokens.access_token, refresh_token: tokens.refresh_token, ...(await deviceToken(reply, attempt, user, mode)) }
  })

  app.post('/auth/fresh-login', { schema: S.freshLogin }, async (request, reply) => {
    const mode = tokenMode(request)
    const { user, attempt } = await checkLogin(request)
    if (mode === 'cookie') {
      // A browser already signed in as this user gets a fresh token for the same session, so the
      // password change that usually follows (which revokes the *other* sessions) keeps it signed in.
      const sid = await cookieSessionOf(keycard, request, user)
      const fresh = sid === undefined ? undefined : await sessions.freshAccess(user, sid)
      if (fresh && sid !== undefined) {
        request.log.info({ userId: user.id, sessionId: sid, mode }, 'fresh login')
        await recordLogin(request, user, sid, { mode, fresh: true })
        auth.setAccessCookies(reply, fresh)
        await deviceToken(reply, attempt, user, mode)
        return { login: true }
      }
    }
    const tokens = await sessions.start(user, { fresh: true, withRefresh: false, userAgent: userAgent(request) })
    request.log.info({ userId: user.id, sessionId: tokens.sessionId, mode }, 'fresh login')
    await recordLogin(request, user, tokens.sessionId, { mode, fresh: true })
    if (mode === 'cookie') {
      auth.setAccessCookies(reply, tokens.access_token)
      await deviceToken(reply, attempt, user, mode)
      return { login: true }
    }
    return { access_token: tokens.access_token, ...(await deviceToken(reply, attempt, user, mode)) }
  })

  app.post('/auth/refresh', { schema: S.refresh, onRequest: guards.refresh }, async (request, reply: FastifyReply) => {
    const { claims, header, sid } = tokenOf(request)
    // A Flask refresh token (ACCEPT_FLASK_TOKENS_UNTIL): exchanged once for a Keycard session.
    if (flask && isFlaskShaped(claims)) return flaskRefresh(s, flask, request, reply, { header, claims })
    const cookies = fromCookie(request)
    const result = await sessions.refresh({ sid, jti: String(claims.jti), sub: String(claims.sub) })
    // The status alone would not tell a reuse from a revoked session (both 401), nor a repeat from a rotation.
    if (metrics)
      request.keycardOutcome = result.outcome === 'rotated' ? 'success' : result.outcome === 'reused' ? 'reuse_detected' : result.outcome
    if (result.outcome === 'rotated' || result.outcome === 'repeated') {
      if (!cookies) return result.tokens
      auth.setAccessCookies(reply, result.tokens.access_token)
      auth.setRefreshCookies(reply, result.tokens.refresh_token)
      return { refresh: true }
    }
    if (result.outcome === 'reused') {
      request.log.warn({ sessionId: sid, userId: claims.sub }, 'refresh token reused: session revoked')
      metrics?.revoked('reuse_detected')
      await audit.record({ type: 'refresh.reused', userId: Number(claims.sub), sessionId: sid, ...requestContext(request) })
    }
    // The session is over: a browser drops its cookies.
    if (cookies) auth.unsetJwtCookies(reply)
    return auth.sendError(reply, s.keycard.renderError(new RevokedTokenError(header, claims)))
  })

  app.post('/auth/logout', { schema: S.logout, onRequest: guards.any }, async (request, reply) => {
    const { sid, userId, claims } = tokenOf(request)
    if (flask && isFlaskShaped(claims)) return flaskLogout(s, flask, request, reply, claims)
    if (await sessions.revoke(sid, userId)) metrics?.revoked('logout')
    await audit.record({ type: 'logout', userId, sessionId: sid, ...requestContext(request) })
    // Also drops an access cookie that implicit refresh queued on this response.
    if (fromCookie(request)) auth.unsetJwtCookies(reply)
    return { msg: 'Successfully logged out' }
  })

  app.post('/auth/logout-all', { schema: S.logoutAll, onRequest: guards.access }, async (request, reply) => {
    const { userId } = tokenOf(request)
    // The user's Flask tokens too (issued until now); first, so that a failure leaves them refused.
    await flask?.refuseOlder(userId)
    const revoked = await sessions.revokeAll(userId)
    metrics?.revoked('logout_all', revoked)
    await audit.record({
      type: 'logout.all',
      userId,
      sessionId: tokenOf(request).sid,
      ...requestContext(request),
      detail: { revoked_sessions: revoked },
    })
    if (fromCookie(request)) auth.unsetJwtCookies(reply)
    return { msg: 'Successfully logged out of every session', revoked_sessions: revoked }
  })

  app.get('/auth/me', { schema: S.me, onRequest: guards.access }, async (request) => {
    const user = await findUserById(db, tokenOf(request).userId)
    if (!user) throw new HttpError(404, 'User not found', 'USER_NOT_FOUND')
    return toPublicUser(user)
  })

  app.get('/auth/tokens', { schema: S.tokens, onRequest: guards.access }, async (request) => {
    const { userId, sid } = tokenOf(request)
    return { sessions: await sessions.list(userId, sid) }
  })

  app.delete<{ Params: { id: string } }>(
    '/auth/tokens/:id',
    { schema: S.revokeToken, onRequest: guards.access },
    async (request, reply) => {
      const { userId, sid } = tokenOf(request)
      const id = request.params.id
      if (id.length > 64 || !(await sessions.revoke(id, userId))) throw new HttpError(404, 'Session not found', 'SESSION_NOT_FOUND')
      metrics?.revoked('session')
      await audit.record({ type: 'session.revoked', userId, sessionId: id, ...requestContext(request) })
      // Revoking the session this browser is signed in with is a sign-out.
      if (id === sid && fromCookie(request)) auth.unsetJwtCookies(reply)
      return { msg: 'Session revoked' }
    },
  )

  app.post('/auth/password', { schema: S.password, onRequest: guards.fresh }, async (request) => {
    const { userId, sid } = tokenOf(request)
    const body = objectBody(request.body)
    const password = requiredString(body, 'new_password')
    const problem = unicodeProblem(password) ?? passwordProblem(password)
    if (problem) throw new HttpError(400, `new_password ${problem}`, 'INVALID_FIELD', 'new_password')
    await throttle.count('password', request, { userId })
    const hash = await hasher.hash(password)
    // Every Flask token of the user, the one presented included (it has no session to keep).
    await flask?.refuseOlder(userId)
    const revoked = await sessions.changePassword(userId, hash, typeof sid === 'string' ? sid : '')
    metrics?.revoked('password_change', revoked)
    request.log.info({ userId, revokedSessions: revoked }, 'password changed')
    await audit.record({
      type: 'password.changed',
      userId,
      sessionId: sid,
      ...requestContext(request),
      detail: { revoked_sessions: revoked },
    })
    return { msg: 'Password changed', revoked_sessions: revoked }
  })
}
