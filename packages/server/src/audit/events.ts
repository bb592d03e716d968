/**
 * Reading the audit trail: pages of events newest first, by key (`before` = the last id of the previous
 * page), with the filters GET /admin/audit and `keycard audit` share, and the public shape of one event.
 */

import { toSeconds } from 'keycard'
import type { Kysely } from 'kysely'
import type { PublicAuditEvent } from '../api-types.ts'
import type { AuditEventRow, Database } from '../db/schema.ts'
import { findUserByLogin, maxUserId } from '../users.ts'
import type { AuditDetail, AuditEventType } from './log.ts'

/**
 * The event types a user sees of their own account (GET /auth/events, the account page): sign-ins,
 * sign-up, password changes, ended sessions, detected token theft and throttling.
 *
 * @example
 * OWN_EVENT_TYPES.includes('login.failed') // false: an attacker's guesses are the admin's business
 */
export const OWN_EVENT_TYPES: readonly AuditEventType[] = Object.freeze([
  'login.succeeded',
  'user.registered',
  'password.changed',
  'session.revoked',
  'logout.all',
  'refresh.reused',
  'throttle.tripped',
])

/**
 * Which events a page holds; every field optional.
 *
 * @example
 * const filter: AuditFilter = { userId: 7, types: ['login.succeeded'], since: nowSeconds() - 86400 }
 */
export interface AuditFilter {
  /** Events about this user id. */
  userId?: number
  /** Events whose username snapshot is this, exactly (a deleted user's, or a login name that never existed). */
  username?: string
  /** One type, or any of several. */
  types?: readonly AuditEventType[]
  /** Events at or after this epoch second. */
  since?: number
}

/**
 * @example
 * const { rows, next } = await listAuditEvents(db, { limit: 50 })
 */
export interface AuditPageRows {
  rows: AuditEventRow[]
  /** The `before` of the next page (this page's last id), or null when this is the last one. */
  next: number | null
}

/**
 * Seconds in a `since` duration (`24h`, `7d`, `3600`), or undefined when it is not one. Bounded
 * (at most nine digits and a unit), so the check is cheap whatever is sent.
 *
 * @example
 * sinceSeconds('24h') // 86400
 */
export function sinceSeconds(raw: string): number | undefined {
  return /^\d{1,9}[smhdw]?$/.test(raw) ? toSeconds(raw) : undefined
}

/**
 * The filter for "events of this user": an all-digit value is a user id; else a user that exists now is
 * matched by id (so events from before a rename are found too), and a name that names nobody by the
 * username recorded with the events (a deleted user, a guessed login). Null when it can match nothing.
 *
 * @example
 * const filter = await userFilter(db, 'alice') // { userId: 7 }
 */
export async function userFilter(db: Kysely<Database>, user: string): Promise<Pick<AuditFilter, 'userId' | 'username'> | null> {
  if (/^\d{1,15}$/.test(user)) return Number(user) > maxUserId(db) ? null : { userId: Number(user) }
  const found = await findUserByLogin(db, user)
  return found ? { userId: found.id } : { username: user }
}

/**
 * Up to `limit` events older than `before` (all when it is absent) that match `filter`, newest first.
 *
 * @example
 * const first = await listAuditEvents(db, { limit: 50 }, { types: ['login.failed'] })
 * const second = first.next === null ? undefined : await listAuditEvents(db, { limit: 50, before: first.next })
 */
export async function listAuditEvents(
  db: Kysely<Database>,
  page: { limit: number; before?: number },
  filter: AuditFilter = {},
): Promise<AuditPageRows> {
  let query = db.selectFrom('audit_events').selectAll()
  if (page.before !== undefined) query = query.where('id', '<', page.before)
  if (filter.userId !== undefined) query = query.where('user_id', '=', filter.userId)
  if (filter.username !== undefined) query = query.where('username', '=', filter.username)
  if (filter.types !== undefined) query = query.where('type', 'in', filter.types.length > 0 ? [...filter.types] : [''])
  if (filter.since !== undefined) query = query.where('at', '>=', filter.since)
  // One more than asked for says whether there is a next page.
  const rows = await query
    .orderBy('id', 'desc')
    .limit(page.limit + 1)
    .execute()
  const more = rows.length > page.limit
  if (more) rows.length = page.limit
  return { rows, next: more ? (rows[rows.length - 1]?.id ?? null) : null }
}

/**
 * A row as the API shows it (`at` in ISO 8601, `detail` parsed).
 *
 * @example
 * const body: AuditEventList = { events: rows.map(toPublicEvent), next }
 */
export function toPublicEvent(row: AuditEventRow): PublicAuditEvent {
  return {
    id: Number(row.id),
    at: new Date(Number(row.at) * 1000).toISOString(),
    type: row.type,
    user_id: row.user_id,
    username: row.username,
    session_id: row.session_id,
    address: row.address,
    user_agent: row.user_agent,
    actor_id: row.actor_id,
    detail: parseDetail(row.detail),
  }
}

/** The stored JSON object, or null (also for a row hand-written with something else in it). */
function parseDetail(raw: string | null): AuditDetail | null {
  if (raw === null) return null
  try {
    const value: unknown = JSON.parse(raw)
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as AuditDetail) : null
  } catch {
    return null
  }
}
