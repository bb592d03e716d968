/** OpenAPI descriptions of /.well-known/jwks.json and /.well-known/openid-configuration (routes/well-known.ts). */

import { errorResponse } from './common.ts'

const PUBLIC_HEADERS = {
  'Cache-Control': { type: 'string', description: '`public, max-age=<JWKS_MAX_AGE>`.' },
  'Access-Control-Allow-Origin': { type: 'string', const: '*' },
} as const
/** HMAC mode (JWT_SECRET): there are no public keys. */
const NO_KEYS = errorResponse(404, ['NO_PUBLIC_KEYS'], 'HMAC mode: this server has no public keys (the message says how to switch).')
const JWK = {
  type: 'object',
  properties: { kty: { type: 'string' }, kid: { type: 'string' }, alg: { type: 'string' }, use: { type: 'string' } },
  required: ['kty'],
  description: 'A public JWK (RFC 7517): never a private member.',
} as const

/**
 * The route schemas of routes/well-known.ts.
 *
 * @example
 * app.get(JWKS_PATH, { schema: WELL_KNOWN_SCHEMAS.jwks }, handler)
 */
export const WELL_KNOWN_SCHEMAS = {
  jwks: {
    tags: ['well-known'],
    summary: 'The public keys that verify tokens now (keyring mode)',
    headers: { type: 'object', properties: { 'if-none-match': { type: 'string' } } },
    response: {
      200: {
        description: 'The key set.',
        type: 'object',
        properties: { keys: { type: 'array', items: JWK } },
        required: ['keys'],
        headers: { ...PUBLIC_HEADERS, ETag: { type: 'string', description: 'A strong ETag of the body.' } },
      },
      304: { description: 'Not modified (If-None-Match named the current ETag).', type: 'null' },
      404: NO_KEYS,
      500: errorResponse(500, ['INTERNAL_ERROR']),
    },
  },
  openidConfiguration: {
    tags: ['well-known'],
    summary: 'The issuer and where its keys are (keyring mode)',
    response: {
      200: {
        description: 'Discovery document: only `issuer` and `jwks_uri`.',
        type: 'object',
        properties: { issuer: { type: 'string' }, jwks_uri: { type: 'string', format: 'uri' } },
        required: ['issuer', 'jwks_uri'],
        additionalProperties: false,
        headers: PUBLIC_HEADERS,
      },
      404: NO_KEYS,
      500: errorResponse(500, ['INTERNAL_ERROR']),
    },
  },
} as const
