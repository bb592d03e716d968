/**
 * `keycard/stores/redis`: a RevocationStore in Redis, shared by every process on that Redis. Each
 * revocation is a key `<prefix><jti>` that expires with its token (`SET … EXAT exp`), written in one
 * MULTI with a PUBLISH; every store subscribes and keeps the ids in memory, so `isRevoked` answers
 * synchronously with no round trip. The subscription is proven alive by a PING every
 * `heartbeatInterval` (pub/sub messages and the PONG arrive in order on that connection); when it
 * drops, the store resubscribes and then reloads the keys (SCAN) before it trusts itself again, and past
 * `maxStaleness` without that proof it fails closed (`StoreUnavailableError`), never "not revoked".
 *
 * The client is ioredis (an optional peer): one package with its types, auto-reconnect and a
 * `duplicate()` for the subscriber connection; node-redis splits into @redis/* packages and its v4+
 * subscriber API differs per major. Use a standalone Redis or Sentinel (not Cluster: SCAN is per node),
 * with persistence if revocations must survive a Redis restart (the stores keep what they knew).
 *
 * @example
 * import { Redis } from 'ioredis'
 * import { RedisRevocationStore } from 'keycard/stores/redis'
 * const store = await new RedisRevocationStore({ client: new Redis(process.env.REDIS_URL!) }).ready()
 * const keycard = await createKeycard({ secret, revocationStore: store })
 */

import type { Redis } from 'ioredis'
import { KeycardOptionError } from '../errors.ts'
import { notification, parseNotification } from './payload.ts'
import { SharedRevocationStore } from './shared-store.ts'
import { loadTimeout, within } from './timeout.ts'
import { checkNumber, type SharedStoreOptions } from './view.ts'

export { StoreUnavailableError, isStoreUnavailable, storeErrorResponse, type StoreUnavailableReason } from './errors.ts'
export type { SharedStoreOptions, StoreEvents, StoreState, StoreStatus } from './view.ts'

/**
 * Options of `RedisRevocationStore`; times in milliseconds.
 *
 * @example
 * const options: RedisStoreOptions = { client: new Redis(url), prefix: 'myapp:revoked:' }
 */
export interface RedisStoreOptions extends SharedStoreOptions {
  /** An ioredis client without `keyPrefix` (use `prefix`); the store duplicates it to subscribe and never closes it. */
  client: Redis
  /** The key prefix. Default `keycard:revoked:`. */
  prefix?: string
  /** The pub/sub channel. Default `keycard:revocations`. */
  channel?: string
  /** How often the subscription is proven alive. Default 1000. */
  heartbeatInterval?: number
}

const NEVER = 'never'
const SCAN_COUNT = 1000

/** A glob pattern matching `prefix` literally, then anything. */
function prefixPattern(prefix: string): string {
  return `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`
}

/**
 * @example
 * const store = await new RedisRevocationStore({ client: new Redis(url) }).ready()
 * await store.revoke(claims.jti, claims.exp) // written (and published) when it resolves
 * store.isRevoked(claims.jti) // true, synchronously
 * await store.close()
 */
export class RedisRevocationStore extends SharedRevocationStore {
  readonly #client: Redis
  readonly #sub: Redis
  readonly #prefix: string
  readonly #channel: string
  readonly #heartbeatInterval: number
  /** Bumped on every subscriber connection: work for an older one is dropped. */
  #generation = 0
  #beatTimer: NodeJS.Timeout | undefined
  #sweepTimer: NodeJS.Timeout | undefined
  #closed = false

