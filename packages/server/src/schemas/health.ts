/** The OpenAPI descriptions of GET /healthz (routes/health.ts), /health/live and /health/ready (routes/health-probes.ts), and /metrics (metrics/endpoint.ts). */

import { errorResponse, SECURITY } from './common.ts'

const STATUS_OK = {
  type: 'object',
  properties: { status: { type: 'string', const: 'ok' } },
  required: ['status'],
  additionalProperties: false,
} as const

/**
 * The route schemas of the health routes and of /metrics on the main port.
 *
 * @example
 * app.get('/healthz', { schema: HEALTH_SCHEMAS.healthz }, handler)
 */
export const HEALTH_SCHEMAS = {
  healthz: {
    tags: ['health'],
    summary: 'Whether the database can be read and written and the revocation view is fresh',
    response: {
      200: { description: 'Healthy.', ...STATUS_OK },
      500: errorResponse(500, ['INTERNAL_ERROR']),
      503: errorResponse(503, ['REVOCATION_VIEW_STALE', 'DATABASE_UNAVAILABLE'], 'Unhealthy: the message says why.'),
    },
  },
  live: {
    tags: ['health'],
    summary: 'Liveness: the process answers (no database access)',
    response: { 200: { description: 'Alive.', ...STATUS_OK }, 500: errorResponse(500, ['INTERNAL_ERROR']) },
  },
  ready: {
    tags: ['health'],
    summary: 'Readiness: the database can be read and written, no migration is pending, the revocation view is fresh',
    response: {
      200: { description: 'Ready.', ...STATUS_OK },
      500: errorResponse(500, ['INTERNAL_ERROR']),
      503: errorResponse(503, ['REVOCATION_VIEW_STALE', 'DATABASE_UNAVAILABLE', 'MIGRATIONS_PENDING'], 'Not ready: the message says why.'),
    },
  },
  metrics: {
    tags: ['health'],
    summary: 'Prometheus metrics (served here only with METRICS_TOKEN and without METRICS_PORT)',
    security: [{ [SECURITY.metrics]: [] }],
    response: {
      200: { description: 'The Prometheus text exposition format.', content: { 'text/plain': { schema: { type: 'string' } } } },
      401: errorResponse(401, ['METRICS_UNAUTHORIZED']),
      500: errorResponse(500, ['INTERNAL_ERROR']),
    },
  },
} as const
