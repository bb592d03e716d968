/**
 * The PostgreSQL side of revocation propagation: one dedicated connection (not from the pool) that
 * LISTENs on the channels migration 0004's triggers notify (and, in keyring mode, 0005's), so every
 * instance hears every revocation, admin and signing-key change within milliseconds of its commit,
 * whoever wrote it.
 *
 * It also proves its view current. Every `heartbeatMs` it NOTIFYs a channel of its own; PostgreSQL
 * delivers notifications in commit order, so when that heartbeat comes back every revocation committed
 * before it was sent has arrived, and the view is confirmed as of the send. A connection that fails
 * (an error, the server gone, a heartbeat past the client's query timeout) is dropped and replaced, with
 * a backoff of 100 ms doubling to 2 s; on each new connection it LISTENs first, then has the caller
 * re-read the table (`resync`: what was committed while it was away), and only then trusts heartbeats.
 */

import { randomBytes } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import pg from 'pg'
import { ADMINS_CHANNEL, REVOCATIONS_CHANNEL } from './migrations/0004-revocation-notify.ts'
import { KEYS_CHANNEL, parseKeyNotification } from '../keys/notifications.ts'

/** The listener's `application_name` in pg_stat_activity (fault tests terminate it by this name). */
export const LISTENER_APPLICATION_NAME = 'keycard-listener'
const MIN_BACKOFF_MS = 100
const MAX_BACKOFF_MS = 2000
/** Heartbeats that may go unanswered before the listener counts as unhealthy (and the poll speeds up). */
const HEALTHY_BEATS = 3

/** What the listener tells its watchers (logs, tests). */
export type ListenerEvent =
  /** Listening, and the view resynced: notifications are trusted again. */
  | { type: 'listening' }
  /** The connection failed or could not be made; `reason` names why (no URL, no password). */
  | { type: 'listener-lost'; reason: string; retryInMs: number }
  /** A notification from another writer (or this one) was applied. */
  | { type: 'notified'; channel: 'revocations' | 'admins' | 'keys' }

export interface ListenerOptions {
  /** The pool's settings (db/postgres.ts `postgresClientConfig`); the listener gets its own application_name. */
  client: pg.ClientConfig
  /** How often to send a heartbeat, in ms. */
  heartbeatMs: number
  /** A session was revoked (by anyone): its id, and when its last token expires. */
  onRevoked(session: { id: string; expires_at: number }): void
  /** A user's admin flag changed, or the user was deleted (`admin` false). */
  onAdmin(userId: string, admin: boolean): void
  /**
   * Keyring mode: a signing key changed state (migration 0005's trigger); the channel is listened on
   * only when given. Called synchronously as the notification arrives, before later heartbeats.
   */
  onKey?(state: string, kid: string): void
  /**
   * Re-reads what may have been missed while not listening; called after LISTEN on every new
   * connection. Must read only what was committed after it was called; a rejection drops the connection.
   */
  resync(): Promise<void>
  /** Every revocation committed before `asOf` (a `performance.now()` time) has been applied. */
  onConfirmed(asOf: number): void
  onEvent?: (event: ListenerEvent) => void
}

/**
 * @example
 * const listener = new RevocationListener({ client: postgresClientConfig(url), heartbeatMs: 1000, … })
 * await listener.start() // listening, or retrying in the background
 * await listener.close()
 */
export class RevocationListener {
  readonly #options: ListenerOptions
  /** This instance's heartbeat channel: only it listens there. */
  readonly #heartbeat = `keycard_heartbeat_${randomBytes(8).toString('hex')}`
  /** The connection being set up or in use. */
  #client: pg.Client | undefined
  /** The same, once it has resynced: heartbeats are sent and trusted only then. */
  #live: pg.Client | undefined
  #seq = 0
  /** Heartbeats in flight: sequence number → `performance.now()` when sent. */
  readonly #sent = new Map<number, number>()
  /** `performance.now()` when the last heartbeat came back (or the view was resynced). */
  #heard = 0
  #backoff = MIN_BACKOFF_MS
  #beat: NodeJS.Timeout | undefined
  #retry: NodeJS.Timeout | undefined
  #closed = false

  constructor(options: ListenerOptions) {
    this.#options = options
  }

