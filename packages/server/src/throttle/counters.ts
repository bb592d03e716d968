/**
 * Fixed-window counters in `throttle_counters` (migration 0006). An attempt first reserves a slot on
 * each of its keys (pending + 1, one upsert for all keys), is refused when a key is over its limit (the
 * slot released at once), and otherwise settles once it is decided (pending − 1, failures + 1 when it
 * failed). Every change is a single atomic statement, so instances on one database share the counts
 * exactly; a row whose window has passed restarts at zero, which also clears what a crash left pending.
 */

import { setImmediate as nextTurn } from 'node:timers/promises'
import { CompiledQuery, type Kysely, sql } from 'kysely'
import { DatabaseUnavailableError } from '../db/errors.ts'
import type { Database } from '../db/schema.ts'
import { HttpError } from '../http-errors.ts'
import type { Limit, LimitKind } from './limits.ts'

/**
 * One key an attempt is counted on, with the limit that applies to it.
 *
 * @example
 * const key: CounterKey = { key: 'address:192.0.2.1', kind: 'address', limit: { max: 100, window: 3600 } }
 */
export interface CounterKey {
  key: string
  kind: LimitKind
  limit: Limit
}

/**
 * A slot held on one key: the window it was taken in (settling in a later window leaves that window's
 * pending count alone).
 *
 * @example
 * const held: HeldSlot = { key: 'device:ab12…', windowStart: 1_700_000_000 }
 */
export interface HeldSlot {
  key: string
  windowStart: number
}

/**
 * What `reserve` decided: slots held on every key, or a refusal with the seconds to wait
 * (Retry-After), the kind that refused, and the kinds that refused for the first time in their window.
 *
 * @example
 * const r = await counters.reserve(keys)
 * if (!r.allowed) reply.header('retry-after', String(r.retryAfter))
 */
export type Reservation =
  | { allowed: true; held: HeldSlot[] }
  | { allowed: false; retryAfter: number; limiting: LimitKind; firstTrips: { kind: LimitKind; retryAfter: number }[] }

/**
 * @example
 * new ThrottleCounters(db, { burst: 10, now: () => 1_700_000_000 })
 */
export interface CountersOptions {
  /** Attempts allowed in flight past a limit (THROTTLE_BURST). */
  burst: number
  /** The clock, epoch seconds (tests pass their own). */
  now?: () => number
}

/** A row of throttle_counters as the upserts write and return it. */
type CounterRow = { key: string; window_start: number; failures: number; pending: number; tripped: number }

/** Rows one purge statement deletes. */
const PURGE_BATCH = 1000

/**
 * The 503 for a failed throttle statement: a busy or lost database keeps its own 503; anything else
 * (a missing table, a destroyed pool) becomes DatabaseUnavailableError, never a 500, and never lets the
 * attempt through unthrottled.
 */
function unavailable(err: unknown): HttpError {
  if (err instanceof HttpError) return err
  return new DatabaseUnavailableError('the sign-in throttle could not be read or updated', { cause: err })
}

const epochSeconds = () => Math.floor(Date.now() / 1000)

/**
 * The throttle's counters on one database.
 *
 * @example
 * const counters = new ThrottleCounters(db, { burst: 10 })
 * const r = await counters.reserve([{ key: 'address:192.0.2.1', kind: 'address', limit: { max: 100, window: 3600 } }])
 * if (r.allowed) await counters.settle(r.held, false)
 */
export class ThrottleCounters {
  readonly #db: Kysely<Database>
  readonly #burst: number
  readonly #now: () => number
  /** The upserts' SQL by kind and row count. */
  readonly #sql = new Map<string, string>()

  constructor(db: Kysely<Database>, options: CountersOptions) {
    this.#db = db
    this.#burst = options.burst
    this.#now = options.now ?? epochSeconds
  }

