/**
 * What a resource server (in any language) needs to verify this server's tokens on its own, in keyring
 * mode:
 *
 * - `GET /.well-known/jwks.json`: the public half of every key that verifies now (next, current,
 *   previous; keycard's `jwks()`, which never includes a private member or an HMAC secret), cacheable
 *   for JWKS_MAX_AGE seconds, with a strong ETag (a hash of the body) and `304` on a matching
 *   `If-None-Match`. A next key appears here two cache lifetimes before it signs, so no verifier that
 *   honours the max-age meets an unknown `kid`.
 * - `GET /.well-known/openid-configuration`: `issuer` (the tokens' `iss`) and `jwks_uri`. Nothing
 *   else: this server issues no id tokens and has no OAuth endpoints, and the document claims none.
 *
 * In HMAC mode (HS256, JWT_SECRET) there are no public keys: both answer 404 saying so and how to switch.
 */

import { createHash } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { ErrorBody, OpenIdConfiguration } from '../api-types.ts'
import type { Services } from '../app.ts'
import { WELL_KNOWN_SCHEMAS as S } from '../schemas/well-known.ts'

export const JWKS_PATH = '/.well-known/jwks.json'
export const OPENID_CONFIGURATION_PATH = '/.well-known/openid-configuration'

/** The 404 of both routes in HMAC mode. */
export const NO_PUBLIC_KEYS =
  'This server signs HS256 tokens with a shared secret (JWT_SECRET): it has no public keys to publish. ' +
  'Verify its tokens with that secret, or switch to asymmetric keys to publish a JWKS: unset JWT_SECRET and set JWT_ALGORITHM=ES256 (this signs every user out)'

/** The strong ETag of a body: its SHA-256, base64url, quoted. */
function etagOf(body: string): string {
  return `"${createHash('sha256').update(body).digest('base64url')}"`
}

/**
 * Whether `If-None-Match` names `etag` (RFC 9110 §13.1.2: `*`, or any listed tag by the weak
 * comparison, so a `W/` prefix a proxy added still matches).
 *
 * @example
 * noneMatch('W/"abc", "def"', '"def"') // true
 */
export function noneMatch(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false
  return header.split(',').some((tag) => {
    const t = tag.trim()
    return t === '*' || (t.startsWith('W/') ? t.slice(2) : t) === etag
  })
}

/**
 * @example
 * registerWellKnownRoutes(app, services) // GET /.well-known/jwks.json → {"keys": [...]}
 */
export function registerWellKnownRoutes(app: FastifyInstance, s: Services): void {
  const { signing, keycard } = s
  if (signing.mode === 'hmac') {
    const body: ErrorBody = { msg: NO_PUBLIC_KEYS, code: 'NO_PUBLIC_KEYS' }
    const none = (_request: FastifyRequest, reply: FastifyReply) => reply.code(404).send(body)
    app.get(JWKS_PATH, { schema: S.jwks }, none)
    app.get(OPENID_CONFIGURATION_PATH, { schema: S.openidConfiguration }, none)
    return
  }
  // Public, the same for everyone: any cache (and any origin's script) may keep it for max-age.
  const cacheControl = `public, max-age=${s.config.jwksMaxAge}`
  const publicHeaders = (reply: FastifyReply) =>
    reply
      .header('cache-control', cacheControl)
      .header('access-control-allow-origin', '*')
      .header('content-type', 'application/json; charset=utf-8')

  // The body changes only when the keys do: hashed again only then.
  let last = { body: '', etag: etagOf('') }
  app.get(JWKS_PATH, { schema: S.jwks }, (request, reply) => {
    const body = JSON.stringify(keycard.jwks())
    if (body !== last.body) last = { body, etag: etagOf(body) }
    publicHeaders(reply).header('etag', last.etag)
    if (noneMatch(request.headers['if-none-match'], last.etag)) return reply.code(304).send()
    return reply.send(last.body)
  })

  const configuration: OpenIdConfiguration = { issuer: signing.issuer, jwks_uri: `${signing.issuer}${JWKS_PATH}` }
  const discovery = JSON.stringify(configuration)
  app.get(OPENID_CONFIGURATION_PATH, { schema: S.openidConfiguration }, (_request, reply) => publicHeaders(reply).send(discovery))
}
