/**
 * Password hashing: argon2id through @node-rs/argon2, whose async functions run on libuv's thread pool,
 * so hashing never blocks the event loop. Passwords are bounded (1 KiB) so a huge one cannot be a
 * denial of service, and unknown users are verified against a dummy hash so timing does not reveal
 * which usernames exist. At most one hash runs per usable core: more would not raise throughput
 * (hashing is CPU-bound) but would take CPU time from the event loop while logins pour in.
 */

import { channel } from 'node:diagnostics_channel'
import { availableParallelism } from 'node:os'
import { performance } from 'node:perf_hooks'
import { hash, parseOptions, verify } from '@node-rs/argon2'
import type { Argon2Params } from './config.ts'
import { isLegacyHash, verifyLegacyHash } from './legacy-hashes.ts'

/** Longest password accepted, in UTF-8 bytes. */
export const MAX_PASSWORD_BYTES = 1024
/** Shortest password accepted, in characters (code points). */
export const MIN_PASSWORD_CHARS = 8
/** @node-rs/argon2's `Algorithm.Argon2id`; its const enum cannot be imported under isolated modules. */
const ARGON2ID = 2

/** What {@link ARGON2_CHANNEL} carries: the argon2 operation that is starting. */
export interface Argon2Event {
  op: 'hash' | 'verify'
}

/**
 * A `node:diagnostics_channel` on which every argon2 hash and verification the server runs is announced
 * as it starts, so tests can count them (e.g. that an unknown user costs exactly one verification). It
 * costs nothing while no one subscribes; the message never holds a password or a hash.
 *
 * @example
 * ```ts
 * import { subscribe } from 'node:diagnostics_channel'
 * const ops: string[] = []
 * subscribe(ARGON2_CHANNEL, (event) => ops.push((event as Argon2Event).op))
 * ```
 */
export const ARGON2_CHANNEL = 'keycard-server:argon2'
const argon2Events = channel(ARGON2_CHANNEL)
const HASH_EVENT: Argon2Event = Object.freeze({ op: 'hash' })
const VERIFY_EVENT: Argon2Event = Object.freeze({ op: 'verify' })

/** Why a new password is refused, as the end of a 400 message ("<field> must …"), or null when it is fine. */
export function passwordProblem(password: string): string | null {
  if ([...password].length < MIN_PASSWORD_CHARS) return `must be at least ${MIN_PASSWORD_CHARS} characters`
  if (Buffer.byteLength(password) > MAX_PASSWORD_BYTES) return `must be at most ${MAX_PASSWORD_BYTES} bytes`
  return null
}

export interface PasswordHasher {
  /** A PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`) for `password`. */
  hash(password: string): Promise<string>
  /**
   * Checks `password` against `stored` (argon2id, or a legacy hash legacy-hashes.ts knows); with `stored`
   * null (unknown user) checks a dummy hash and returns false.
   */
  verify(stored: string | null, password: string): Promise<boolean>
  /** `true` when `stored` was made with other parameters than the current ones. */
  needsRehash(stored: string): boolean
  /** Operations waiting for a slot and running now (the metrics' argon2 queue gauges). */
  load(): { queued: number; active: number }
}

/** Told how long each argon2 operation ran, in seconds (after its wait for a slot): the metrics' histogram. */
export type Argon2Observer = (op: 'hash' | 'verify', seconds: number) => void

/** Runs at most `max` tasks at once, the others in arrival order; a finishing task hands its slot on. */
export function concurrencyLimit(
  max: number,
): (<T>(task: () => Promise<T>) => Promise<T>) & { load(): { queued: number; active: number } } {
  let active = 0
  const waiting: Array<() => void> = []
  const run = async <T>(task: () => Promise<T>): Promise<T> => {
    if (active < max) active++
    else await new Promise<void>((resolve) => waiting.push(resolve))
    try {
      return await task()
    } finally {
      const next = waiting.shift()
      if (next) next()
      else active--
    }
  }
  return Object.assign(run, { load: () => ({ queued: waiting.length, active }) })
}

/** Runs `op`, telling `observe` how long it took (nothing measured without an observer). */
function timed<T>(observe: Argon2Observer | undefined, op: 'hash' | 'verify', run: () => Promise<T>): Promise<T> {
  if (!observe) return run()
  const started = performance.now()
  return run().finally(() => observe(op, (performance.now() - started) / 1000))
}

export function createPasswordHasher(params: Argon2Params, observe?: Argon2Observer): PasswordHasher {
  const options = { algorithm: ARGON2ID, memoryCost: params.memoryCost, timeCost: params.timeCost, parallelism: params.parallelism }
  // Cores this process may run on (affinity-aware), so a server pinned to one core hashes one at a time.
  const limit = concurrencyLimit(availableParallelism())
  // Made at once, so the first login of an unknown user is not slower than the others.
  argon2Events.publish(HASH_EVENT)
  const dummy = hash('keycard dummy password', options)
  dummy.catch(() => {})

  return {
    hash: (password) =>
      limit(() => {
        argon2Events.publish(HASH_EVENT)
        return timed(observe, 'hash', () => hash(password, options))
      }),
    async verify(stored, password) {
      // Over-long passwords were never accepted; still spend the same time as a real check.
      const tooLong = Buffer.byteLength(password) > MAX_PASSWORD_BYTES
      const target = stored ?? (await dummy)
      try {
        // Imported from a Flask app (keycard import): checked once, then needsRehash replaces it.
        if (!tooLong && !target.startsWith('$argon2') && isLegacyHash(target)) return await limit(() => verifyLegacyHash(target, password))
        const ok = await limit(() => {
          argon2Events.publish(VERIFY_EVENT)
          return timed(observe, 'verify', () => verify(target, tooLong ? 'x' : password))
        })
        return ok && stored !== null && !tooLong
      } catch {
        return false // a corrupt stored hash is a failed login, not a 500
      }
    },
    load: () => limit.load(),
    needsRehash(stored) {
      try {
        const p = parseOptions(stored)
        return (
          p.algorithm !== ARGON2ID ||
          p.memoryCost !== params.memoryCost ||
          p.timeCost !== params.timeCost ||
          p.parallelism !== params.parallelism
        )
      } catch {
        return true
      }
    },
  }
}