  /**
   * `true` while listening with a resynced view and heartbeats coming back (the poll may then slow
   * down). A connection that takes LISTEN but delivers nothing (a pooler in transaction mode) is not.
   */
  get healthy(): boolean {
    return this.#live !== undefined && performance.now() - this.#heard < HEALTHY_BEATS * this.#options.heartbeatMs
  }

  /** Connects once (resolving when listening, or when that failed and a retry is scheduled), then keeps heartbeats going. */
  async start(): Promise<void> {
    this.#beat = setInterval(() => this.#sendHeartbeat(), this.#options.heartbeatMs)
    this.#beat.unref()
    await this.#connect()
  }

  async close(): Promise<void> {
    this.#closed = true
    clearInterval(this.#beat)
    clearTimeout(this.#retry)
    const client = this.#client
    this.#client = undefined
    this.#live = undefined
    await client?.end().catch(() => undefined)
  }

  async #connect(): Promise<void> {
    if (this.#closed) return
    const client = new pg.Client({ ...this.#options.client, application_name: LISTENER_APPLICATION_NAME })
    this.#client = client
    // Listeners stay for the client's life: a late error of a dropped client must not crash the process.
    client.on('error', (err) => this.#lost(client, err))
    client.on('end', () => this.#lost(client, new Error('the connection was closed')))
    client.on('notification', (msg) => this.#notified(client, msg))
    try {
      await client.connect()
      const keys = this.#options.onKey ? ` listen ${KEYS_CHANNEL};` : ''
      await client.query(`listen ${REVOCATIONS_CHANNEL}; listen ${ADMINS_CHANNEL};${keys} listen ${this.#heartbeat}`)
      await this.#options.resync()
    } catch (err) {
      this.#lost(client, err)
      return
    }
    if (this.#client !== client) return
    this.#live = client
    this.#heard = performance.now()
    this.#backoff = MIN_BACKOFF_MS
    this.#options.onEvent?.({ type: 'listening' })
    this.#sendHeartbeat()
  }

  #lost(client: pg.Client, err: unknown): void {
    if (this.#client !== client || this.#closed) return
    this.#client = undefined
    this.#live = undefined
    this.#sent.clear()
    client.end().catch(() => undefined)
    const retryInMs = this.#backoff
    this.#backoff = Math.min(this.#backoff * 2, MAX_BACKOFF_MS)
    this.#options.onEvent?.({ type: 'listener-lost', reason: reasonOf(err), retryInMs })
    this.#retry = setTimeout(() => void this.#connect(), retryInMs)
    this.#retry.unref()
  }

  #sendHeartbeat(): void {
    const client = this.#live
    if (!client) return
    const seq = ++this.#seq
    this.#sent.set(seq, performance.now())
    client.query('select pg_notify($1, $2)', [this.#heartbeat, String(seq)]).catch((err: unknown) => this.#lost(client, err))
  }

  #notified(client: pg.Client, msg: pg.Notification): void {
    if (this.#client !== client) return
    const payload = msg.payload ?? ''
    const space = payload.lastIndexOf(' ')
    if (msg.channel === this.#heartbeat) {
      const seq = Number(payload)
      const sentAt = this.#sent.get(seq)
      if (sentAt === undefined || this.#live !== client) return
      for (const s of this.#sent.keys()) if (s <= seq) this.#sent.delete(s)
      this.#heard = performance.now()
      this.#options.onConfirmed(sentAt)
    } else if (msg.channel === REVOCATIONS_CHANNEL && space > 0) {
      this.#options.onRevoked({ id: payload.slice(0, space), expires_at: Number(payload.slice(space + 1)) })
      this.#options.onEvent?.({ type: 'notified', channel: 'revocations' })
    } else if (msg.channel === ADMINS_CHANNEL && space > 0) {
      this.#options.onAdmin(payload.slice(0, space), payload.slice(space + 1) === '1')
      this.#options.onEvent?.({ type: 'notified', channel: 'admins' })
    } else if (msg.channel === KEYS_CHANNEL && this.#options.onKey) {
      const key = parseKeyNotification(payload)
      if (!key) return
      this.#options.onKey(key.state, key.kid)
      this.#options.onEvent?.({ type: 'notified', channel: 'keys' })
    }
  }
}

/** A failure, said without anything from the connection string. */
function reasonOf(err: unknown): string {
  if (!(err instanceof Error)) return String(err)
  const code = (err as { code?: unknown }).code
  return typeof code === 'string' ? `${err.message} (${code})` : err.message
}
