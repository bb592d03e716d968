/** The OpenAPI description of GET /auth/verify (routes/verify.ts): forward-auth for reverse proxies. */

import { errorResponse, SECURITY, type SecurityRequirement, TOKEN_401, TOKEN_422 } from './common.ts'

/**
 * The 200 body; also verify.ts's compiled serializer (kept exact: `additionalProperties: false`).
 *
 * @example
 * VERIFIED_SCHEMA.required // ['id', 'admin']
 */
export const VERIFIED_SCHEMA = {
  type: 'object',
  properties: { id: { type: 'string' }, admin: { type: 'boolean' } },
  required: ['id', 'admin'],
  additionalProperties: false,
} as const

const header = (description: string, schema: object = { type: 'string' }) => ({ ...schema, description })

/**
 * The route schema of GET /auth/verify. Every token failure is a 401 here (never 422), for nginx.
 *
 * @example
 * app.get('/auth/verify', { schema: VERIFY_SCHEMA }, verify)
 */
export const VERIFY_SCHEMA = {
  tags: ['verify'],
  summary: 'Forward-auth: is this bearer token good? (nginx auth_request, Traefik ForwardAuth, Envoy ext_authz)',
  description: 'Bearer tokens only, never cookies. The identity goes back in headers for the proxy to pass on.',
  security: [{ [SECURITY.bearer]: [] }] as readonly SecurityRequirement[],
  response: {
    200: {
      description: 'The token is good.',
      ...VERIFIED_SCHEMA,
      headers: {
        'X-User-Id': header('The user id (the token’s `sub`).', { type: 'string', pattern: '^[1-9][0-9]{0,15}$' }),
        'X-User-Admin': header('Whether the user is an admin now (the database, not the token).', {
          type: 'string',
          enum: ['true', 'false'],
        }),
        'X-Session-Id': header('The session id (the token’s `sid`).'),
      },
    },
    401: {
      ...errorResponse(401, [...TOKEN_401, ...TOKEN_422, 'KEYCARD_CLAIMS_VERIFICATION_FAILED'], 'The token is missing or not good.'),
      headers: { 'WWW-Authenticate': header('`Bearer error="invalid_token"`, with a description when the identity is wrong.') },
    },
    500: errorResponse(500, ['INTERNAL_ERROR']),
    503: errorResponse(503, ['REVOCATION_VIEW_STALE'], 'This instance cannot confirm its revocation state.'),
  },
} as const
