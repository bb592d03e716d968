/** OpenAPI descriptions of GET /auth/events and GET /admin/audit (routes/audit.ts). */

import { ACCESS_SECURITY_GET, ADMIN, DATABASE, errors, ok, TOKEN_GUARD } from './common.ts'

const EVENT = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    at: { type: 'string', format: 'date-time' },
    type: { type: 'string', description: 'See the server README, "Audit trail".' },
    user_id: { type: ['integer', 'null'] },
    username: { type: ['string', 'null'] },
    session_id: { type: ['string', 'null'] },
    address: { type: ['string', 'null'] },
    user_agent: { type: ['string', 'null'] },
    actor_id: { type: ['integer', 'null'] },
    detail: { type: ['object', 'null'], additionalProperties: { type: ['string', 'number', 'boolean', 'null'] } },
  },
  required: ['id', 'at', 'type', 'user_id', 'username', 'session_id', 'address', 'user_agent', 'actor_id', 'detail'],
  additionalProperties: false,
} as const
const NEXT = { type: ['integer', 'null'], description: 'The `before` of the next page, or null on the last.' } as const
const PAGING = {
  limit: { type: 'integer', minimum: 1 },
  before: { type: 'integer', minimum: 0, description: "The previous page's `next`." },
} as const
const QUERY = { 400: ['INVALID_QUERY'] }

/**
 * The route schemas of routes/audit.ts. Unknown query parameters are a 400 there.
 *
 * @example
 * app.get('/auth/events', { schema: AUDIT_SCHEMAS.ownEvents }, handler)
 */
export const AUDIT_SCHEMAS = {
  ownEvents: {
    tags: ['audit'],
    summary: "The caller's own recent security events, newest first",
    security: ACCESS_SECURITY_GET,
    querystring: {
      type: 'object',
      properties: { ...PAGING, limit: { ...PAGING.limit, maximum: 50, default: 20 } },
      additionalProperties: false,
    },
    response: {
      200: ok(
        'One page.',
        {
          type: 'object',
          properties: { events: { type: 'array', items: EVENT }, next: NEXT },
          required: ['events', 'next'],
          additionalProperties: false,
        },
        { cookies: true },
      ),
      ...errors(TOKEN_GUARD, DATABASE, QUERY),
    },
  },
  adminAudit: {
    tags: ['audit', 'admin'],
    summary: 'Every security event, newest first, with filters',
    security: ACCESS_SECURITY_GET,
    querystring: {
      type: 'object',
      properties: {
        ...PAGING,
        limit: { ...PAGING.limit, maximum: 100, default: 50 },
        user: { type: 'string', description: 'A username or user id.' },
        type: { type: 'string', description: 'An event type such as login.failed.' },
        since: { type: 'string', description: 'A duration in seconds or with a unit (s, m, h, d, w), such as 24h.' },
      },
      additionalProperties: false,
    },
    response: {
      200: ok(
        'One page.',
        {
          type: 'object',
          properties: { events: { type: 'array', items: EVENT }, limit: { type: 'integer' }, next: NEXT },
          required: ['events', 'limit', 'next'],
          additionalProperties: false,
        },
        { cookies: true },
      ),
      ...errors(TOKEN_GUARD, DATABASE, ADMIN, QUERY),
    },
  },
} as const
