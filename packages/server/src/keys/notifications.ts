/**
 * What the PostgreSQL trigger of migration 0005 sends on KEYS_CHANNEL for every insert or update of
 * `signing_keys`: `'<state>:<kid>'`. A `retired:<kid>` is the one an instance must act on at once
 * (drop the key before verifying anything else); every other one means "re-read the ring".
 */

import { KEYS_CHANNEL } from '../db/migrations/0005-keyring.ts'
import type { KeyState } from './rows.ts'

export { KEYS_CHANNEL }

const STATES: readonly string[] = ['next', 'current', 'previous', 'retired'] satisfies KeyState[]

/**
 * The state and kid of a KEYS_CHANNEL payload, or undefined for anything else (a payload not of the
 * trigger's form is ignored, not trusted).
 *
 * @example
 * parseKeyNotification('retired:NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs') // { state: 'retired', kid: 'NzbL…' }
 */
export function parseKeyNotification(payload: string): { state: KeyState; kid: string } | undefined {
  const colon = payload.indexOf(':')
  if (colon <= 0) return undefined
  const state = payload.slice(0, colon)
  const kid = payload.slice(colon + 1)
  if (!STATES.includes(state) || kid === '' || kid.length > 64) return undefined
  return { state: state as KeyState, kid }
}
