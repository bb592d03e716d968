/**
 * Where the next poll starts. Polling `seq > highest seen` misses rows on a database with concurrent
 * writers (PostgreSQL, MySQL): one insert takes seq 7, another takes 8 and commits first, the poll sees
 * 8, and 7 commits later. So a seq skipped below the highest seen stays open, and polls re-read from the
 * oldest open one, until it shows up or is older than `timeout` (a rolled-back insert never will; a
 * revocation's insert commits within moments). On SQLite (one writer) gaps come only from rollbacks
 * and sweeps. At most `limit` gaps are kept, the newest (an in-flight insert holds a recent seq).
 */

/**
 * @example
 * const gaps = new SeqGaps(60_000, 1000)
 * gaps.observe(1, now); gaps.observe(3, now) // 2 is open
 * gaps.from // 1: the next poll reads seq > 1
 */
export class SeqGaps {
  /** Open seq → when it was first missed (epoch ms). */
  readonly #open = new Map<number, number>()
  readonly #timeout: number
  readonly #limit: number
  #high = 0

  constructor(timeout: number, limit: number) {
    this.#timeout = timeout
    this.#limit = limit
  }

  /** Poll `seq > from`. */
  get from(): number {
    let low = this.#high
    for (const seq of this.#open.keys()) if (seq - 1 < low) low = seq - 1
    return low
  }

  get high(): number {
    return this.#high
  }

  get open(): number {
    return this.#open.size
  }

  /** A row with this seq has been read. */
  observe(seq: number, now: number): void {
    if (seq <= this.#high) {
      this.#open.delete(seq)
      return
    }
    const first = Math.max(this.#high + 1, seq - this.#limit)
    for (let s = first; s < seq; s++) this.#open.set(s, now)
    this.#high = seq
    // Gaps are inserted in ascending order, so the Map iterates lowest first.
    for (const s of this.#open.keys()) {
      if (this.#open.size <= this.#limit) break
      this.#open.delete(s)
    }
  }

  /** Gives up on gaps first missed before `now - timeout`. */
  expire(now: number): void {
    for (const [seq, since] of this.#open) if (since < now - this.#timeout) this.#open.delete(seq)
  }
}