  /** The counters' clock, epoch seconds. */
  now(): number {
    return Math.floor(this.#now())
  }

  /**
   * Reserves a slot on every key (in one statement), then decides: refused when, on any key, the
   * failures have reached the limit or failures + pending (this attempt included) exceed limit + burst.
   * A refused attempt releases its slots before this returns.
   */
  async reserve(keys: readonly CounterKey[]): Promise<Reservation> {
    if (keys.length === 0) return { allowed: true, held: [] }
    const now = this.now()
    // Sorted, so that two statements on PostgreSQL lock shared rows in the same order (no deadlock).
    const sorted = [...keys].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    let rows: CounterRow[]
    try {
      rows = await this.#upsert(
        'reserve',
        sorted.map((k) => ({ key: k.key, window_start: windowStart(now, k.limit), failures: 0, pending: 1, tripped: 0 })),
      )
    } catch (err) {
      throw unavailable(err)
    }
    const byKey = new Map(rows.map((r) => [r.key, r]))
    const held: HeldSlot[] = []
    const refusing: { key: CounterKey; windowStart: number; retryAfter: number; tripped: boolean }[] = []
    for (const k of sorted) {
      const row = byKey.get(k.key)
      if (!row) throw unavailable(new Error(`the upsert returned no row for a ${k.kind} key`))
      const start = Number(row.window_start)
      held.push({ key: k.key, windowStart: start })
      const failures = Number(row.failures)
      if (failures >= k.limit.max || failures + Number(row.pending) > k.limit.max + this.#burst)
        refusing.push({
          key: k,
          windowStart: start,
          retryAfter: Math.max(1, start + k.limit.window - now),
          tripped: Number(row.tripped) !== 0,
        })
    }
    if (refusing.length === 0) return { allowed: true, held }
    const firstTrips: { kind: LimitKind; retryAfter: number }[] = []
    for (const r of refusing)
      if (!r.tripped && (await this.#trip(r.key.key, r.windowStart))) firstTrips.push({ kind: r.key.kind, retryAfter: r.retryAfter })
    await this.settle(held, false)
    const limiting = refusing.reduce((a, b) => (b.retryAfter > a.retryAfter ? b : a))
    return { allowed: false, retryAfter: limiting.retryAfter, limiting: limiting.key.kind, firstTrips }
  }

  /**
   * Sets the key's `tripped` flag for its window; true only for the one call that set it (so however
   * many attempts are refused at once, and on however many instances, one event is recorded).
   */
  async #trip(key: string, start: number): Promise<boolean> {
    try {
      const result = await this.#db
        .updateTable('throttle_counters')
        .set({ tripped: 1 })
        .where('key', '=', key)
        .where('window_start', '=', start)
        .where('tripped', '=', 0)
        .executeTakeFirst()
      return Number(result.numUpdatedRows) === 1
    } catch (err) {
      throw unavailable(err)
    }
  }

  /**
   * Gives back the slots (pending − 1 on each, in the window it was taken in) and, when `failed`, counts
   * a failure on each key (in whatever window the row is in now).
   */
  async settle(held: readonly HeldSlot[], failed: boolean): Promise<void> {
    if (held.length === 0) return
    try {
      // An upsert too (rows in key order, as reserve locks them); a row purged meanwhile comes back
      // holding just this failure.
      await this.#upsert(
        'settle',
        held.map((h) => ({ key: h.key, window_start: h.windowStart, failures: failed ? 1 : 0, pending: 0, tripped: 0 })),
      )
    } catch (err) {
      throw unavailable(err)
    }
  }

  /**
   * Runs the reserve or settle upsert for `rows`. Its SQL is built by Kysely once per kind and row
   * count, then run with each call's parameters: no query building on every login.
   */
  async #upsert(kind: 'reserve' | 'settle', rows: CounterRow[]): Promise<CounterRow[]> {
    const params = rows.flatMap((r) => [r.key, r.window_start, r.failures, r.pending, r.tripped])
    const cacheKey = `${kind}:${rows.length}`
    let text = this.#sql.get(cacheKey)
    if (text === undefined) {
      const compiled = (kind === 'reserve' ? this.#reserveQuery(rows) : this.#settleQuery(rows)).compile()
      // The cached text is only valid if Kysely bound exactly these values, in this order.
      if (JSON.stringify(compiled.parameters) !== JSON.stringify(params)) throw new Error('unexpected parameters in the throttle upsert')
      text = compiled.sql
      this.#sql.set(cacheKey, text)
    }
    return (await this.#db.executeQuery<CounterRow>(CompiledQuery.raw(text, params))).rows
  }

  /** pending + 1 on each key; a row of an older window restarts at zero. */
  #reserveQuery(rows: CounterRow[]) {
    const stale = sql`throttle_counters.window_start < excluded.window_start`
    return this.#db
      .insertInto('throttle_counters')
      .values(rows)
      .onConflict((oc) =>
        oc.column('key').doUpdateSet({
          failures: sql`case when ${stale} then 0 else throttle_counters.failures end`,
          pending: sql`case when ${stale} then 1 else throttle_counters.pending + 1 end`,
          tripped: sql`case when ${stale} then 0 else throttle_counters.tripped end`,
          window_start: sql`case when ${stale} then excluded.window_start else throttle_counters.window_start end`,
        }),
      )
      .returning(['key', 'window_start', 'failures', 'pending', 'tripped'])
  }

  /** pending − 1 on each key (in the window it was taken in), failures + the row's failures. */
  #settleQuery(rows: CounterRow[]) {
    const same = sql`throttle_counters.window_start = excluded.window_start`
    return this.#db
      .insertInto('throttle_counters')
      .values(rows)
      .onConflict((oc) =>
        oc.column('key').doUpdateSet({
          pending: sql`case when ${same} and throttle_counters.pending > 0 then throttle_counters.pending - 1 else throttle_counters.pending end`,
          failures: sql`throttle_counters.failures + excluded.failures`,
        }),
      )
  }
}

/**
 * The start of the fixed window `now` falls in.
 *
 * @example
 * windowStart(7250, { max: 5, window: 3600 }) // 7200
 */
export function windowStart(now: number, limit: Limit): number {
  return Math.floor(now / limit.window) * limit.window
}

/**
 * Deletes the counters whose window began before `cutoff` (pass now minus the longest window: those
 * have certainly ended), `batch` rows per statement; returns how many.
 *
 * @example
 * await purgeCounters(db, nowSeconds() - 3600)
 */
export async function purgeCounters(db: Kysely<Database>, cutoff: number, batch: number = PURGE_BATCH): Promise<number> {
  let rows = 0
  for (;;) {
    const { numDeletedRows } = await db
      .deleteFrom('throttle_counters')
      .where('key', 'in', (eb) => eb.selectFrom('throttle_counters').select('key').where('window_start', '<', cutoff).limit(batch))
      .executeTakeFirst()
    const deleted = Number(numDeletedRows)
    rows += deleted
    if (deleted < batch) return rows
    await nextTurn()
  }
}
