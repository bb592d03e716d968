/**
 * The keyring's transitions as a pure function of its keys and a time: `plan(keys, now, policy)` says
 * what `advance(now)` must do, in order. The Keyring runs it twice: once on an unlocked read, to
 * generate any key pair it will need before it takes the lock (an RSA key takes a while), then again
 * under the lock on what is really there, and applies that.
 */

import type { SigningAlgorithm } from '../config.ts'
import type { KeyInfo } from './rows.ts'

export interface RotationPolicy {
  algorithm: SigningAlgorithm
  rotationInterval: number
  publishLead: number
  tokenLifetime: number
}

export type Step =
  /** A previous key past its verify_until, or a next key of another algorithm than JWT_ALGORITHM (it never signed). */
  | { kind: 'retire'; kid: string }
  /** next → current, and the current one (if any) → previous. */
  | { kind: 'promote'; kid: string; demote: string | undefined }
  /** A new key that is current at once: only on a ring without a current or next key, which no verifier can have cached. */
  | { kind: 'create-current' }
  /** A new next key, current from `activateAt`. */
  | { kind: 'publish-next'; activateAt: number }

/** Where the ring stands after the steps: enough of its current and next keys for what comes after (rotate). */
export interface Outcome {
  steps: Step[]
  /** The next key after the steps: an existing kid, or `undefined` kid for the one `publish-next` makes. */
  next: { kid: string | undefined; createdAt: number } | undefined
}

type Live = Pick<KeyInfo, 'kid' | 'algorithm' | 'state' | 'createdAt' | 'activateAt' | 'activatedAt' | 'verifyUntil'>

/** When a next key becomes current: its activate_at, or (a hand-made row without one) one publish lead after it was made. */
const activation = (next: Live, policy: RotationPolicy) => next.activateAt ?? next.createdAt + policy.publishLead

/**
 * What advance(now) does to `keys` (the ring's keys that are not retired).
 *
 * @example
 * plan([], 1_700_000_000, policy).steps // [{ kind: 'create-current' }]
 */
export function plan(keys: readonly Live[], now: number, policy: RotationPolicy): Outcome {
  const steps: Step[] = []
  for (const k of keys)
    if (k.state === 'previous' && k.verifyUntil !== null && k.verifyUntil <= now) steps.push({ kind: 'retire', kid: k.kid })
  let current: { algorithm: SigningAlgorithm; activatedAt: number } | undefined
  const cur = keys.find((k) => k.state === 'current')
  if (cur) current = { algorithm: cur.algorithm, activatedAt: cur.activatedAt ?? cur.createdAt }
  let next = keys.find((k) => k.state === 'next')
  if (next && next.algorithm !== policy.algorithm) {
    // JWT_ALGORITHM changed: a pending key of the old algorithm is replaced rather than promoted.
    steps.push({ kind: 'retire', kid: next.kid })
    next = undefined
  }
  if (next && (!current || activation(next, policy) <= now)) {
    steps.push({ kind: 'promote', kid: next.kid, demote: cur?.kid })
    current = { algorithm: next.algorithm, activatedAt: now }
    next = undefined
  } else if (!current) {
    steps.push({ kind: 'create-current' })
    current = { algorithm: policy.algorithm, activatedAt: now }
  }
  if (next) return { steps, next: { kid: next.kid, createdAt: next.createdAt } }
  const due = current.activatedAt + policy.rotationInterval
  if (current.algorithm !== policy.algorithm || due - policy.publishLead <= now) {
    const activateAt = current.algorithm !== policy.algorithm ? now + policy.publishLead : Math.max(now + policy.publishLead, due)
    steps.push({ kind: 'publish-next', activateAt })
    return { steps, next: { kid: undefined, createdAt: now } }
  }
  return { steps, next: undefined }
}

/**
 * The first time at or after which `plan` has work for `keys`: `now` when it has some already.
 *
 * @example
 * const due = dueAt(keys, nowSeconds(), policy) // the scheduler's next wake-up
 */
export function dueAt(keys: readonly Live[], now: number, policy: RotationPolicy): number {
  if (plan(keys, now, policy).steps.length > 0) return now
  const times: number[] = []
  for (const k of keys) if (k.state === 'previous' && k.verifyUntil !== null) times.push(k.verifyUntil)
  const next = keys.find((k) => k.state === 'next')
  const cur = keys.find((k) => k.state === 'current')
  if (next) times.push(activation(next, policy))
  else if (cur) times.push((cur.activatedAt ?? cur.createdAt) + policy.rotationInterval - policy.publishLead)
  return Math.max(now, Math.min(...times))
}

/**
 * How many new key pairs the steps make.
 *
 * @example
 * const spare = await Promise.all(Array.from({ length: keysToMake(steps) }, () => generateSigningKey('ES256')))
 */
export function keysToMake(steps: readonly Step[]): number {
  return steps.filter((s) => s.kind === 'create-current' || s.kind === 'publish-next').length
}
