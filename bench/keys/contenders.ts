/**
 * The resource servers of issue 14, in the order they are interleaved: bare Fastify (the ceiling),
 * Fastify + keycard on `jwks: url` (its ratio is to the ceiling), the two peers and one reference row
 * (@fastify/jwt's recipe with the PEM memoized), whose ratios are to keycard. Each gets the JWKS URL and the tokens' issuer in its environment.
 */

import { fileURLToPath } from 'node:url'
import type { Contender } from '../contenders.ts'

const here = (name: string) => fileURLToPath(new URL(`../servers/${name}.ts`, import.meta.url))

export const KEYCARD_JWKS = 'fastify-keycard-jwks'
export const JWKS_PEERS = ['fastify-jwt-jwks', 'fastify-jose-jwks', 'fastify-jwt-jwks-memo'] as const

/**
 * The four contenders, wired to the JWKS server at `jwksUrl` whose tokens name `issuer`.
 *
 * @example
 * const contenders = jwksContenders(jwks.url, jwks.origin)
 */
export function jwksContenders(jwksUrl: string, issuer: string): Contender[] {
  const env = { BENCH_JWKS_URL: jwksUrl, BENCH_ISSUER: issuer }
  const row = (id: string, label: string, baseline: string | undefined, auth = true): Contender => ({
    id,
    label,
    ...(baseline ? { baseline } : {}),
    script: here(id),
    env,
    modes: ['repeated', 'fresh'],
    auth,
    method: 'GET',
    path: '/me',
  })
  return [
    row('fastify-bare', 'Fastify 5, no auth (ceiling)', undefined, false),
    row(KEYCARD_JWKS, 'Fastify 5 + keycard/fastify, createKeycard({ jwks: url })', 'fastify-bare'),
    row('fastify-jwt-jwks', 'Fastify 5 + @fastify/jwt + get-jwks', KEYCARD_JWKS),
    row('fastify-jose-jwks', 'Fastify 5 + jose createRemoteJWKSet + jwtVerify (onRequest)', KEYCARD_JWKS),
    // A reference row: the recipe above with get-jwks's per-call JWK → PEM conversion memoized.
    row('fastify-jwt-jwks-memo', 'Fastify 5 + @fastify/jwt + get-jwks, PEM memoized per kid (reference)', KEYCARD_JWKS),
  ]
}
