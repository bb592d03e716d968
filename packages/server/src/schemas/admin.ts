/** OpenAPI descriptions of /admin/users (routes/admin.ts); query parameters are checked by hand there. */

import {
  ACCESS_SECURITY,
  ACCESS_SECURITY_GET,
  ADMIN,
  DATABASE,
  errors,
  JSON_BODY,
  message,
  ok,
  PATH_PARAM,
  PUBLIC_USER,
  TOKEN_GUARD,
} from './common.ts'

/**
 * The route schemas of routes/admin.ts.
 *
 * @example
 * app.get('/admin/users', { schema: ADMIN_SCHEMAS.listUsers }, handler)
 */
export const ADMIN_SCHEMAS = {
  listUsers: {
    tags: ['admin'],
    summary: 'Users by id, a page at a time by key',
    security: ACCESS_SECURITY_GET,
    querystring: {
      type: 'object',
      properties: {
        limit: { type: 'integer', minimum: 1, maximum: 100, default: 50 },
        after: { type: 'integer', minimum: 0, description: "The previous page's `next` (omit for the first page)." },
      },
    },
    response: {
      200: ok(
        'One page.',
        {
          type: 'object',
          properties: {
            users: { type: 'array', items: PUBLIC_USER },
            total: { type: 'integer' },
            limit: { type: 'integer' },
            next: { type: ['integer', 'null'], description: 'The `after` of the next page, or null on the last.' },
          },
          required: ['users', 'total', 'limit', 'next'],
          additionalProperties: false,
        },
        { cookies: true },
      ),
      ...errors(TOKEN_GUARD, DATABASE, ADMIN, { 400: ['INVALID_QUERY'] }),
    },
  },
  deleteUser: {
    tags: ['admin'],
    summary: 'Delete a user and revoke their sessions',
    security: ACCESS_SECURITY,
    params: { type: 'object', properties: { id: { type: 'string', pattern: '^[0-9]{1,15}$' } }, required: ['id'] },
    response: {
      200: ok('Deleted.', message(true), { cookies: true }),
      ...errors(JSON_BODY, PATH_PARAM, TOKEN_GUARD, DATABASE, ADMIN, { 404: ['USER_NOT_FOUND'] }),
    },
  },
} as const
