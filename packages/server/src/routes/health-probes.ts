/**
 * GET /health/live and GET /health/ready, the probes of orchestrators (Kubernetes' liveness and
 * readiness). Live: the process answers (no database access, so a database outage does not get the
 * process restarted). Ready: the database can be read and written, no migration is pending (a newer
 * server's database would be, or an older one's), and the revocation view is fresh; otherwise 503 with
 * Retry-After and a message naming what failed. /healthz (health.ts) stays as it was.
 */

import type { FastifyInstance } from 'fastify'
import type { Services } from '../app.ts'
import { probeWritable } from '../db/database.ts'
import { createMigrator } from '../db/migrations/index.ts'
import { STALE_RETRY_AFTER } from '../revocation-view.ts'
import { HEALTH_SCHEMAS as S } from '../schemas/health.ts'

/** Names of migrations this server knows that the database has not run, or the reason they cannot be read. */
async function pendingMigrations(s: Services): Promise<{ pending: string[] } | { problem: string }> {
  try {
    const list = await createMigrator(s.db).getMigrations()
    return { pending: list.filter((m) => m.executedAt === undefined).map((m) => m.name) }
  } catch (err) {
    return { problem: err instanceof Error ? err.message : 'the migration table cannot be read' }
  }
}

/**
 * @example
 * registerHealthProbes(app, services) // GET /health/live, GET /health/ready
 */
export function registerHealthProbes(app: FastifyInstance, s: Services): void {
  app.get('/health/live', { schema: S.live }, async () => ({ status: 'ok' }))

  app.get('/health/ready', { schema: S.ready }, async (_request, reply) => {
    const unready = (code: string, msg: string, retryAfter = 1) =>
      reply
        .code(503)
        .header('retry-after', String(retryAfter))
        .send({ msg: `Not ready: ${msg}`, code })
    if (s.view.isStale())
      return unready(
        'REVOCATION_VIEW_STALE',
        `revocation view not confirmed for ${Math.round(s.view.ageMs / 1000)}s (REVOCATION_MAX_STALENESS is ${s.config.revocationMaxStaleness}s)`,
        STALE_RETRY_AFTER,
      )
    const problem = await probeWritable(s.db)
    if (problem !== undefined) return unready('DATABASE_UNAVAILABLE', `database cannot be read and written: ${problem}`)
    const migrations = await pendingMigrations(s)
    if ('problem' in migrations) return unready('DATABASE_UNAVAILABLE', `database migrations cannot be read: ${migrations.problem}`)
    if (migrations.pending.length > 0)
      return unready('MIGRATIONS_PENDING', `database migrations pending: ${migrations.pending.join(', ')} (run \`keycard migrate\`)`, 30)
    return { status: 'ok' }
  })
}
