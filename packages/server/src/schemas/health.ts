/** The OpenAPI description of GET /healthz (routes/health.ts). */

import { errorResponse } from './common.ts'

/**
 * The route schema of GET /healthz.
 *
 * @example
 * app.get('/healthz', { schema: HEALTH_SCHEMAS.healthz }, handler)
 */
export const HEALTH_SCHEMAS = {
  healthz: {
    tags: ['health'],
    summary: 'Whether the database can be read and written and the revocation view is fresh',
    response: {
      200: {
        description: 'Healthy.',
        type: 'object',
        properties: { status: { type: 'string', const: 'ok' } },
        required: ['status'],
        additionalProperties: false,
      },
      500: errorResponse(500, ['INTERNAL_ERROR']),
      503: errorResponse(503, ['REVOCATION_VIEW_STALE', 'DATABASE_UNAVAILABLE'], 'Unhealthy: the message says why.'),
    },
  },
} as const
