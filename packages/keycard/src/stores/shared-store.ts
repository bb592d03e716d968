/**
 * What the Kysely and Redis stores have in common: the in-memory view that answers `isRevoked`, its
 * status and events, `ready()`, and the checks on `revoke`'s arguments.
 */

import { KeycardError } from '../errors.ts'
import type { RevocationStore } from './store.ts'
import { type ResolvedShared, resolveShared, RevocationView, type SharedStoreOptions, type StoreEvents, type StoreStatus } from './view.ts'

/**
 * The longest jti the shared stores hold (a SQL varchar(255); keycard's own jtis are UUIDs).
 *
 * @example
 * if (jti.length > MAX_JTI_LENGTH) throw new Error('jti too long')
 */
export const MAX_JTI_LENGTH = 255

/**
 * The base of the shared stores.
 *
 * @example
 * class MyStore extends SharedRevocationStore {
 *   async revoke(jti: string, exp: number | null) { this.view.add(jti, exp) }
 *   async close() { this.view.close() }
 * }
 */
export abstract class SharedRevocationStore implements RevocationStore {
  protected readonly view: RevocationView
  protected readonly shared: ResolvedShared

  constructor(options: SharedStoreOptions) {
    this.shared = resolveShared(options)
    this.view = new RevocationView(this.shared)
  }

  /**
   * `true` if revoked; `false` only while the view is confirmed within `maxStaleness`; otherwise throws
   * `StoreUnavailableError` (fail closed). Synchronous: reads memory only.
   */
  isRevoked(jti: string): boolean {
    return this.view.isRevoked(jti)
  }

  abstract revoke(jti: string, expiresAt: number | null): Promise<void>

  /** Stops the store's timers and connections (not the client or database you passed in). */
  abstract close(): Promise<void>

  /** Resolves with the store once its first sync is done; rejects with `StoreUnavailableError` after `timeout` ms (default `maxStaleness`). */
  async ready(timeout = this.shared.maxStaleness): Promise<this> {
    await this.view.ready(timeout)
    return this
  }

  /** The store's health (`state` is `live` while it answers), for a health check. */
  get status(): StoreStatus {
    return this.view.status
  }

  on<E extends keyof StoreEvents>(event: E, listener: (...args: StoreEvents[E]) => void): this {
    this.view.on(event, listener as never)
    return this
  }

  once<E extends keyof StoreEvents>(event: E, listener: (...args: StoreEvents[E]) => void): this {
    this.view.once(event, listener as never)
    return this
  }

  off<E extends keyof StoreEvents>(event: E, listener: (...args: StoreEvents[E]) => void): this {
    this.view.off(event, listener as never)
    return this
  }

  /**
   * Checks `revoke`'s arguments; returns the whole-second expiry to store, or `undefined` when the token
   * has expired already (past the leeway: keycard refuses it as expired, nothing to keep).
   */
  protected expiryToStore(jti: string, expiresAt: number | null): number | null | undefined {
    if (typeof jti !== 'string' || jti.length === 0 || jti.length > MAX_JTI_LENGTH)
      throw new KeycardError(
        'KEYCARD_JWT_CLAIM_INVALID',
        `Cannot revoke a token whose jti is not a string of 1 to ${MAX_JTI_LENGTH} characters`,
      )
    if (expiresAt !== null && (typeof expiresAt !== 'number' || !Number.isFinite(expiresAt)))
      throw new KeycardError('KEYCARD_JWT_CLAIM_INVALID', 'Cannot revoke a token with a non-numeric exp')
    const exp = expiresAt === null ? null : Math.ceil(expiresAt)
    if (exp !== null && exp + this.shared.leeway <= this.shared.now()) return undefined
    return exp
  }
}
