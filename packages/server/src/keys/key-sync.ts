/**
 * Keeps a running instance's keycard in step with the keyring in the database (keys/keyring.ts), in
 * keyring mode:
 *
 * - a timer calls `keyring.advance()` when `keyring.nextDue()` says (publish a next key, promote it,
 *   retire a previous one), capped at `maxTimerMs` so a far date does not overflow setTimeout;
 * - after any change (its own advance, a notification, a poll that sees the table differ) it re-reads
 *   `keyring.entries()` and hands them to `keycard.setKeys`, then re-arms the timer;
 * - a retired kid is dropped SYNCHRONOUSLY (`keycard.removeKey`) the moment this instance hears of it
 *   (a `retired:<kid>` notification on PostgreSQL, a poll of `signing_keys` on both dialects), before
 *   any re-read: that is what makes `keycard keys retire` refuse its tokens at once on every instance.
 *   Retirement is final (a kid is the thumbprint of its key), so a re-read that began before the
 *   retirement committed cannot bring the kid back: retired kids are filtered out of every re-read.
 */

import type { KeyEntry } from 'keycard'
import type { Kysely } from 'kysely'
import type { Database } from '../db/schema.ts'

/** What KeySync needs of the keyring (keys/keyring.ts `Keyring`). */
export interface KeySyncRing {
  advance(now?: number): Promise<boolean>
  entries(): Promise<{ keys: KeyEntry[]; signingKid: string }>
  nextDue(): Promise<number | null>
}

/** What KeySync needs of the keycard (keys mode). */
export interface KeySyncCard {
  setKeys(keys: readonly KeyEntry[], signingKid?: string): Promise<void>
  removeKey(kid: string): boolean
}

/** What KeySync reports (services.ts logs it; tests wait on it). */
export type KeySyncEvent =
  /** The keycard now holds `kids` and signs with `signingKid`. */
  | { type: 'keys-loaded'; signingKid: string; kids: string[] }
  /** A retired kid was dropped from the keycard: its tokens are refused from now on. */
  | { type: 'key-removed'; kid: string; via: 'notification' | 'poll' }
  /** This instance's scheduled `advance()` changed the ring. */
  | { type: 'keys-advanced' }
  /** A step failed; it is retried in `retryInMs`. */
  | { type: 'keys-failed'; step: 'advance' | 'reload' | 'schedule'; err: unknown; retryInMs: number }

export interface KeySyncOptions {
  keyring: KeySyncRing
  keycard: KeySyncCard
  /** What the keycard was created with (`readKeyState` before `entries()`). */
  initial: { keys: readonly KeyEntry[]; signingKid: string; table: string }
  /** Longest timer (ms); default one hour. */
  maxTimerMs?: number
  /** Delay before a failed step is retried (ms); default 5 s. */
  retryMs?: number
  onEvent?: (event: KeySyncEvent) => void
}

const HOUR_MS = 60 * 60 * 1000
/** A timer fires on time or late, never early; this covers the rounding of epoch seconds. */
const SLACK_MS = 20
/** Re-reads in a row that may name a retired signing key (read before the retirement committed). */
const STALE_READS = 3

/**
 * What a poll compares: every row's kid, state and activation time, in one string.
 *
 * @example
 * const table = await readKeyTable(db) // 'kid1:current:-|kid2:next:1767225600'
 */
export async function readKeyTable(db: Kysely<Database>): Promise<{ fingerprint: string; retired: string[] }> {
  const rows = await db.selectFrom('signing_keys').select(['kid', 'state', 'activate_at']).orderBy('kid').execute()
  return {
    fingerprint: rows.map((r) => `${r.kid}:${r.state}:${r.activate_at ?? '-'}`).join('|'),
    retired: rows.filter((r) => r.state === 'retired').map((r) => r.kid),
  }
}

/**
 * @example
 * const table = (await readKeyTable(db)).fingerprint
 * const { keys, signingKid } = await keyring.entries()
 * const keycard = await createKeycard({ keys, signingKid, encodeIssuer: config.issuer })
 * const sync = new KeySync({ keyring, keycard, initial: { keys, signingKid, table } })
 * sync.start()
 * // PostgreSQL listener: sync.notified(state, kid); every poll: await sync.poll(db)
 * await sync.close()
 */
export class KeySync {
  readonly #o: KeySyncOptions
  readonly #maxTimerMs: number
  readonly #retryMs: number
  /** Kids the keycard holds. */
  #held: Set<string>
  /** Kids this instance knows are retired: never handed to the keycard again. */
  readonly #retired = new Set<string>()
  #signingKid: string
  /** The table as the last poll saw it. */
  #table: string
  /** Changes asked for, and how many of them the last completed re-read covers. */
  #wanted = 0
  #loaded = 0
  #reloading: Promise<void> | undefined
  #timer: NodeJS.Timeout | undefined
  /** A scheduled advance (and its re-arm) in flight: close() waits for it, so nothing queries a closed database. */
  #ticking: Promise<void> | undefined
  /** Ends a retry pause early (close). */
  #wake: (() => void) | undefined
  #closed = false

  constructor(options: KeySyncOptions) {
    this.#o = options
    this.#maxTimerMs = options.maxTimerMs ?? HOUR_MS
    this.#retryMs = options.retryMs ?? 5000
    this.#held = new Set(options.initial.keys.map((k) => k.kid))
    this.#signingKid = options.initial.signingKid
    this.#table = options.initial.table
  }

  /** The kid new tokens are signed with. */
  get signingKid(): string {
    return this.#signingKid
  }

