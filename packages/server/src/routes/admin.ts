/**
 * /admin/users: list users a page at a time by key (`?limit=&after=<the previous page's next>`) and delete
 * users; admin access tokens only (403 otherwise).
 */

import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Services } from '../app.ts'
import type { UserPage } from '../api-types.ts'
import { requestContext } from '../audit/log.ts'
import { HttpError } from '../http-errors.ts'
import { ADMIN_SCHEMAS as S } from '../schemas/admin.ts'
import { deleteUser, findUserById, listUsers, maxUserId, toPublicUser } from '../users.ts'

const MAX_LIMIT = 100
/** A user id: at most 15 digits, as DELETE /admin/users/:id reads them. */
const ID = /^\d{1,15}$/

/** A query parameter given once, as a string (a repeated one arrives as an array), or undefined when absent or empty. */
function single(query: Record<string, unknown>, name: string): string | undefined | null {
  const raw = query[name]
  if (raw === undefined || raw === '') return undefined
  return typeof raw === 'string' ? raw : null
}

/** The page size, 1 to MAX_LIMIT, or a 400 naming it. */
function limitParam(query: Record<string, unknown>): number {
  const raw = single(query, 'limit')
  if (raw === undefined) return 50
  if (raw === null || !/^\d{1,9}$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_LIMIT)
    throw new HttpError(400, `Query parameter limit must be an integer from 1 to ${MAX_LIMIT}`, 'INVALID_QUERY', 'limit')
  return Number(raw)
}

/** The id the page starts after (the previous page's `next`), or a 400 naming it. */
function afterParam(query: Record<string, unknown>): number | undefined {
  if (query.offset !== undefined)
    throw new HttpError(
      400,
      "Query parameter offset is not supported: pages are by key; pass after=<the previous page's next> (omit it for the first page)",
      'INVALID_QUERY',
      'offset',
    )
  const raw = single(query, 'after')
  if (raw === undefined) return undefined
  if (raw === null || !ID.test(raw))
    throw new HttpError(400, "Query parameter after must be a user id (the previous page's next)", 'INVALID_QUERY', 'after')
  return Number(raw)
}

/**
 * The id of the admin this access-token request is from, or a 403 `ADMIN_REQUIRED`. The admin flag is
 * read from the database, not the token, so a demotion takes effect at once.
 *
 * @example
 * const adminId = await requireAdmin(s, request)
 */
export async function requireAdmin(s: Pick<Services, 'db' | 'auth'>, request: FastifyRequest): Promise<number> {
  const id = Number(s.auth.context(request).claims.sub)
  const user = await findUserById(s.db, id)
  if (user?.admin !== 1) throw new HttpError(403, 'Admin access required', 'ADMIN_REQUIRED')
  return id
}

export function registerAdminRoutes(app: FastifyInstance, s: Services): void {
  const { db, auth, guards, revocations, admins } = s
  const maxId = maxUserId(db)

  app.get('/admin/users', { schema: S.listUsers, onRequest: guards.access }, async (request) => {
    await requireAdmin(s, request)
    const query = (request.query ?? {}) as Record<string, unknown>
    const limit = limitParam(query)
    const after = afterParam(query)
    const page = await listUsers(db, after === undefined ? { limit } : { limit, after })
    return { users: page.users.map(toPublicUser), total: page.total, limit, next: page.next } satisfies UserPage
  })

  app.delete<{ Params: { id: string } }>('/admin/users/:id', { schema: S.deleteUser, onRequest: guards.access }, async (request, reply) => {
    const adminId = await requireAdmin(s, request)
    const raw = request.params.id
    const id = /^\d{1,15}$/.test(raw) ? Number(raw) : NaN
    // Read first: the event keeps the name after the row is gone.
    const user = Number.isSafeInteger(id) && id <= maxId ? await findUserById(db, id) : undefined
    const revoked = user ? await deleteUser(db, id) : null
    if (!user || revoked === null) throw new HttpError(404, 'User not found', 'USER_NOT_FOUND')
    revocations.add(revoked)
    s.metrics?.revoked('admin_delete_user', revoked.length)
    admins.set(id, false)
    await s.audit.record({
      type: 'user.deleted',
      userId: id,
      username: user.username,
      actorId: adminId,
      ...requestContext(request),
      detail: { via: 'api', revoked_sessions: revoked.length },
    })
    request.log.info({ adminId, userId: id, revokedSessions: revoked.length }, 'user deleted')
    // An admin who deleted their own account from the browser is signed out there.
    if (id === adminId && auth.context(request).location === 'cookies') auth.unsetJwtCookies(reply)
    return { msg: 'User deleted', revoked_sessions: revoked.length }
  })
}
