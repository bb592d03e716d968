/**
 * The PostgreSQL `LISTEN` connection of the Kysely store. Kysely has no LISTEN API and a pool hands
 * out connections per query, so this holds one connection of its own: from a `pg.Pool` you pass (it
 * keeps one of its clients for as long as the store is open) or from a connection string (then `pg`
 * is imported on first use). On each connection it runs LISTEN first and then has the store reload
 * the table, so nothing committed between the two is missed; then a `select 1` every
 * `heartbeatInterval` proves the connection alive (notifications arrive in order on it, so a heartbeat
 * answered means every earlier commit's notification has been read). Any failure drops the connection
 * and reconnects with a short backoff.
 */

import { loadTimeout, within } from './timeout.ts'

/**
 * The part of a node-postgres client the listener uses (`pg.Client`, or a client from `pg.Pool#connect`).
 *
 * @example
 * const client: PgClientLike = await pool.connect()
 */
export interface PgClientLike {
  query(text: string): Promise<unknown>
  on(event: 'notification', listener: (message: { channel: string; payload?: string | undefined }) => void): unknown
  on(event: 'error', listener: (err: Error) => void): unknown
  on(event: 'end', listener: () => void): unknown
  end(): Promise<void> | void
  /** A pool's client: given back destroyed (`release(true)`) instead of ended. */
  release?(err?: Error | boolean): void
}

/**
 * Where the listener gets its connection: a `pg.Pool` (or anything with `connect()` giving a client),
 * or a PostgreSQL connection string.
 *
 * @example
 * const listen: PgListenSource = pool // or 'postgres://user:pass@host:5432/db'
 */
export type PgListenSource = string | { connect(): Promise<PgClientLike> }

/**
 * What the listener tells its store.
 *
 * @example
 * const hooks: ListenerHooks = { notify: (p) => {}, reload: async () => {}, resynced: () => {}, confirmed: () => {}, lost: () => {} }
 */
export interface ListenerHooks {
  notify(payload: string | undefined): void
  /** LISTEN is active: reload everything. */
  reload(): Promise<void>
  /** The reload is complete as of `asOf` (epoch ms) and the connection is still up: trust the view. */
  resynced(asOf: number): void
  /** A heartbeat sent at `asOf` (epoch ms) was answered. */
  confirmed(asOf: number): void
  lost(cause: unknown): void
}

/**
 * Timing of the listener, in milliseconds.
 *
 * @example
 * const timing: ListenerTiming = { heartbeatInterval: 1000, timeout: 5000, now: Date.now }
 */
export interface ListenerTiming {
  heartbeatInterval: number
  /** How long a connect, LISTEN or heartbeat may take before the connection is dropped. */
  timeout: number
  now: () => number
}

/** Gives a connection back without waiting: a stuck socket must not hold up the reconnect. */
function discard(client: PgClientLike): void {
  try {
    if (client.release) client.release(true)
    else Promise.resolve(client.end()).catch(() => {})
  } catch {
    // already released or ended
  }
}

/**
 * @example
 * const listener = new PgListener(pool, 'keycard_revocations', { heartbeatInterval: 1000, timeout: 5000, now: Date.now }, hooks)
 * listener.start()
 * // …
 * listener.close()
 */
export class PgListener {
  readonly #source: PgListenSource
  readonly #channel: string
  readonly #timing: ListenerTiming
  readonly #hooks: ListenerHooks
  #client: PgClientLike | undefined
  /** Bumped on every (re)connect: callbacks of an older connection are ignored. */
  #generation = 0
  #failures = 0
  #timer: NodeJS.Timeout | undefined
  #closed = false

  constructor(source: PgListenSource, channel: string, timing: ListenerTiming, hooks: ListenerHooks) {
    this.#source = source
    this.#channel = channel
    this.#timing = timing
    this.#hooks = hooks
  }

  start(): void {
    void this.#connect()
  }

  close(): void {
    this.#closed = true
    this.#generation++
    clearTimeout(this.#timer)
    if (this.#client) discard(this.#client)
    this.#client = undefined
  }

  async #open(): Promise<PgClientLike> {
    const { timeout } = this.#timing
    if (typeof this.#source !== 'string') return within(this.#source.connect(), timeout, 'connecting', discard)
    const { default: pg } = await import('pg')
    const client = new pg.Client({ connectionString: this.#source, connectionTimeoutMillis: timeout, keepAlive: true })
    client.on('error', () => {}) // errors during connect reject connect(); later ones are handled below
    await client.connect()
    return client
  }

  async #connect(): Promise<void> {
    if (this.#closed) return
    const generation = ++this.#generation
    let client: PgClientLike | undefined
    try {
      client = await this.#open()
      if (generation !== this.#generation) return discard(client)
      const opened = client
      opened.on('error', (err) => this.#drop(generation, err))
      opened.on('end', () => this.#drop(generation, new Error('the LISTEN connection ended')))
      opened.on('notification', (message) => {
        if (generation === this.#generation && message.channel === this.#channel) this.#hooks.notify(message.payload)
      })
      this.#client = opened
      await within(opened.query(`LISTEN "${this.#channel}"`), this.#timing.timeout, 'LISTEN')
      const listenedAt = this.#timing.now()
      await within(this.#hooks.reload(), loadTimeout(this.#timing.timeout), 'the reload')
      if (generation !== this.#generation) return // dropped meanwhile: the next connection reloads again
      this.#hooks.resynced(listenedAt)
      this.#failures = 0
      this.#schedule(generation)
    } catch (err) {
      if (client && this.#client !== client) discard(client)
      this.#drop(generation, err)
    }
  }

  #schedule(generation: number): void {
    this.#timer = setTimeout(() => this.#beat(generation), this.#timing.heartbeatInterval)
  }

  #beat(generation: number): void {
    const client = this.#client
    if (generation !== this.#generation || !client) return
    const sent = this.#timing.now()
    within(client.query('select 1'), this.#timing.timeout, 'a heartbeat').then(
      () => {
        if (generation !== this.#generation) return
        this.#hooks.confirmed(sent)
        this.#schedule(generation)
      },
      (err: unknown) => this.#drop(generation, err),
    )
  }

  /** Drops the connection of `generation` (once) and reconnects after a backoff. */
  #drop(generation: number, cause: unknown): void {
    if (generation !== this.#generation || this.#closed) return
    this.#generation++
    clearTimeout(this.#timer)
    if (this.#client) discard(this.#client)
    this.#client = undefined
    this.#hooks.lost(cause)
    const delay = Math.min(1000, 50 * 2 ** this.#failures++)
    this.#timer = setTimeout(() => void this.#connect(), delay)
  }
}
