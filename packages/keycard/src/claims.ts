/**
 * Claim checks after the signature, in PyJWT 2.10's order (required, iat, nbf, exp, iss, aud, sub,
 * jti) and then Flask-JWT-Extended's (identity claim); an expiry yields to a later failing check, as
 * FJE's second decode of an expired token makes it (`checkClaims`). The time checks are split out because the
 * verified-token cache re-runs only them on a hit. Each check returns its failure (undefined when it
 * passes) instead of throwing it: this is the request path, where a throw costs more than the check.
 */

import { ExpiredSignatureError, JWTDecodeError } from './errors.ts'
import type { ResolvedOptions } from './options.ts'
import type { JwtClaims, JwtHeader } from './types.ts'

const TIME_CLAIM_NAMES = { iat: 'Issued At claim (iat)', nbf: 'Not Before claim (nbf)', exp: 'Expiration Time claim (exp)' } as const

function missing(claim: string): JWTDecodeError {
  return new JWTDecodeError('KEYCARD_JWT_CLAIM_INVALID', `Token is missing the "${claim}" claim`, claim)
}

function notAnInteger(name: 'iat' | 'nbf' | 'exp'): JWTDecodeError {
  return new JWTDecodeError('KEYCARD_JWT_CLAIM_INVALID', `${TIME_CLAIM_NAMES[name]} must be an integer.`, name)
}

/** Python refuses to convert a decimal string of more digits than this (`sys.get_int_max_str_digits`). */
const MAX_INT_DIGITS = 4300

/**
 * A time claim as PyJWT reads it, `int(payload[name])`: a number loses its fraction, a boolean is 0
 * or 1, a decimal string converts (surrounding whitespace, a sign, and single `_` between digits
 * allowed). Python raises a TypeError (a 500 in FJE) for null, a list or an object: those are a 422
 * here. Strict mode has refused anything but a number before this (`checkRequired`). One linear pass.
 * NaN when it is not an integer: a number, not an error object, so the usual path's result stays a
 * number (returning `number | JWTDecodeError` made `checkTimes` twice as slow: V8 then tested
 * every claim with `instanceof`).
 */
function numeric(claims: JwtClaims, name: 'iat' | 'nbf' | 'exp'): number | undefined {
  const value: unknown = claims[name]
  if (value === undefined) return undefined
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return Number.NaN
    return Math.trunc(value)
  }
  if (typeof value === 'boolean') return value ? 1 : 0
  if (typeof value !== 'string') return Number.NaN
  const text = value.trim()
  let i = text.charCodeAt(0) === 43 || text.charCodeAt(0) === 45 ? 1 : 0
  let digits = ''
  for (let lastWasDigit = false; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c >= 48 && c <= 57) {
      lastWasDigit = true
      if (digits.length < MAX_INT_DIGITS + 1) digits += text[i]
    } else if (c === 95 && lastWasDigit && i + 1 < text.length) {
      lastWasDigit = false
    } else {
      return Number.NaN
    }
  }
  if (digits === '' || digits.length > MAX_INT_DIGITS) return Number.NaN
  const n = Number(digits)
  return text.charCodeAt(0) === 45 ? -n : n
}

/** Strict mode: time claims must be JSON numbers (PyJWT would also take `"1700000000"` or `true`). */
function checkTimeTypes(claims: JwtClaims): JWTDecodeError | undefined {
  for (const name of ['iat', 'nbf', 'exp'] as const) {
    const value: unknown = claims[name]
    if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value))) return notAnInteger(name)
  }
  return undefined
}

/** `iat` and `nbf` not in the future, `exp` not past; `now` in seconds (with a fraction, as PyJWT). */
export function checkTimes(
  header: JwtHeader,
  claims: JwtClaims,
  now: number,
  leeway: number,
  allowExpired: boolean,
): JWTDecodeError | ExpiredSignatureError | undefined {
  const iat = numeric(claims, 'iat')
  if (Number.isNaN(iat)) return notAnInteger('iat')
  if (iat !== undefined && iat > now + leeway) {
    return new JWTDecodeError('KEYCARD_JWT_NOT_YET_VALID', 'The token is not yet valid (iat)', 'iat')
  }
  const nbf = numeric(claims, 'nbf')
  if (Number.isNaN(nbf)) return notAnInteger('nbf')
  if (nbf !== undefined && nbf > now + leeway) {
    return new JWTDecodeError('KEYCARD_JWT_NOT_YET_VALID', 'The token is not yet valid (nbf)', 'nbf')
  }
  const exp = numeric(claims, 'exp')
  if (Number.isNaN(exp)) return notAnInteger('exp')
  if (exp !== undefined && exp <= now - leeway && !allowExpired) return new ExpiredSignatureError(header, claims)
  return undefined
}

