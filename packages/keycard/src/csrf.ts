/**
 * CSRF double submit (FJE `JWT_COOKIE_CSRF_PROTECT`): a cookie-borne token carries a random `csrf`
 * claim, the same value sits in a JavaScript-readable cookie, and state-changing requests must echo
 * it in a header. A cross-site form can send the cookies but cannot read them to set the header.
 */

import { timingSafeEqual } from 'node:crypto'
import { CSRFError, ExpiredSignatureError, JWTDecodeError, type TokenError } from './errors.ts'
import type { JwtClaims } from './types.ts'

/** Compares the echoed value with the token's claim in constant time; returns the failure, if any. */
export function checkCsrf(claims: JwtClaims, sent: string): JWTDecodeError | CSRFError | undefined {
  const expected = claims.csrf
  if (typeof expected !== 'string') return new JWTDecodeError('KEYCARD_JWT_CLAIM_INVALID', 'Missing claim: csrf', 'csrf')
  const a = Buffer.from(expected)
  const b = Buffer.from(sent)
  if (a.length !== b.length || !timingSafeEqual(a, b)) return new CSRFError('CSRF double submit tokens do not match')
  return undefined
}

/**
 * The error to report for a cookie token that failed verification: FJE compares the CSRF value inside
 * its second decode of an expired token, so an expired token with a wrong (or no `csrf` claim to match
 * the) echoed value is a CSRF error, not "Token has expired". Other errors pass through.
 *
 * @example
 * const failure = verify(token)
 * if (failure instanceof TokenError) return csrfOverExpiry(failure, found.csrf)
 */
export function csrfOverExpiry(err: TokenError, sent: string | undefined): TokenError {
  if (sent !== undefined && err instanceof ExpiredSignatureError && err.claims !== undefined) return checkCsrf(err.claims, sent) ?? err
  return err
}
