/**
 * Whether this instance's in-memory revocation state may be trusted: it is *confirmed as of* a moment
 * when it is known to hold every revocation committed before that moment (a poll of the table that
 * began then, or a LISTEN/NOTIFY heartbeat sent then and received back, see db/listener.ts). Past
 * `maxStalenessMs` without a new confirmation the view is stale, and every token-checked request is
 * answered 503 (`staleBody`) until it is confirmed again: failing closed, never "not revoked" on a
 * guess.
 *
 * Times are `performance.now()` milliseconds: monotonic, and not the `Date` that tests freeze.
 */

import { performance } from 'node:perf_hooks'

/** What a stale view answers, with `Retry-After: STALE_RETRY_AFTER`. */
export const STALE_MESSAGE = 'This instance cannot confirm its revocation list is current (the database is unreachable); retry in a moment'
export const STALE_RETRY_AFTER = 1

/** What the view tells its watchers (logs, tests). */
export type ViewEvent =
  /** Confirmed again; `wasStale` when it had been stale (the instance recovers). */
  | { type: 'confirmed'; via: 'poll' | 'heartbeat'; asOf: number; wasStale: boolean }
  /** Past the bound without a confirmation: token-checked requests now answer 503. */
  | { type: 'stale'; sinceMs: number }

export interface RevocationViewOptions {
  /** How long a confirmation holds (REVOCATION_MAX_STALENESS, in ms). */
  maxStalenessMs: number
  /** Told of every event (app.ts logs them; tests wait on them). */
  onEvent?: (event: ViewEvent) => void
}

/**
 * @example
 * const view = new RevocationView({ maxStalenessMs: 5000 })
 * view.confirm(performance.now()) // after a full read of the revocations
 * if (view.isStale()) reply.code(503).send({ msg: STALE_MESSAGE, code: 'REVOCATION_VIEW_STALE' })
 */
export class RevocationView {
  readonly maxStalenessMs: number
  /** `performance.now()` past which the view is stale: the one number the hot path compares. */
  #deadline: number
  #confirmedAt: number
  #stale = false
  #timer: NodeJS.Timeout | undefined
  readonly #onEvent: ((event: ViewEvent) => void) | undefined

  /** Starts confirmed as of now: the caller has just loaded the revocations. */
  constructor(options: RevocationViewOptions) {
    this.maxStalenessMs = options.maxStalenessMs
    this.#onEvent = options.onEvent
    this.#confirmedAt = performance.now()
    this.#deadline = this.#confirmedAt + this.maxStalenessMs
    this.#arm()
  }

  /** `true` when the view has not been confirmed within the bound. Cheap: one clock read, one comparison. */
  isStale(): boolean {
    return performance.now() > this.#deadline
  }

  /** Milliseconds since the moment the view was last confirmed as of. */
  get ageMs(): number {
    return performance.now() - this.#confirmedAt
  }

  /** Records that every revocation committed before `asOf` (a `performance.now()` time) is known. */
  confirm(asOf: number, via: 'poll' | 'heartbeat'): void {
    if (asOf <= this.#confirmedAt) return
    this.#confirmedAt = asOf
    this.#deadline = asOf + this.maxStalenessMs
    const wasStale = this.#stale
    this.#stale = false
    this.#arm()
    this.#onEvent?.({ type: 'confirmed', via, asOf, wasStale })
  }

  /** Stops the timer (the app is closing). */
  close(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
  }

  /** A timer for the moment the view goes stale, so that it is told (and logged) even with no request coming. */
  #arm(): void {
    const wait = Math.max(0, this.#deadline - performance.now()) + 1
    // A new timer per confirmation (about one a second): refresh() would keep the first delay.
    clearTimeout(this.#timer)
    this.#timer = setTimeout(() => this.#check(), wait)
    this.#timer.unref()
  }

  #check(): void {
    this.#timer = undefined
    if (!this.isStale()) {
      this.#arm()
      return
    }
    if (this.#stale) return
    this.#stale = true
    this.#onEvent?.({ type: 'stale', sinceMs: this.ageMs })
  }
}
