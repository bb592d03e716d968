/**
 * The audit trail over HTTP: `GET /auth/events` (a user's own recent security events, for the account
 * page) and `GET /admin/audit` (every event, a page at a time by key, with filters; admins only).
 */

import type { FastifyInstance } from 'fastify'
import type { AuditEventList, AuditPage } from '../api-types.ts'
import type { Services } from '../app.ts'
import { type AuditFilter, listAuditEvents, OWN_EVENT_TYPES, sinceSeconds, toPublicEvent, userFilter } from '../audit/events.ts'
import { AUDIT_LIMITS, isAuditEventType } from '../audit/log.ts'
import { HttpError } from '../http-errors.ts'
import { requireAdmin } from './admin.ts'
import { AUDIT_SCHEMAS as S } from '../schemas/audit.ts'

type Query = Record<string, unknown>

const invalid = (name: string, msg: string) => new HttpError(400, `Query parameter ${name} ${msg}`, 'INVALID_QUERY', name)

/** A query parameter given once, or undefined when absent or empty; a repeated one is a 400 naming it. */
function single(query: Query, name: string): string | undefined {
  const raw = query[name]
  if (raw === undefined || raw === '') return undefined
  if (typeof raw !== 'string') throw invalid(name, 'must be given once')
  return raw
}

function limitParam(query: Query, fallback: number, max: number): number {
  const raw = single(query, 'limit')
  if (raw === undefined) return fallback
  if (!/^\d{1,9}$/.test(raw) || Number(raw) < 1 || Number(raw) > max) throw invalid('limit', `must be an integer from 1 to ${max}`)
  return Number(raw)
}

/** Parameters this route does not know are refused, so a typo (`?types=`) is not silently a broader query. */
function onlyKnown(query: Query, known: readonly string[]): void {
  for (const name of Object.keys(query))
    if (!known.includes(name)) throw invalid(name.slice(0, 64), `is not known here; use ${known.join(', ')}`)
}

const ADMIN_PARAMS = ['limit', 'before', 'user', 'type', 'since'] as const

/** The filter of GET /admin/audit's query, or a 400 naming the parameter; null when it can match nothing. */
async function adminFilter(s: Services, query: Query, now: number): Promise<AuditFilter | null> {
  const filter: AuditFilter = {}
  const type = single(query, 'type')
  if (type !== undefined) {
    if (!isAuditEventType(type)) throw invalid('type', 'must be an event type such as login.failed (see the server README, "Audit trail")')
    filter.types = [type]
  }
  const since = single(query, 'since')
  if (since !== undefined) {
    const seconds = sinceSeconds(since)
    if (seconds === undefined) throw invalid('since', 'must be a duration in seconds or with a unit (s, m, h, d, w), such as 24h')
    filter.since = now - seconds
  }
  const user = single(query, 'user')
  if (user !== undefined) {
    if (user.length > AUDIT_LIMITS.username)
      throw invalid('user', `must be a username or user id of at most ${AUDIT_LIMITS.username} characters`)
    const who = await userFilter(s.db, user)
    if (who === null) return null
    Object.assign(filter, who)
  }
  return filter
}

function beforeParam(query: Query): number | undefined {
  const raw = single(query, 'before')
  if (raw === undefined) return undefined
  if (!/^\d{1,15}$/.test(raw)) throw invalid('before', "must be an event id (the previous page's next)")
  return Number(raw)
}

/**
 * @example
 * registerAuditRoutes(app, services) // GET /auth/events, GET /admin/audit
 */
export function registerAuditRoutes(app: FastifyInstance, s: Services): void {
  const { db, auth, guards } = s

  app.get('/auth/events', { schema: S.ownEvents, onRequest: guards.access }, async (request) => {
    const query = (request.query ?? {}) as Query
    onlyKnown(query, ['limit', 'before'])
    const limit = limitParam(query, 20, 50)
    const before = beforeParam(query)
    const userId = Number(auth.context(request).claims.sub)
    const page = await listAuditEvents(db, before === undefined ? { limit } : { limit, before }, { userId, types: OWN_EVENT_TYPES })
    return { events: page.rows.map(toPublicEvent), next: page.next } satisfies AuditEventList
  })

  app.get('/admin/audit', { schema: S.adminAudit, onRequest: guards.access }, async (request) => {
    await requireAdmin(s, request)
    const query = (request.query ?? {}) as Query
    onlyKnown(query, ADMIN_PARAMS)
    const limit = limitParam(query, 50, 100)
    const before = beforeParam(query)
    const filter = await adminFilter(s, query, s.audit.now())
    if (filter === null) return { events: [], limit, next: null } satisfies AuditPage
    const page = await listAuditEvents(db, before === undefined ? { limit } : { limit, before }, filter)
    return { events: page.rows.map(toPublicEvent), limit, next: page.next } satisfies AuditPage
  })
}
