/**
 * A bounded cache of tokens whose signature and static claims already passed. An entry is served only
 * for the exact token string that was verified (compared whole on every hit). Time claims and
 * revocation are re-checked on every hit by the caller; failures are never cached. Eviction is
 * oldest-first.
 *
 * Lookup is by a fingerprint of the token (its length and last 24 characters, the end of the
 * signature, which for distinct tokens is random), not by the token string: a Map keyed by strings
 * hashes the whole token on every lookup (about 0.3 µs for a typical 300-character token, and the
 * request's header string is new every time, so the hash is never reused), while the fingerprint
 * reads 24 characters and the hit then costs one string comparison. Two stored tokens with the same
 * fingerprint share a slot, the later replacing the earlier: a fingerprint can cost a miss, never let
 * a token skip verification.
 *
 * Admission: a verified token is stored on its second sighting, not its first. Most tokens a busy
 * service sees once or rarely (one per client per `exp` window, scanners, load spread over replicas);
 * storing each of them costs a Map insert, an eviction and, above all, old-generation GC for entries
 * that never hit. First sightings are remembered in a small table of fingerprints (no allocation); a
 * fingerprint collision there only admits a token one sighting early.
 */

import type { VerificationKey } from './keyring.ts'
import type { JwtClaims, JwtHeader } from './types.ts'

export interface Verified {
  header: JwtHeader
  claims: JwtClaims
  /** Keys and jwks mode: the key that verified it (a hit is served only while it is still its kid's key). */
  key?: VerificationKey
}

interface Entry {
  readonly token: string
  readonly value: Verified
}

export class VerifiedCache {
  readonly #max: number
  /** Fingerprint → the token stored under it (small-integer keys: V8 hashes them without reading the token). */
  readonly #map = new Map<number, Entry>()
  /**
   * The live fingerprints in insertion order, as a ring: `#ring[#head]` is the oldest. Evicting through
   * `map.keys().next()` instead costs a scan over every deleted slot V8 keeps at the front of the
   * table (about 6 µs per eviction at 10 000 entries), paid on every miss once the cache is full.
   */
  #ring: number[] = []
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

  /** The fingerprint of `token`, never 0 (an empty slot of `#seen`). */
  static #fingerprint(token: string): number {
    const end = token.length
    let h = end | 0
    for (let i = end > 24 ? end - 24 : 0; i < end; i++) h = Math.imul(h ^ token.charCodeAt(i), 0x01000193)
    h ^= h >>> 15
    return h === 0 ? 1 : h
  }

  /** Records a sighting of the token with fingerprint `h`; true when `h` was already recorded. */
  #seenBefore(h: number): boolean {
    const slot = (h ^ (h >>> 17)) & this.#seenMask
    if (this.#seen[slot] === h) return true
    this.#seen[slot] = h
    return false
  }

  get(token: string): Verified | undefined {
    if (this.#map.size === 0) return undefined
    const entry = this.#map.get(VerifiedCache.#fingerprint(token))
    return entry !== undefined && entry.token === token ? entry.value : undefined
  }

  set(token: string, value: Verified): void {
    const max = this.#max
    if (max === 0) return
    const h = VerifiedCache.#fingerprint(token)
    if (!this.#seenBefore(h)) return
    const map = this.#map
    if (!map.has(h)) {
      if (map.size >= max) {
        map.delete(this.#ring[this.#head]!)
        this.#head = (this.#head + 1) % max
      }
      this.#ring[(this.#head + map.size) % max] = h
    }
    map.set(h, { token, value })
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