  /**
   * `false` between the retirement of the signing key and the re-read that brings its successor
   * (milliseconds): the keycard cannot mint then, and minting answers 503 (`guardMinting`).
   */
  get canSign(): boolean {
    return this.#held.has(this.#signingKid)
  }

  /** Arms the scheduler (resolves once the first due time is known, or its read failed and is retried). */
  async start(): Promise<void> {
    await this.#arm(false)
  }

  async close(): Promise<void> {
    this.#closed = true
    clearTimeout(this.#timer)
    this.#wake?.()
    await Promise.all([this.#reloading, this.#ticking])
  }

  /**
   * A `<state>:<kid>` notification (PostgreSQL): a retired kid is dropped before this returns; any
   * change is re-read.
   */
  notified(state: string, kid: string): void {
    if (state === 'retired') this.#drop(kid, 'notification')
    this.#request()
  }

  /**
   * Part of every revocation poll: reads the small `signing_keys` table, drops retired kids
   * synchronously once it has, and re-reads the keys when the table changed. Resolves after the
   * drops, not after the re-read: a confirmed view then covers retirements as it covers revocations.
   */
  async poll(db: Kysely<Database>): Promise<void> {
    const table = await readKeyTable(db)
    for (const kid of table.retired) this.#drop(kid, 'poll')
    if (table.fingerprint !== this.#table) {
      this.#table = table.fingerprint
      this.#request()
    }
  }

  #drop(kid: string, via: 'notification' | 'poll'): void {
    this.#retired.add(kid)
    if (!this.#held.delete(kid)) return
    this.#o.keycard.removeKey(kid)
    this.#o.onEvent?.({ type: 'key-removed', kid, via })
  }

  /** Asks for a re-read; one runs at a time, and one that began before this call is followed by another. */
  #request(): void {
    this.#wanted++
    if (this.#closed || this.#reloading) return
    this.#reloading = this.#reloadLoop().finally(() => {
      this.#reloading = undefined
      // Asked for during the loop's last step (its re-arm), after it had checked: one more round.
      if (!this.#closed && this.#loaded < this.#wanted) {
        this.#wanted--
        this.#request()
      }
    })
  }

  async #reloadLoop(): Promise<void> {
    let staleReads = 0
    while (!this.#closed && this.#loaded < this.#wanted) {
      const target = this.#wanted
      try {
        const { keys, signingKid } = await this.#o.keyring.entries()
        if (this.#closed) return
        if (this.#retired.has(signingKid)) {
          // Read before the retirement (and the promotion that came with it) committed: read again.
          if (++staleReads < STALE_READS) continue
          throw new Error(`the keyring still names the retired key ${signingKid} as current`)
        }
        const live = keys.filter((k) => !this.#retired.has(k.kid))
        await this.#o.keycard.setKeys(live, signingKid)
        // setKeys swaps its new set in at the end: a kid retired while it imported comes back with it.
        for (const k of live) if (this.#retired.has(k.kid)) this.#o.keycard.removeKey(k.kid)
        this.#held = new Set(live.map((k) => k.kid).filter((kid) => !this.#retired.has(kid)))
        this.#signingKid = signingKid
        this.#loaded = target
        staleReads = 0
        this.#o.onEvent?.({ type: 'keys-loaded', signingKid, kids: [...this.#held] })
      } catch (err) {
        this.#o.onEvent?.({ type: 'keys-failed', step: 'reload', err, retryInMs: this.#retryMs })
        if (!(await this.#pause(this.#retryMs))) return
      }
    }
    await this.#arm(false)
  }

  /** Waits `ms`, or until close(); false when closed. */
  #pause(ms: number): Promise<boolean> {
    return new Promise((done) => {
      if (this.#closed) return done(false)
      const timer = setTimeout(() => {
        this.#wake = undefined
        done(!this.#closed)
      }, ms)
      timer.unref()
      this.#wake = () => {
        clearTimeout(timer)
        done(false)
      }
    })
  }

  /** Sets the timer for the ring's next due time. `idle`: the last advance changed nothing, so a past due time waits a retry. */
  async #arm(idle: boolean): Promise<void> {
    if (this.#closed) return
    let due: number | null
    try {
      due = await this.#o.keyring.nextDue()
    } catch (err) {
      this.#o.onEvent?.({ type: 'keys-failed', step: 'schedule', err, retryInMs: this.#retryMs })
      this.#setTimer(this.#retryMs)
      return
    }
    const wait = due === null ? this.#maxTimerMs : due * 1000 - Date.now()
    this.#setTimer(wait <= 0 && idle ? this.#retryMs : Math.min(this.#maxTimerMs, Math.max(0, wait) + SLACK_MS))
  }

  #setTimer(ms: number): void {
    if (this.#closed) return
    clearTimeout(this.#timer)
    this.#timer = setTimeout(() => {
      this.#ticking = this.#tick().finally(() => {
        this.#ticking = undefined
      })
    }, ms)
    this.#timer.unref()
  }

  async #tick(): Promise<void> {
    let changed: boolean
    try {
      changed = await this.#o.keyring.advance()
    } catch (err) {
      this.#o.onEvent?.({ type: 'keys-failed', step: 'advance', err, retryInMs: this.#retryMs })
      this.#setTimer(this.#retryMs)
      return
    }
    if (this.#closed) return
    if (changed) {
      this.#o.onEvent?.({ type: 'keys-advanced' })
      this.#request() // re-arms once re-read
    } else await this.#arm(true)
  }
}
