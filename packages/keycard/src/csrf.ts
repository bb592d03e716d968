/**
 * CSRF double submit (FJE `JWT_COOKIE_CSRF_PROTECT`): a cookie-borne token carries a random `csrf`
 * claim, the same value sits in a JavaScript-readable cookie, and state-changing requests must echo
 * it in a header. A cross-site form can send the cookies but cannot read them to set the header.
 */

import { timingSafeEqual } from 'node:crypto'
import { CSRFError, JWTDecodeError } from './errors.ts'
import type { JwtClaims } from './types.ts'

/** Compares the echoed value with the token's claim in constant time. */
export function checkCsrf(claims: JwtClaims, sent: string): void {
  const expected = claims.csrf
  if (typeof expected !== 'string') throw new JWTDecodeError('KEYCARD_JWT_CLAIM_INVALID', 'Missing claim: csrf', 'csrf')
  const a = Buffer.from(expected)
  const b = Buffer.from(sent)
  if (a.length !== b.length || !timingSafeEqual(a, b)) throw new CSRFError('CSRF double submit tokens do not match')
}
