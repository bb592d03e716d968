/**
 * A bounded cache of tokens whose signature and static claims already passed, keyed by the whole
 * token string (so only the exact bytes that were verified can hit). Time claims and revocation are
 * re-checked on every hit by the caller; failures are never cached. Eviction is oldest-first.
 */

import type { JwtClaims, JwtHeader } from './types.ts'

export interface Verified {
  header: JwtHeader
  claims: JwtClaims
}

export class VerifiedCache {
  readonly #max: number
  readonly #map = new Map<string, Verified>()
  /**
   * The live keys in insertion order, as a ring: `#ring[#head]` is the oldest. Evicting through
   * `map.keys().next()` instead costs a scan over every deleted slot V8 keeps at the front of the
   * table (about 6 µs per eviction at 10 000 entries), paid on every miss once the cache is full.
   */
  #ring: string[] = []
  #head = 0
  constructor(max: number) {
    this.#max = max
  }

  get(token: string): Verified | undefined {
    return this.#map.get(token)
  }

  set(token: string, value: Verified): void {
    const max = this.#max
    if (max === 0) return
    const map = this.#map
    if (map.size >= max) {
      map.delete(this.#ring[this.#head]!)
      this.#head = (this.#head + 1) % max
    }
    if (!map.has(token)) this.#ring[(this.#head + map.size) % max] = token
    map.set(token, value)
  }

  clear(): void {
    this.#map.clear()
    this.#ring = []
    this.#head = 0
  }

  get size(): number {
    return this.#map.size
  }
}
