/**
 * Keeps this instance's revocation state (revocations.ts) and admin set (admins.ts) current with what
 * other processes write, and its view confirmed (revocation-view.ts):
 *
 * - PostgreSQL: LISTEN/NOTIFY (db/listener.ts) applies every revocation and admin change as it commits
 *   and confirms the view about once a second by heartbeat; the poll below stays as the fallback, every
 *   `slowPollMs` while the listener is healthy and every `pollMs` while it is not.
 * - SQLite: the poll alone, every `pollMs` (about a second), so two processes on one file learn of each
 *   other's logouts within about a second.
 *
 * A poll re-reads the sessions revoked since the start of the last successful poll, less `marginSeconds`
 * (a `revoked_at` is computed in JS before its statement may wait for a lock, so it can be older than
 * its commit), and the whole admin set; when it succeeds, the view is confirmed as of its start.
 *
 * In keyring mode the same machinery carries signing-key changes (keys/key-sync.ts): the listener hands
 * every key notification over, and every poll also reads the small `signing_keys` table, so a
 * confirmed view covers key retirements as it covers revocations.
 */

import { performance } from 'node:perf_hooks'
import type { FastifyBaseLogger } from 'fastify'
import type { Kysely } from 'kysely'
import type { Admins } from './admins.ts'
import { type ListenerEvent, RevocationListener } from './db/listener.ts'
import type { ClientConfig } from 'pg'
import type { Database } from './db/schema.ts'
import type { RevocationView, ViewEvent } from './revocation-view.ts'
import { nowSeconds, type Revocations } from './revocations.ts'

/** Everything the sync reports: the view's events, the listener's, and failed polls. */
export type RevocationEvent = ViewEvent | ListenerEvent | { type: 'poll-failed'; err: unknown }

export interface RevocationSyncOptions {
  db: Kysely<Database>
  revocations: Revocations
  admins: Admins
  view: RevocationView
  /** Seconds a poll looks back before the last one's start (see above). */
  marginSeconds: number
  /** The poll's interval on SQLite, and on PostgreSQL while the listener is not healthy (ms). */
  pollMs: number
  /** The poll's interval on PostgreSQL while the listener is healthy (ms). */
  slowPollMs: number
  /** PostgreSQL: the listener's connection settings and heartbeat interval; undefined on SQLite. */
  listen?: { client: ClientConfig; heartbeatMs: number }
  /** Keyring mode: what keeps the keycard's keys current (keys/key-sync.ts `KeySync`). */
  keys?: { notified(state: string, kid: string): void; poll(db: Kysely<Database>): Promise<void> }
  /** When the state was loaded (epoch seconds): the first poll looks back from there. */
  loadedAt: number
  /** After each successful poll (tests wait on it). */
  onSync?: () => void
  /** Told, for each revocation a poll learned of that this instance did not know, the seconds since its revoked_at (metrics). */
  onLearned?: (lagSeconds: number) => void
  onEvent?: (event: RevocationEvent) => void
}

/**
 * @example
 * const sync = new RevocationSync({ db, revocations, admins, view, marginSeconds: 6, pollMs: 1000, slowPollMs: 5000, loadedAt })
 * await sync.start()
 * // … on close:
 * await sync.close()
 */
export class RevocationSync {
  readonly #o: RevocationSyncOptions
  readonly #listener: RevocationListener | undefined
  /** Epoch seconds at which the last successful poll started. */
  #since: number
  /** `performance.now()` of the same. */
  #lastPoll = performance.now()
  /** The poll in flight (or the last one), which the next one waits for. */
  #queue: Promise<void> = Promise.resolve()
  #inFlight = 0
  #timer: NodeJS.Timeout | undefined

