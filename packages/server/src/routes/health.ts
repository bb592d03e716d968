/**
 * GET /healthz: 200 when the database can be read and written and the revocation view is confirmed
 * within REVOCATION_MAX_STALENESS, 503 with the reason otherwise (for load balancers and orchestrators). A database that answers reads but cannot take a write (a full disk, a
 * deleted SQLite file, a read-only server) is unhealthy too: every login would fail on it.
 */

import type { FastifyInstance } from 'fastify'
import type { Services } from '../app.ts'
import { probeWritable } from '../db/database.ts'
import { STALE_RETRY_AFTER } from '../revocation-view.ts'
import { HEALTH_SCHEMAS as S } from '../schemas/health.ts'

export function registerHealthRoutes(app: FastifyInstance, s: Services): void {
  app.get('/healthz', { schema: S.healthz }, async (_request, reply) => {
    // Checked first: a stale instance refuses every token even while its database answers again.
    if (s.view.isStale())
      return reply
        .code(503)
        .header('retry-after', String(STALE_RETRY_AFTER))
        .send({
          msg: `Revocation view stale: not confirmed for ${Math.round(s.view.ageMs / 1000)}s (REVOCATION_MAX_STALENESS is ${s.config.revocationMaxStaleness}s); token-checked requests answer 503`,
          code: 'REVOCATION_VIEW_STALE',
        })
    const problem = await probeWritable(s.db)
    if (problem === undefined) return { status: 'ok' }
    return reply
      .code(503)
      .header('retry-after', '1')
      .send({ msg: `Database unavailable: ${problem}`, code: 'DATABASE_UNAVAILABLE' })
  })
}
