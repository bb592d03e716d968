/**
 * A RevocationStore in process memory, for one process or for tests. Entries are dropped once the
 * token they revoke would have expired anyway, so the store never grows past the live tokens.
 */

import type { RevocationStore } from './store.ts'

export interface MemoryStoreOptions {
  /** How often expired entries are swept, in milliseconds; 0 for no timer (call `sweep()` yourself). Default 60000. The timer never keeps the process alive. */
  sweepInterval?: number
  /** Clock in epoch seconds, for tests. */
  now?: () => number
}

export class MemoryRevocationStore implements RevocationStore {
  readonly #entries = new Map<string, number>()
  readonly #now: () => number
  readonly #timer: NodeJS.Timeout | undefined

  constructor(options: MemoryStoreOptions = {}) {
    this.#now = options.now ?? (() => Date.now() / 1000)
    const interval = options.sweepInterval ?? 60_000
    if (interval > 0) {
      this.#timer = setInterval(() => this.sweep(), interval)
      this.#timer.unref()
    }
  }

  revoke(jti: string, expiresAt: number | null): void {
    this.#entries.set(jti, expiresAt ?? Infinity)
  }

  isRevoked(jti: string): boolean {
    return this.#entries.has(jti)
  }

  /** Drops the entries whose token has expired by `now` (epoch seconds); returns how many were dropped. */
  sweep(now = this.#now()): number {
    let dropped = 0
    for (const [jti, expiresAt] of this.#entries) {
      if (expiresAt <= now) {
        this.#entries.delete(jti)
        dropped++
      }
    }
    return dropped
  }

  get size(): number {
    return this.#entries.size
  }

  /** Stops the sweep timer. */
  close(): void {
    clearInterval(this.#timer)
  }
}
