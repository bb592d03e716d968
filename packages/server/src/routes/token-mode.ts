/**
 * What the sign-in routes read besides the body: the token mode a client asks for (`X-Token-Mode`), and
 * for a browser's fresh-login, the session its access cookie belongs to.
 */

import { timingSafeEqual } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import { type Keycard, NodeRequestView } from 'keycard'
import type { UserRow } from '../db/schema.ts'
import { HttpError } from '../http-errors.ts'
import { SESSION_CLAIM } from '../revocations.ts'

/**
 * The request header that selects cookie mode on the sign-in routes.
 *
 * @example
 * await api('POST', '/auth/login', { body, headers: { [TOKEN_MODE_HEADER]: 'cookie' } })
 */
export const TOKEN_MODE_HEADER = 'x-token-mode'

/**
 * `cookie` when the client asks for cookie mode, `header` (tokens in the JSON body) when it sends
 * nothing or `header`; a 400 for anything else. A cross-site form cannot send this header, and a
 * cross-site fetch that does needs a CORS preflight this server grants only to CORS_ORIGINS (cors.ts).
 *
 * @example
 * if (tokenMode(request) === 'cookie') auth.setAccessCookies(reply, token)
 */
export function tokenMode(request: FastifyRequest): 'cookie' | 'header' {
  const raw = request.headers[TOKEN_MODE_HEADER]
  if (raw === undefined) return 'header'
  const value = (Array.isArray(raw) ? raw.join(',') : raw).trim().toLowerCase()
  if (value === 'cookie' || value === 'header' || value === '') return value === 'cookie' ? 'cookie' : 'header'
  throw new HttpError(
    400,
    'X-Token-Mode must be "cookie" (tokens in HttpOnly cookies) or "header" (tokens in the response body)',
    'INVALID_TOKEN_MODE',
  )
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

/**
 * The live session this browser is signed in to as `user`, from its access cookie (expired is fine:
 * the signature is checked, and the session row must be live), when the request echoes that token's
 * CSRF value; otherwise undefined.
 *
 * @example
 * const sid = await cookieSessionOf(keycard, request, user)
 */
export async function cookieSessionOf(keycard: Keycard, request: FastifyRequest, user: UserRow): Promise<string | undefined> {
  const options = keycard.options
  const token = new NodeRequestView(request.raw).cookie(options.accessCookieName)
  if (!token) return undefined
  let claims: Record<string, unknown>
  try {
    claims = await keycard.decodeToken(token, { allowExpired: true })
  } catch {
    return undefined
  }
  const sid = claims[SESSION_CLAIM]
  if (claims.type !== 'access' || claims.sub !== String(user.id) || typeof sid !== 'string') return undefined
  let sent = request.headers[options.accessCsrfHeaderName.toLowerCase()]
  if (Array.isArray(sent)) sent = sent[0]
  if (typeof claims.csrf !== 'string' || typeof sent !== 'string' || !sameSecret(claims.csrf, sent)) return undefined
  return sid
}