/** Claims strict mode requires: `exp` unless that token type never expires, `jti`, a known `type`. */
function checkRequired(claims: JwtClaims, options: ResolvedOptions): JWTDecodeError | undefined {
  if (claims.type === undefined) return missing('type')
  if (claims.type !== 'access' && claims.type !== 'refresh') {
    return new JWTDecodeError('KEYCARD_JWT_CLAIM_INVALID', 'Invalid token type: expected "access" or "refresh"', 'type')
  }
  const lifetime = claims.type === 'refresh' ? options.refreshTokenExpires : options.accessTokenExpires
  if (claims.exp === undefined && lifetime !== false) return missing('exp')
  if (claims.jti === undefined) return missing('jti')
  return checkTimeTypes(claims)
}

/** The checks that do not depend on the clock, run once per token (the cache skips them on a hit). */
export function checkStatic(claims: JwtClaims, options: ResolvedOptions): JWTDecodeError | undefined {
  const { decodeIssuer, decodeAudience } = options
  if (decodeIssuer) {
    if (!('iss' in claims)) return missing('iss')
    if (!decodeIssuer.includes(claims.iss as string)) return new JWTDecodeError('KEYCARD_JWT_CLAIM_INVALID', 'Invalid issuer', 'iss')
  }
  if (decodeAudience) {
    const aud = claims.aud
    if (aud === undefined || aud === null || aud === '' || (Array.isArray(aud) && aud.length === 0)) return missing('aud')
    const list = typeof aud === 'string' ? [aud] : aud
    if (!Array.isArray(list) || list.some((a) => typeof a !== 'string')) {
      return new JWTDecodeError('KEYCARD_JWT_CLAIM_INVALID', 'Invalid claim format in token', 'aud')
    }
    if (!decodeAudience.some((a) => list.includes(a)))
      return new JWTDecodeError('KEYCARD_JWT_CLAIM_INVALID', "Audience doesn't match", 'aud')
  }
  if (options.verifySub && 'sub' in claims && typeof claims.sub !== 'string') {
    return new JWTDecodeError('KEYCARD_JWT_CLAIM_INVALID', 'Subject must be a string', 'sub')
  }
  if ('jti' in claims && typeof claims.jti !== 'string') {
    return new JWTDecodeError('KEYCARD_JWT_CLAIM_INVALID', 'JWT ID must be a string', 'jti')
  }
  const identity = claims[options.identityClaim]
  if (identity === undefined) {
    return new JWTDecodeError('KEYCARD_JWT_CLAIM_INVALID', `Missing claim: ${options.identityClaim}`, options.identityClaim)
  }
  // For `sub`, `verifySub` decides (as in FJE); a custom identity claim must be a string in strict mode.
  if (options.strict && options.identityClaim !== 'sub' && typeof identity !== 'string') {
    return new JWTDecodeError(
      'KEYCARD_JWT_CLAIM_INVALID',
      `Identity claim (${options.identityClaim}) must be a string`,
      options.identityClaim,
    )
  }
  return undefined
}

/**
 * Every claim check, in PyJWT's order: required claims, times, then the static ones. An expired token
 * still gets the static checks, and their error wins: FJE decodes an expired token a second time, with
 * only `exp` ignored, to hand its payload to the expired-token loader, and whatever fails in that pass
 * (iss, aud, sub, jti, the identity claim) is what the client is told, as a 422.
 */
export function checkClaims(
  header: JwtHeader,
  claims: JwtClaims,
  options: ResolvedOptions,
  now: number,
  allowExpired: boolean,
): JWTDecodeError | ExpiredSignatureError | undefined {
  if (options.strict) {
    const missingClaim = checkRequired(claims, options)
    if (missingClaim !== undefined) return missingClaim
  }
  const times = checkTimes(header, claims, now, options.leeway, allowExpired)
  if (times !== undefined && !(times instanceof ExpiredSignatureError)) return times
  return checkStatic(claims, options) ?? times
}

/** FJE fills these defaults on decode: a token from another issuer is an access token, not fresh. */
export function withDefaults(claims: JwtClaims): JwtClaims {
  if (claims.type === undefined) claims.type = 'access'
  if (claims.fresh === undefined) claims.fresh = false
  return claims
}
