/**
 * GET /healthz: 200 when the database can be read and written, 503 with the reason otherwise (for load
 * balancers and orchestrators). A database that answers reads but cannot take a write (a full disk, a
 * deleted SQLite file, a read-only server) is unhealthy too: every login would fail on it.
 */

import type { FastifyInstance } from 'fastify'
import type { Services } from '../app.ts'
import { probeWritable } from '../db/database.ts'

export function registerHealthRoutes(app: FastifyInstance, s: Services): void {
  app.get('/healthz', async (_request, reply) => {
    const problem = await probeWritable(s.db)
    if (problem === undefined) return { status: 'ok' }
    return reply
      .code(503)
      .header('retry-after', '1')
      .send({ msg: `Database unavailable: ${problem}`, code: 'DATABASE_UNAVAILABLE' })
  })
}
