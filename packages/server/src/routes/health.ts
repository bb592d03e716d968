/** GET /healthz: 200 when the database answers, 503 otherwise (for load balancers and orchestrators). */

import type { FastifyInstance } from 'fastify'
import type { Services } from '../app.ts'
import { pingDatabase } from '../db/database.ts'

export function registerHealthRoutes(app: FastifyInstance, s: Services): void {
  app.get('/healthz', async (_request, reply) => {
    if (await pingDatabase(s.db)) return { status: 'ok' }
    return reply.code(503).send({ msg: 'Database unavailable', code: 'DATABASE_UNAVAILABLE' })
  })
}
