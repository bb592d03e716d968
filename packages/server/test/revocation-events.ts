/**
 * What the revocation tests wait on instead of the clock: a recorder of the server's revocation events
 * (app.ts `onRevocationEvent`) and polls (`onSync`), with `next(predicate)` resolving on the first
 * matching event from now on. A test that waits for an event that never comes fails by its own
 * `timeout`, never by a sleep.
 */

import pg from 'pg'
import type { AppDeps, RevocationEvent } from '../src/app.ts'

export interface EventRecorder {
  /** Pass to startServer's `deps`. */
  deps: AppDeps
  /** Every event so far. */
  readonly seen: RevocationEvent[]
  /** Polls completed so far. */
  readonly polls: number
  /** The next event (after this call) that matches. */
  next<T extends RevocationEvent['type']>(
    type: T,
    where?: (e: Extract<RevocationEvent, { type: T }>) => boolean,
  ): Promise<Extract<RevocationEvent, { type: T }>>
  /** Resolves once `n` more polls have completed (two: the second began after whatever the caller just wrote). */
  polled(n?: number): Promise<void>
}

export function recordEvents(extra: AppDeps = {}): EventRecorder {
  const seen: RevocationEvent[] = []
  let polls = 0
  let waiters: { match: (e: RevocationEvent) => boolean; resolve: (e: RevocationEvent) => void }[] = []
  let pollWaiters: { left: number; resolve: () => void }[] = []
  const recorder: EventRecorder = {
    deps: {
      ...extra,
      onRevocationEvent: (e) => {
        seen.push(e)
        waiters = waiters.filter((w) => (w.match(e) ? (w.resolve(e), false) : true))
      },
      onSync: () => {
        polls++
        for (const w of pollWaiters) if (--w.left === 0) w.resolve()
        pollWaiters = pollWaiters.filter((w) => w.left > 0)
      },
    },
    seen,
    get polls() {
      return polls
    },
    next(type, where) {
      return new Promise((resolve) => {
        waiters.push({
          match: (e) => e.type === type && (where === undefined || where(e as never)),
          resolve: resolve as (e: RevocationEvent) => void,
        })
      })
    },
    polled(n = 2) {
      return new Promise((resolve) => pollWaiters.push({ left: n, resolve }))
    },
  }
  return recorder
}

/**
 * A plain client on `url` (another writer: hand-written SQL), ended by the caller.
 *
 * @example
 * const sqlClient = await connect(url); await sqlClient.query('update sessions set revoked_at = 1'); await sqlClient.end()
 */
export async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url })
  client.on('error', () => {}) // a fault test may kill the server under it
  await client.connect()
  return client
}
