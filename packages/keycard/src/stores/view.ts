/**
 * The local half of a shared revocation store: the revoked ids this process knows of, and how long it
 * may trust that list. `isRevoked` reads only memory (no await, no round trip); the store feeding it
 * calls `confirm(asOf)` each time it has proof that nothing revoked up to `asOf` is missing (a poll, a
 * heartbeat on the listening connection), `lost()` when revocations may have been missed (a dropped
 * connection) and `resynced(asOf)` once it has reloaded. Past `asOf + maxStaleness` an unknown id is
 * answered with a `StoreUnavailableError` instead of "not revoked" (fail closed); known ids stay revoked.
 */

import { EventEmitter } from 'node:events'
import { KeycardOptionError } from '../errors.ts'
import { StoreUnavailableError, type StoreUnavailableReason } from './errors.ts'

/**
 * The options every shared store takes.
 *
 * @example
 * const options: SharedStoreOptions = { maxStaleness: 5000, sweepInterval: 60_000, leeway: 0 }
 */
export interface SharedStoreOptions {
  /**
   * How long (ms) the store may go without confirming its view before it fails closed: `isRevoked`
   * then throws `StoreUnavailableError` for every id it does not know to be revoked. Default 5000.
   */
  maxStaleness?: number
  /** How often (ms) expired entries are dropped, locally and from the backend; 0 for never. Default 60000. */
  sweepInterval?: number
  /** Seconds an entry is kept past its token's `exp`: set it to keycard's `leeway`. Default 0. */
  leeway?: number
  /** Clock in epoch seconds (fractional), for tests. */
  now?: () => number
}

/**
 * `syncing` before the first load, `live` while confirmed within `maxStaleness`, `stale` past it
 * (failing closed until it has resynced), `closed` after `close()`.
 *
 * @example
 * if (store.status.state !== 'live') reply.code(503)
 */
export type StoreState = 'syncing' | 'live' | 'stale' | 'closed'

/**
 * A store's health, for a health check.
 *
 * @example
 * const { state, confirmedAt, size } = store.status
 */
export interface StoreStatus {
  state: StoreState
  /** When the view was last confirmed complete (epoch ms), or null before the first sync. */
  confirmedAt: number | null
  /** Whether the store is connected and synced (false from a lost connection until the resync). */
  synced: boolean
  /** Revoked ids held in memory. */
  size: number
}

/**
 * The events a shared store emits: `live` (synced and confirmed: after start-up and after every resync), `stale`
 * (past `maxStaleness`: failing closed), `disconnected` (the backend was lost; still trusted until
 * the bound), `revoked` (an id entered the local view, from this process or another).
 *
 * @example
 * store.on('stale', (err) => log.warn(err.message))
 */
export interface StoreEvents {
  live: []
  stale: [error: StoreUnavailableError]
  disconnected: [cause: unknown]
  revoked: [jti: string]
}

/**
 * Options resolved and checked once.
 *
 * @example
 * const { maxStaleness, now } = resolveShared({})
 */
export interface ResolvedShared {
  maxStaleness: number
  sweepInterval: number
  leeway: number
  now: () => number
}

/**
 * Checks a non-negative number option (milliseconds or seconds), throwing a message that says how to fix it.
 *
 * @example
 * const poll = checkNumber('pollInterval', options.pollInterval, 1000, 1)
 */
export function checkNumber(option: string, value: unknown, fallback: number, min = 0): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min)
    throw new KeycardOptionError(option, `expected a finite number ≥ ${min}, got ${JSON.stringify(value)}.`)
  return value
}

/**
 * Checks the options every shared store takes.
 *
 * @example
 * const shared = resolveShared({ maxStaleness: 2000 })
 */
export function resolveShared(options: SharedStoreOptions): ResolvedShared {
  if (options.now !== undefined && typeof options.now !== 'function')
    throw new KeycardOptionError('now', 'expected a function returning epoch seconds.')
  return {
    maxStaleness: checkNumber('maxStaleness', options.maxStaleness, 5000, 1),
    sweepInterval: checkNumber('sweepInterval', options.sweepInterval, 60_000),
    leeway: checkNumber('leeway', options.leeway, 0),
    now: options.now ?? (() => Date.now() / 1000),
  }
}

/**
 * The in-memory view and its staleness clock (see the module comment).
 *
 * @example
 * const view = new RevocationView(resolveShared({}))
 * view.add('a-jti', null)
 * view.resynced(Date.now())
 * view.isRevoked('a-jti') // true
 */
export class RevocationView extends EventEmitter<StoreEvents> {
  readonly #entries = new Map<string, number>()
  readonly #options: ResolvedShared
  /** Epoch ms past which the view is not trusted. */
  #deadline = Number.NEGATIVE_INFINITY
  #confirmedAt: number | null = null
  #synced = false
  #state: StoreState = 'syncing'
  #staleTimer: NodeJS.Timeout | undefined

