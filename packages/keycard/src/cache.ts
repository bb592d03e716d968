/**
 * A bounded cache of tokens whose signature and static claims already passed, keyed by the whole
 * token string (so only the exact bytes that were verified can hit). Time claims and revocation are
 * re-checked on every hit by the caller; failures are never cached. Eviction is oldest-first.
 *
 * Admission: a verified token is stored on its second sighting, not its first. Most tokens a busy
 * service sees once or rarely (one per client per `exp` window, scanners, load spread over replicas);
 * storing each of them costs a Map insert, an eviction and, above all, old-generation GC for entries
 * that never hit. First sightings are remembered in a small table of fingerprints (no allocation);
 * a fingerprint collision only admits a token one sighting early, and a fingerprint never lets a
 * token skip verification: the cache is still keyed by the whole token string.
 *
 * The same table spares a never-seen token the Map lookup, whose cost is mostly hashing the whole
 * token string (about 0.4 µs for a typical 300-character token): a token whose fingerprint is not in
 * the table cannot have been stored since its slot was last overwritten. When another token's first
 * sighting overwrites a stored token's slot, that token costs one full verification (a miss), which
 * puts its fingerprint back; correctness never depends on the table.
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
  /** Fingerprints of tokens verified once but not stored yet, direct-mapped (see `#seenBefore`). */
  readonly #seen: Int32Array
  readonly #seenMask: number
  constructor(max: number) {
    this.#max = max
    // The capacity rounded up to a power of two: a token seen again within about that many other
    // first sightings is likely admitted; one seen again only after more would have been evicted
    // from a full cache before its next use anyway.
    let slots = 16
    while (slots < max && slots < 1 << 20) slots *= 2
    this.#seen = new Int32Array(max === 0 ? 0 : slots)
    this.#seenMask = slots - 1
  }

  /**
   * A fingerprint of `token`, never 0 (an empty slot): the length and the last 24 characters, the end
   * of the signature, which for distinct tokens is random.
   */
  static #fingerprint(token: string): number {
    const end = token.length
    let h = end | 0
    for (let i = end > 24 ? end - 24 : 0; i < end; i++) h = Math.imul(h ^ token.charCodeAt(i), 0x01000193)
    h ^= h >>> 15
    return h === 0 ? 1 : h
  }

  #slot(h: number): number {
    return (h ^ (h >>> 17)) & this.#seenMask
  }

  /** Records a sighting of `token`; true when its fingerprint was already recorded. */
  #seenBefore(token: string): boolean {
    const h = VerifiedCache.#fingerprint(token)
    const slot = this.#slot(h)
    if (this.#seen[slot] === h) return true
    this.#seen[slot] = h
    return false
  }

  get(token: string): Verified | undefined {
    if (this.#map.size === 0) return undefined
    const h = VerifiedCache.#fingerprint(token)
    if (this.#seen[this.#slot(h)] !== h) return undefined
    return this.#map.get(token)
  }

  set(token: string, value: Verified): void {
    const max = this.#max
    if (max === 0 || !this.#seenBefore(token)) return
    const map = this.#map
    if (map.size >= max) {
      map.delete(this.#ring[this.#head]!)
      this.#head = (this.#head + 1) % max
    }
    if (!map.has(token)) this.#ring[(this.#head + map.size) % max] = token
    map.set(token, value)
  }

  clear(): void {
    this.#seen.fill(0)
    this.#map.clear()
    this.#ring = []
    this.#head = 0
  }

  get size(): number {
    return this.#map.size
  }
}
