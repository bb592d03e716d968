/**
 * CSRF double submit (FJE `JWT_COOKIE_CSRF_PROTECT`): a cookie-borne token carries a random `csrf`
 * claim, the same value sits in a JavaScript-readable cookie, and state-changing requests must echo
 * it in a header. A cross-site form can send the cookies but cannot read them to set the header.
 */

import { timingSafeEqual } from 'node:crypto'
import { CSRFError, ExpiredSignatureError, JWTDecodeError } from './errors.ts'
import type { JwtClaims } from './types.ts'

/** Compares the echoed value with the token's claim in constant time. */
export function checkCsrf(claims: JwtClaims, sent: string): void {
  const expected = claims.csrf
  if (typeof expected !== 'string') throw new JWTDecodeError('KEYCARD_JWT_CLAIM_INVALID', 'Missing claim: csrf', 'csrf')
  const a = Buffer.from(expected)
  const b = Buffer.from(sent)
  if (a.length !== b.length || !timingSafeEqual(a, b)) throw new CSRFError('CSRF double submit tokens do not match')
}

/**
 * The error to report for a cookie token that failed verification: FJE compares the CSRF value inside
 * its second decode of an expired token, so an expired token with a wrong (or no `csrf` claim to match
 * the) echoed value is a CSRF error, not "Token has expired". Other errors pass through.
 *
 * @example
 * try { verify(token) } catch (err) { throw csrfOverExpiry(err, found.csrf) }
 */
export function csrfOverExpiry(err: unknown, sent: string | undefined): unknown {
  if (sent !== undefined && err instanceof ExpiredSignatureError && err.claims !== undefined) checkCsrf(err.claims, sent)
  return err
}
