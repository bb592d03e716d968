/** The OpenAPI description of GET /openapi.json (openapi.ts) itself. */

import { errorResponse } from './common.ts'

/**
 * The route schema of GET /openapi.json.
 *
 * @example
 * app.get(OPENAPI_PATH, { schema: OPENAPI_SCHEMA }, handler)
 */
export const OPENAPI_SCHEMA = {
  tags: ['meta'],
  summary: 'This document (OpenAPI 3.1)',
  response: {
    200: {
      description: 'The OpenAPI document.',
      type: 'object',
      properties: { openapi: { type: 'string' }, info: { type: 'object' }, paths: { type: 'object' } },
      required: ['openapi', 'info', 'paths'],
    },
    500: errorResponse(500, ['INTERNAL_ERROR']),
  },
} as const
