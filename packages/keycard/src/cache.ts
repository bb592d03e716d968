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
  constructor(max: number) {
    this.#max = max
  }

  get(token: string): Verified | undefined {
    return this.#map.get(token)
  }

  set(token: string, value: Verified): void {
    if (this.#max === 0) return
    if (this.#map.size >= this.#max) this.#map.delete(this.#map.keys().next().value!)
    this.#map.set(token, value)
  }

  clear(): void {
    this.#map.clear()
  }

  get size(): number {
    return this.#map.size
  }
}