  constructor(options: ResolvedShared) {
    super()
    this.#options = options
  }

  /** `true` when known revoked; `false` only while confirmed within the bound; throws otherwise. */
  isRevoked(jti: string): boolean {
    if (this.#entries.has(jti)) return true
    if (this.#state === 'live' && this.#options.now() * 1000 <= this.#deadline) return false
    throw this.unavailable()
  }

  /** The error for a refused answer now (and the switch to `stale` if the bound has just passed). */
  unavailable(): StoreUnavailableError {
    let reason: StoreUnavailableReason = 'stale'
    if (this.#state === 'closed') reason = 'closed'
    else if (this.#confirmedAt === null) reason = 'not-synced'
    const error = this.error(reason)
    if (this.#state === 'live') this.#goStale(error)
    return error
  }

  /** A `StoreUnavailableError` with this store's `Retry-After`. */
  error(reason: StoreUnavailableReason, cause?: unknown): StoreUnavailableError {
    return new StoreUnavailableError(reason, this.#options.maxStaleness / 1000, cause === undefined ? undefined : { cause })
  }

  /** Adds a revoked id (unless its token has expired past the leeway); `true` if it was new. */
  add(jti: string, expiresAt: number | null): boolean {
    const until = expiresAt === null ? Number.POSITIVE_INFINITY : expiresAt
    if (until + this.#options.leeway <= this.#options.now()) return false
    const known = this.#entries.get(jti)
    if (known !== undefined && known >= until) return false
    this.#entries.set(jti, until)
    if (known === undefined) this.emit('revoked', jti)
    return known === undefined
  }

  /** Nothing revoked up to `asOf` (epoch ms) is missing, if the view is synced: extends the bound. */
  confirm(asOf: number): void {
    if (!this.#synced || this.#state === 'closed') return
    this.#extend(asOf)
    if (this.#state === 'stale' && this.#options.now() * 1000 <= this.#deadline) this.#goLive()
  }

  /** Revocations may have been missed from now on (the connection dropped): only a resync restores trust. */
  lost(cause: unknown): void {
    if (this.#state === 'closed') return
    const was = this.#synced
    this.#synced = false
    if (was) this.emit('disconnected', cause)
  }

  /** The view has been reloaded completely as of `asOf` (epoch ms): emits `live` if within the bound. */
  resynced(asOf: number): void {
    if (this.#state === 'closed') return
    this.#synced = true
    this.#extend(asOf)
    if (this.#options.now() * 1000 <= this.#deadline) this.#goLive()
  }

  get synced(): boolean {
    return this.#synced
  }

  get status(): StoreStatus {
    // Reading the status notices a bound that passed with no request to notice it.
    if (this.#state === 'live' && this.#options.now() * 1000 > this.#deadline) this.#goStale(this.error('stale'))
    return { state: this.#state, confirmedAt: this.#confirmedAt, synced: this.#synced, size: this.#entries.size }
  }

  /** Drops the entries whose token expired more than `leeway` before `now` (epoch seconds); returns how many. */
  sweep(now = this.#options.now()): number {
    const cutoff = now - this.#options.leeway
    let dropped = 0
    for (const [jti, until] of this.#entries) {
      if (until <= cutoff) {
        this.#entries.delete(jti)
        dropped++
      }
    }
    return dropped
  }

  /** Resolves once live; rejects with a `StoreUnavailableError` if not live within `timeout` ms. */
  ready(timeout: number): Promise<void> {
    if (this.#state === 'live') return Promise.resolve()
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('live', onLive)
        reject(this.error(this.#state === 'closed' ? 'closed' : this.#confirmedAt === null ? 'not-synced' : 'stale'))
      }, timeout)
      const onLive = () => {
        clearTimeout(timer)
        resolve()
      }
      this.once('live', onLive)
    })
  }

  close(): void {
    this.#state = 'closed'
    this.#synced = false
    clearTimeout(this.#staleTimer)
    this.#staleTimer = undefined
  }

  #extend(asOf: number): void {
    const deadline = asOf + this.#options.maxStaleness
    if (deadline <= this.#deadline) return
    this.#deadline = deadline
    this.#confirmedAt = asOf
    this.#arm()
  }

  #goLive(): void {
    this.#state = 'live'
    this.emit('live')
  }

  #goStale(error: StoreUnavailableError): void {
    this.#state = 'stale'
    this.emit('stale', error)
  }

  /** One timer at a time: it re-checks the deadline when it fires, so confirmations never re-arm it. */
  #arm(): void {
    if (this.#staleTimer !== undefined) return
    const wait = Math.max(1, this.#deadline - this.#options.now() * 1000 + 1)
    this.#staleTimer = setTimeout(() => {
      this.#staleTimer = undefined
      if (this.#state !== 'live') return
      if (this.#options.now() * 1000 > this.#deadline) this.#goStale(this.error('stale'))
      else this.#arm()
    }, wait)
    this.#staleTimer.unref()
  }
}
