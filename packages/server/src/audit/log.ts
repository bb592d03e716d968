/**
 * The audit trail: security events (sign-ups, sign-ins and failed ones, throttling, refresh-token reuse,
 * logouts, revoked sessions, password changes, admin actions, key rotation) as rows of `audit_events`
 * (migration 0007). Routes write them after the action has committed (or inside its transaction),
 * awaited: a failed write fails the request with a 503, it is never dropped.
 */

import type { FastifyRequest } from 'fastify'
import type { Kysely, Transaction } from 'kysely'
import { DatabaseUnavailableError } from '../db/errors.ts'
import type { Database } from '../db/schema.ts'
import { HttpError } from '../http-errors.ts'
import { nowSeconds } from '../revocations.ts'

/**
 * Every event type, in the order the README's table lists them.
 *
 * @example
 * AUDIT_EVENT_TYPES.includes('key.rotated') // true
 */
export const AUDIT_EVENT_TYPES = [
  'user.registered',
  'login.succeeded',
  'login.failed',
  'throttle.tripped',
  'refresh.reused',
  'logout',
  'logout.all',
  'session.revoked',
  'password.changed',
  'user.deleted',
  'user.created',
  'user.renamed',
  'key.rotated',
  'key.retired',
] as const

/**
 * What happened (see the server README, "Audit trail", for what each carries).
 *
 * @example
 * const type: AuditEventType = 'login.failed'
 */
export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number]

/**
 * `true` when `value` names an event type.
 *
 * @example
 * isAuditEventType('logout') // true
 */
export function isAuditEventType(value: string): value is AuditEventType {
  return (AUDIT_EVENT_TYPES as readonly string[]).includes(value)
}

/**
 * The scalars an event's `detail` may hold (it is stored as JSON).
 *
 * @example
 * const detail: AuditDetail = { via: 'cli', revoked_sessions: 2 }
 */
export type AuditDetail = Record<string, string | number | boolean | null>

/**
 * One event to record.
 *
 * @example
 * const event: AuditEvent = { type: 'logout', userId: 7, username: 'alice', sessionId: sid, ...requestContext(request) }
 */
export interface AuditEvent {
  type: AuditEventType
  userId?: number | null
  /** A snapshot of the login name (kept after the user is deleted); for login.failed, what was typed. */
  username?: string | null
  sessionId?: string | null
  /** The client address as Fastify's request.ip gives it (after TRUST_PROXY). */
  address?: string | null
  userAgent?: string | null
  /** The admin who acted, when not the user themself. */
  actorId?: number | null
  detail?: AuditDetail
}

/**
 * Longest stored values, in UTF-16 units (the column widths of 0007 are at least these in characters).
 *
 * @example
 * clip(typed, AUDIT_LIMITS.username)
 */
export const AUDIT_LIMITS = Object.freeze({ username: 254, userAgent: 512, address: 64, sessionId: 64 })

/**
 * `value` cut to at most `max` UTF-16 units, never between the halves of a surrogate pair.
 *
 * @example
 * clip('x'.repeat(600), 512).length // 512
 */
export function clip(value: string, max: number): string {
  if (value.length <= max) return value
  const code = value.charCodeAt(max - 1)
  return value.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max)
}

const clipped = (value: string | null | undefined, max: number) => (value == null ? null : clip(value, max))

/**
 * The address (request.ip, which TRUST_PROXY decides) and user agent of a request, trimmed to what is stored.
 *
 * @example
 * await s.audit.record({ type: 'logout', userId, sessionId: sid, ...requestContext(request) })
 */
export function requestContext(request: FastifyRequest): { address: string; userAgent: string | null } {
  let agent = request.headers['user-agent']
  if (Array.isArray(agent)) agent = agent[0]
  return { address: clip(request.ip ?? '', AUDIT_LIMITS.address), userAgent: clipped(agent, AUDIT_LIMITS.userAgent) }
}

/**
 * @example
 * new AuditLog(db, { now: () => 1_700_000_000 })
 */
export interface AuditLogOptions {
  /** The clock, epoch seconds (tests pass their own). */
  now?: () => number
}

/**
 * Writes audit events.
 *
 * @example
 * const audit = new AuditLog(db)
 * await audit.record({ type: 'user.deleted', userId: 7, username: 'bob', actorId: 1, detail: { via: 'api' } })
 */
export class AuditLog {
  readonly #db: Kysely<Database>
  readonly #now: () => number

  constructor(db: Kysely<Database>, options: AuditLogOptions = {}) {
    this.#db = db
    this.#now = options.now ?? nowSeconds
  }

  /** The log's clock, epoch seconds (what `since` and the retention purge count back from). */
  now(): number {
    return this.#now()
  }

  /**
   * Inserts one event; pass `trx` to write it inside a caller's transaction (then it commits or rolls
   * back with the action). A failure throws the database's 503 (DatabaseBusyError or
   * DatabaseUnavailableError; any other failure becomes DatabaseUnavailableError), never a 500.
   */
  async record(event: AuditEvent, trx?: Kysely<Database> | Transaction<Database>): Promise<void> {
    const row = {
      at: this.#now(),
      type: event.type,
      user_id: event.userId ?? null,
      username: clipped(event.username, AUDIT_LIMITS.username),
      session_id: clipped(event.sessionId, AUDIT_LIMITS.sessionId),
      address: clipped(event.address, AUDIT_LIMITS.address),
      user_agent: clipped(event.userAgent, AUDIT_LIMITS.userAgent),
      actor_id: event.actorId ?? null,
      detail: event.detail === undefined ? null : JSON.stringify(event.detail),
    }
    try {
      await (trx ?? this.#db).insertInto('audit_events').values(row).execute()
    } catch (err) {
      if (err instanceof HttpError) throw err
      throw new DatabaseUnavailableError('the audit event could not be written', { cause: err })
    }
  }
}