  constructor(options: RevocationSyncOptions) {
    this.#o = options
    this.#since = options.loadedAt
    const { revocations, admins, view, keys } = options
    this.#listener = options.listen
      ? new RevocationListener({
          client: options.listen.client,
          heartbeatMs: options.listen.heartbeatMs,
          onRevoked: (session) => revocations.add([session]),
          onAdmin: (userId, admin) => admins.set(userId, admin),
          ...(keys ? { onKey: (state: string, kid: string) => keys.notified(state, kid) } : {}),
          resync: () => this.poll(),
          onConfirmed: (asOf) => view.confirm(asOf, 'heartbeat'),
          ...(options.onEvent ? { onEvent: options.onEvent } : {}),
        })
      : undefined
  }

  /** `true` while LISTEN/NOTIFY is healthy (PostgreSQL). */
  get listening(): boolean {
    return this.#listener?.healthy ?? false
  }

  /** Starts the poll timer and, on PostgreSQL, the listener (resolving once it listens, or once its first attempt failed). */
  async start(): Promise<void> {
    this.#timer = setInterval(() => this.#tick(), this.#o.pollMs)
    this.#timer.unref()
    await this.#listener?.start()
  }

  async close(): Promise<void> {
    clearInterval(this.#timer)
    await this.#listener?.close()
    await this.#queue
  }

  /** A poll that starts after every earlier one has ended; rejects when it fails. */
  poll(): Promise<void> {
    this.#inFlight++
    const run = this.#queue.then(() => this.#pollOnce())
    const settled = run.finally(() => this.#inFlight--)
    this.#queue = settled.catch(() => undefined)
    return settled
  }

  #tick(): void {
    if (this.#inFlight > 0) return // a slow database: do not queue polls behind it
    if (this.listening && performance.now() - this.#lastPoll < this.#o.slowPollMs) return
    this.poll().catch((err: unknown) => this.#o.onEvent?.({ type: 'poll-failed', err }))
  }

  async #pollOnce(): Promise<void> {
    const { db, revocations, admins, view, marginSeconds, keys } = this.#o
    const startedAt = performance.now()
    const startedWall = nowSeconds()
    await Promise.all([revocations.sync(db, this.#since - marginSeconds, undefined, this.#o.onLearned), admins.reload(db), keys?.poll(db)])
    this.#since = startedWall
    this.#lastPoll = startedAt
    view.confirm(startedAt, 'poll')
    this.#o.onSync?.()
  }
}

/**
 * Logs what the revocation machinery reports: failures once when they start (then at debug), and the recovery.
 *
 * @example
 * new RevocationSync({ ...options, onEvent: revocationEventLogger(app.log, config.revocationMaxStaleness) })
 */
export function revocationEventLogger(log: FastifyBaseLogger, maxStaleness: number): (event: RevocationEvent) => void {
  let pollFailing = false
  let listenerDown = false
  return (e) => {
    if (e.type === 'stale')
      log.error(
        { staleMs: Math.round(e.sinceMs) },
        `revocation view stale: not confirmed for over REVOCATION_MAX_STALENESS (${maxStaleness}s); token-checked requests answer 503 until it is`,
      )
    else if (e.type === 'confirmed' && e.wasStale)
      log.warn({ via: e.via }, 'revocation view confirmed again: token-checked requests are served again')
    else if (e.type === 'confirmed' && e.via === 'poll' && pollFailing) {
      pollFailing = false
      log.info('reading revocations works again')
    } else if (e.type === 'poll-failed') {
      log[pollFailing ? 'debug' : 'error']({ err: e.err }, 'reading revocations failed (retrying every poll)')
      pollFailing = true
    } else if (e.type === 'listener-lost') {
      log[listenerDown ? 'debug' : 'warn'](
        { reason: e.reason, retryInMs: e.retryInMs },
        'the revocation listener (LISTEN/NOTIFY) lost its connection: reconnecting, and polling every second meanwhile',
      )
      listenerDown = true
    } else if (e.type === 'listening') {
      log.info(listenerDown ? 'the revocation listener is back (LISTEN/NOTIFY), resynced' : 'listening for revocations (LISTEN/NOTIFY)')
      listenerDown = false
    }
  }
}
