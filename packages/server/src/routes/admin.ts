/** /admin/users: list (paginated) and delete users; admin access tokens only (403 otherwise). */

import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Services } from '../app.ts'
import { HttpError } from '../http-errors.ts'
import { deleteUser, findUserById, listUsers, toPublicUser } from '../users.ts'

const MAX_LIMIT = 100

/** A non-negative integer query parameter within bounds, or a 400 naming it. */
function intParam(query: Record<string, unknown>, name: string, fallback: number, min: number, max: number): number {
  const raw = query[name]
  if (raw === undefined || raw === '') return fallback
  if (typeof raw !== 'string' || !/^\d{1,9}$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new HttpError(400, `Query parameter ${name} must be an integer from ${min} to ${max}`, 'INVALID_QUERY', name)
  }
  return Number(raw)
}

export function registerAdminRoutes(app: FastifyInstance, s: Services): void {
  const { db, auth, guards, revocations, admins } = s

  /** The admin flag is read from the database, not the token, so a demotion takes effect at once. */
  async function requireAdmin(request: FastifyRequest): Promise<number> {
    const id = Number(auth.context(request).claims.sub)
    const user = await findUserById(db, id)
    if (user?.admin !== 1) throw new HttpError(403, 'Admin access required', 'ADMIN_REQUIRED')
    return id
  }

  app.get('/admin/users', { onRequest: guards.access }, async (request) => {
    await requireAdmin(request)
    const query = (request.query ?? {}) as Record<string, unknown>
    const limit = intParam(query, 'limit', 50, 1, MAX_LIMIT)
    const offset = intParam(query, 'offset', 0, 0, 1e9)
    const page = await listUsers(db, { limit, offset })
    return { users: page.users.map(toPublicUser), total: page.total, limit, offset }
  })

  app.delete<{ Params: { id: string } }>('/admin/users/:id', { onRequest: guards.access }, async (request, reply) => {
    const adminId = await requireAdmin(request)
    const raw = request.params.id
    const id = /^\d{1,15}$/.test(raw) ? Number(raw) : NaN
    const revoked = Number.isSafeInteger(id) ? await deleteUser(db, id) : null
    if (revoked === null) throw new HttpError(404, 'User not found', 'USER_NOT_FOUND')
    revocations.add(revoked)
    admins.set(id, false)
    request.log.info({ adminId, userId: id, revokedSessions: revoked.length }, 'user deleted')
    // An admin who deleted their own account from the browser is signed out there.
    if (id === adminId && auth.context(request).location === 'cookies') auth.unsetJwtCookies(reply)
    return { msg: 'User deleted', revoked_sessions: revoked.length }
  })
}