  constructor(options: RedisStoreOptions) {
    super(options ?? {})
    const client = options?.client
    if (!client || typeof client.duplicate !== 'function' || typeof client.multi !== 'function')
      throw new KeycardOptionError('client', 'expected an ioredis client (new Redis(url)).')
    if (client.options?.keyPrefix)
      throw new KeycardOptionError(
        'client',
        'the client has a keyPrefix, which SCAN ignores: pass a client without one and set prefix instead.',
      )
    const text = (option: string, value: unknown, fallback: string) => {
      if (value === undefined) return fallback
      if (typeof value !== 'string' || value.length === 0)
        throw new KeycardOptionError(option, `expected a non-empty string, got ${JSON.stringify(value)}.`)
      return value
    }
    this.#prefix = text('prefix', options.prefix, 'keycard:revoked:')
    this.#channel = text('channel', options.channel, 'keycard:revocations')
    this.#heartbeatInterval = checkNumber('heartbeatInterval', options.heartbeatInterval, 1000, 1)
    if (this.#heartbeatInterval >= this.shared.maxStaleness)
      throw new KeycardOptionError(
        'heartbeatInterval',
        `must be below maxStaleness (${this.shared.maxStaleness} ms), or the store goes stale between two heartbeats.`,
      )
    this.#client = client
    // Subscribing ourselves (not autoResubscribe) orders it before the reload; no offline queue, so a
    // PING while disconnected fails at once instead of waiting for the reconnect.
    this.#sub = client.duplicate({ autoResubscribe: false, enableOfflineQueue: false, lazyConnect: true })
    this.#sub.on('error', () => {}) // every failure also closes the connection, handled below
    this.#sub.on('message', (channel: string, message: string) => {
      if (channel !== this.#channel) return
      const parsed = parseNotification(message)
      if (parsed) this.view.add(parsed.jti, parsed.expiresAt)
    })
    this.#sub.on('ready', () => void this.#subscribed(++this.#generation))
    this.#sub.on('close', () => this.#lost(new Error('the Redis subscriber connection closed')))
    // The retry strategy gave up: keep trying anyway, the store must recover by itself.
    this.#sub.on('end', () => {
      if (!this.#closed) setTimeout(() => this.#sub.connect().catch(() => {}), 1000)
    })
    this.#sub.connect().catch(() => {}) // retried by ioredis; the state says whether it is up
    if (this.shared.sweepInterval > 0) {
      // Redis expires the keys itself; this only trims the memory.
      this.#sweepTimer = setInterval(() => this.view.sweep(), this.shared.sweepInterval)
      this.#sweepTimer.unref()
    }
  }

  /** Writes the key and publishes it in one MULTI; resolves once Redis has executed both. */
  override async revoke(jti: string, expiresAt: number | null): Promise<void> {
    if (this.#closed) throw this.view.error('closed')
    const exp = this.expiryToStore(jti, expiresAt)
    if (exp === undefined) return
    const key = this.#prefix + jti
    const multi = this.#client.multi()
    if (exp === null) multi.set(key, NEVER)
    else multi.set(key, String(exp), 'EXAT', exp + this.shared.leeway)
    multi.publish(this.#channel, notification(jti, exp))
    let results: [Error | null, unknown][] | null
    try {
      results = await within(multi.exec(), this.shared.maxStaleness, 'the revocation write')
    } catch (err) {
      throw this.view.error('write-failed', err)
    }
    const failed = results === null ? new Error('the MULTI was aborted') : results.find(([err]) => err)?.[0]
    if (failed) throw this.view.error('write-failed', failed)
    this.view.add(jti, exp)
  }

  /** Drops expired entries from memory (Redis expires the keys itself); returns how many. */
  async sweep(now = this.shared.now()): Promise<number> {
    return this.view.sweep(now)
  }

  /** Closes the subscriber connection and stops the timers; the client you passed stays open. */
  override async close(): Promise<void> {
    this.#closed = true
    this.#generation++
    clearTimeout(this.#beatTimer)
    clearInterval(this.#sweepTimer)
    this.view.close()
    this.#sub.disconnect()
  }

  /** A (re)connected subscriber: SUBSCRIBE, then reload every key, then trust the view and start the heartbeat. */
  async #subscribed(generation: number): Promise<void> {
    const timeout = this.shared.maxStaleness
    try {
      await within(this.#sub.subscribe(this.#channel), timeout, 'SUBSCRIBE')
      const listenedAt = this.shared.now() * 1000
      await within(this.#reload(generation), loadTimeout(timeout), 'the reload')
      if (generation !== this.#generation) return
      this.view.resynced(listenedAt)
      this.#schedule(generation)
    } catch (err) {
      if (generation !== this.#generation) return
      this.#lost(err)
      this.#sub.disconnect(true)
    }
  }

  /** SCANs the prefix and reads the values (each key's `exp`) into the view. */
  async #reload(generation: number): Promise<void> {
    let cursor = '0'
    const pattern = prefixPattern(this.#prefix)
    do {
      const [next, keys] = await this.#client.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT)
      if (generation !== this.#generation) return
      if (keys.length > 0) {
        const values = await this.#client.mget(...keys)
        keys.forEach((key, i) => {
          const value = values[i]
          if (value === null || value === undefined) return // expired between SCAN and MGET
          const exp = value === NEVER ? null : Number(value)
          if (exp === null || Number.isFinite(exp)) this.view.add(key.slice(this.#prefix.length), exp)
        })
      }
      cursor = next
    } while (cursor !== '0')
  }

  #schedule(generation: number): void {
    this.#beatTimer = setTimeout(() => this.#beat(generation), this.#heartbeatInterval)
  }

  #beat(generation: number): void {
    if (generation !== this.#generation) return
    const sent = this.shared.now() * 1000
    within(this.#sub.ping(), this.shared.maxStaleness, 'a heartbeat').then(
      () => {
        if (generation !== this.#generation) return
        this.view.confirm(sent)
        this.#schedule(generation)
      },
      (err: unknown) => {
        if (generation !== this.#generation) return
        // A hung connection (the server stopped, a partition): drop it and reconnect.
        this.#lost(err)
        this.#sub.disconnect(true)
      },
    )
  }

  #lost(cause: unknown): void {
    if (this.#closed) return
    this.#generation++
    clearTimeout(this.#beatTimer)
    this.view.lost(cause)
  }
}
