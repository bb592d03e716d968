/**
 * The audit trail's retention (AUDIT_RETENTION): events older than it are deleted a batch at a time,
 * with the event loop free between statements, by app.ts's purge timer.
 */

import { setImmediate as nextTurn } from 'node:timers/promises'
import type { Kysely } from 'kysely'
import type { Database } from '../db/schema.ts'
import { nowSeconds } from '../revocations.ts'

/**
 * Rows one purge statement deletes.
 *
 * @example
 * await purgeAuditEvents(db, 90 * 86400, nowSeconds(), AUDIT_PURGE_BATCH)
 */
export const AUDIT_PURGE_BATCH = 1000

/**
 * Deletes the events recorded before `now - retention`, `batch` rows per statement (oldest first, by
 * the `at` index); returns how many. Instances purging at once only repeat each other's deletes.
 *
 * @example
 * const purged = await purgeAuditEvents(db, config.auditRetention ?? Infinity)
 */
export async function purgeAuditEvents(
  db: Kysely<Database>,
  retention: number,
  now: number = nowSeconds(),
  batch: number = AUDIT_PURGE_BATCH,
): Promise<{ rows: number; batches: number }> {
  if (!Number.isFinite(retention)) return { rows: 0, batches: 0 }
  const cutoff = now - retention
  let rows = 0
  let batches = 0
  for (;;) {
    const { numDeletedRows } = await db
      .deleteFrom('audit_events')
      .where('id', 'in', (eb) => eb.selectFrom('audit_events').select('id').where('at', '<', cutoff).orderBy('at').limit(batch))
      .executeTakeFirst()
    const deleted = Number(numDeletedRows)
    rows += deleted
    if (deleted > 0) batches++
    if (deleted < batch) return { rows, batches }
    await nextTurn()
  }
}
