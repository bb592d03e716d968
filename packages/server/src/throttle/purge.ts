/**
 * The throttle's part of the server's hourly purge: counter rows whose window has ended and device
 * tokens unused for 30 days, in batches.
 */

import type { Kysely } from 'kysely'
import type { Database } from '../db/schema.ts'
import { purgeCounters } from './counters.ts'
import { DEVICE_TOKEN_IDLE, purgeDeviceTokens } from './device.ts'
import type { ThrottleConfig } from './limits.ts'

/**
 * Deletes the counters that began more than the longest configured window before `now` (their window
 * has ended, whatever their kind) and the device tokens last used more than 30 days before `now`.
 *
 * @example
 * const { counters, deviceTokens } = await purgeThrottle(db, config.throttle, nowSeconds())
 */
export async function purgeThrottle(
  db: Kysely<Database>,
  throttle: ThrottleConfig,
  now: number,
): Promise<{ counters: number; deviceTokens: number }> {
  const windows = Object.values(throttle.limits).map((l) => l?.window ?? 0)
  const longest = Math.max(1, ...windows)
  const counters = await purgeCounters(db, now - longest)
  const deviceTokens = await purgeDeviceTokens(db, now - DEVICE_TOKEN_IDLE)
  return { counters, deviceTokens }
}
