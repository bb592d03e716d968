/**
 * /auth/*: register, login, fresh-login, refresh, logout, logout-all, me, tokens, password. Token
 * routes check the token in an `onRequest` hook (before the body is even read) and validate the body
 * by hand in the handler, so a request without a valid token always gets the token error first.
 */

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { RevokedTokenError } from 'keycard'
import type { Services } from '../app.ts'
import { HttpError, objectBody, requiredString, optionalString } from '../http-errors.ts'
import { passwordProblem } from '../passwords.ts'
import { SESSION_CLAIM } from '../revocations.ts'
import { createUser, findUserById, findUserByLogin, InvalidUserError, setPasswordHash, toPublicUser, UserExistsError } from '../users.ts'
import type { UserRow } from '../db/schema.ts'

const BAD_LOGIN = 'Bad username or password'
/** Longer login names cannot exist (254 is the email limit); they skip the lookup, not the hash. */
const MAX_LOGIN = 254

export function registerAuthRoutes(app: FastifyInstance, s: Services): void {
  const { db, hasher, sessions, guards, auth } = s

  /** The verified token's user id, session id and claims. */
  const tokenOf = (request: FastifyRequest) => {
    const { claims, header } = auth.context(request)
    return { userId: Number(claims.sub), sid: claims[SESSION_CLAIM] as string, claims, header }
  }
  const userAgent = (request: FastifyRequest) => request.headers['user-agent']

  /** Checks a username (or email) and password; the same 401, and one argon2 verify, for every failure. */
  async function checkLogin(body: unknown): Promise<UserRow> {
    const fields = objectBody(body)
    const login = requiredString(fields, 'username')
    const password = requiredString(fields, 'password')
    const user = login.length <= MAX_LOGIN ? await findUserByLogin(db, login) : undefined
    const ok = await hasher.verify(user?.password_hash ?? null, password)
    if (!ok || !user) throw new HttpError(401, BAD_LOGIN)
    if (hasher.needsRehash(user.password_hash)) {
      // Parameters changed since this hash was made: upgrade it while we hold the password.
      await setPasswordHash(db, user.id, await hasher.hash(password))
    }
    return user
  }

  app.post('/auth/register', async (request, reply) => {
    const body = objectBody(request.body)
    const username = requiredString(body, 'username')
    const password = requiredString(body, 'password')
    const email = optionalString(body, 'email')
    let user: UserRow
    try {
      user = await createUser(db, hasher, { username, password, email })
    } catch (err) {
      if (err instanceof InvalidUserError) throw new HttpError(400, err.message)
      if (err instanceof UserExistsError) throw new HttpError(409, err.message)
      throw err
    }
    request.log.info({ userId: user.id }, 'user registered')
    const tokens = await sessions.start(user, { fresh: true, withRefresh: true, userAgent: userAgent(request) })
    return reply.code(201).send({ user: toPublicUser(user), access_token: tokens.access_token, refresh_token: tokens.refresh_token })
  })

  app.post('/auth/login', async (request) => {
    const user = await checkLogin(request.body)
    const tokens = await sessions.start(user, { fresh: true, withRefresh: true, userAgent: userAgent(request) })
    request.log.info({ userId: user.id, sessionId: tokens.sessionId }, 'login')
    return { access_token: tokens.access_token, refresh_token: tokens.refresh_token }
  })

  app.post('/auth/fresh-login', async (request) => {
    const user = await checkLogin(request.body)
    const tokens = await sessions.start(user, { fresh: true, withRefresh: false, userAgent: userAgent(request) })
    request.log.info({ userId: user.id, sessionId: tokens.sessionId }, 'fresh login')
    return { access_token: tokens.access_token }
  })

  app.post('/auth/refresh', { onRequest: guards.refresh }, async (request, reply: FastifyReply) => {
    const { claims, header, sid } = tokenOf(request)
    const result = await sessions.refresh({ sid, jti: String(claims.jti), sub: String(claims.sub) })
    if (result.outcome === 'rotated' || result.outcome === 'repeated') return result.tokens
    if (result.outcome === 'reused') request.log.warn({ sessionId: sid, userId: claims.sub }, 'refresh token reused: session revoked')
    return auth.sendError(reply, s.keycard.renderError(new RevokedTokenError(header, claims)))
  })

  app.post('/auth/logout', { onRequest: guards.any }, async (request) => {
    const { sid, userId } = tokenOf(request)
    await sessions.revoke(sid, userId)
    return { msg: 'Successfully logged out' }
  })

  app.post('/auth/logout-all', { onRequest: guards.access }, async (request) => {
    const { userId } = tokenOf(request)
    const revoked = await sessions.revokeAll(userId)
    return { msg: 'Successfully logged out of every session', revoked_sessions: revoked }
  })

  app.get('/auth/me', { onRequest: guards.access }, async (request) => {
    const user = await findUserById(db, tokenOf(request).userId)
    if (!user) throw new HttpError(404, 'User not found')
    return toPublicUser(user)
  })

  app.get('/auth/tokens', { onRequest: guards.access }, async (request) => {
    const { userId, sid } = tokenOf(request)
    return { sessions: await sessions.list(userId, sid) }
  })

  app.delete<{ Params: { id: string } }>('/auth/tokens/:id', { onRequest: guards.access }, async (request) => {
    const { userId } = tokenOf(request)
    const id = request.params.id
    if (id.length > 64 || !(await sessions.revoke(id, userId))) throw new HttpError(404, 'Session not found')
    return { msg: 'Session revoked' }
  })

  app.post('/auth/password', { onRequest: guards.fresh }, async (request) => {
    const { userId, sid } = tokenOf(request)
    const body = objectBody(request.body)
    const password = requiredString(body, 'new_password')
    const problem = passwordProblem(password)
    if (problem) throw new HttpError(400, `new_password ${problem}`)
    await setPasswordHash(db, userId, await hasher.hash(password))
    const revoked = await sessions.revokeAll(userId, sid)
    request.log.info({ userId, revokedSessions: revoked }, 'password changed')
    return { msg: 'Password changed', revoked_sessions: revoked }
  })
}
