/**
 * The keyring's public vocabulary (KeyState, KeyInfo) and the one place rows of `signing_keys` are read
 * into it: every value checked, and the public JWK cut down to its public members, so a hand-edited
 * row can neither confuse the transitions nor put private parameters into the JWKS.
 */

import type { JWK } from 'jose'
import type { SigningAlgorithm } from '../config.ts'
import type { SigningKeyRow } from '../db/schema.ts'
import { KeyringError } from './errors.ts'
import { isSigningAlgorithm } from './generate.ts'

export type KeyState = 'next' | 'current' | 'previous' | 'retired'
export type { SigningAlgorithm } from '../config.ts'

/** One key of the ring, as `list()` shows it. Never holds private material. Times are epoch seconds. */
export interface KeyInfo {
  kid: string
  algorithm: SigningAlgorithm
  state: KeyState
  createdAt: number
  /** next: when it becomes current. */
  activateAt: number | null
  /** When it became current. */
  activatedAt: number | null
  /** When it stopped signing. */
  deactivatedAt: number | null
  /** previous: when it retires. */
  verifyUntil: number | null
  retiredAt: number | null
  /** kty and the public parameters, kid, alg, use: 'sig'. */
  publicJwk: JWK
}

const STATES: readonly KeyState[] = ['next', 'current', 'previous', 'retired']
/** The public members of EC, OKP and RSA JWKs: nothing else of a stored JWK is ever handed out. */
const PUBLIC_MEMBERS = ['kty', 'crv', 'x', 'y', 'n', 'e'] as const

/**
 * A row as KeyInfo; throws KeyringError `KEYRING_CORRUPT` naming the kid and what is wrong.
 *
 * @example
 * const info = toKeyInfo(await db.selectFrom('signing_keys').selectAll().where('kid', '=', kid).executeTakeFirstOrThrow())
 */
export function toKeyInfo(row: SigningKeyRow): KeyInfo {
  const corrupt = (what: string) => new KeyringError('KEYRING_CORRUPT', `signing key ${row.kid} in the database: ${what}`)
  if (!isSigningAlgorithm(row.algorithm))
    throw corrupt(`unknown algorithm ${JSON.stringify(row.algorithm)} (expected ES256, EdDSA, RS256 or PS256)`)
  if (!(STATES as readonly string[]).includes(row.state)) throw corrupt(`unknown state ${JSON.stringify(row.state)}`)
  let stored: Record<string, unknown>
  try {
    stored = JSON.parse(row.public_jwk) as Record<string, unknown>
  } catch {
    throw corrupt('its public_jwk is not JSON')
  }
  if (stored === null || typeof stored !== 'object' || typeof stored.kty !== 'string') throw corrupt('its public_jwk is not a JWK')
  const publicJwk: JWK = {}
  for (const member of PUBLIC_MEMBERS) if (typeof stored[member] === 'string') publicJwk[member] = stored[member]
  Object.assign(publicJwk, { kid: row.kid, alg: row.algorithm, use: 'sig' })
  const time = (v: number | null) => (v === null ? null : Number(v))
  return {
    kid: row.kid,
    algorithm: row.algorithm,
    state: row.state as KeyState,
    createdAt: Number(row.created_at),
    activateAt: time(row.activate_at),
    activatedAt: time(row.activated_at),
    deactivatedAt: time(row.deactivated_at),
    verifyUntil: time(row.verify_until),
    retiredAt: time(row.retired_at),
    publicJwk,
  }
}
