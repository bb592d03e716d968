/**
 * Splits and decodes a compact JWS, reporting failures with PyJWT's messages in PyJWT's order
 * (segments, header padding, header JSON, payload padding, crypto padding, payload JSON). This is
 * parsing only: signatures are checked with node:crypto in `keys.ts`, and the whole path is tested
 * differentially against jose (test/jws-differential.test.ts).
 */

import { JWTDecodeError } from './errors.ts'
import type { JwtClaims, JwtHeader } from './types.ts'

export interface ParsedToken {
  header: JwtHeader
  claims: JwtClaims
  /** `header.payload`, the bytes the signature covers. */
  signingInput: string
  signature: Buffer
}

const BASE64URL = /^[A-Za-z0-9_-]*$/
/** Objects and arrays nested deeper than this in a payload are refused (strict mode). */
export const MAX_PAYLOAD_DEPTH = 16

function decodeSegment(segment: string, strict: boolean, what: 'header' | 'payload' | 'crypto'): Buffer {
  // A base64 string can never be 1 more than a multiple of 4 long; Python's decoder says "padding".
  if (segment.length % 4 === 1 || (strict && !BASE64URL.test(segment))) {
    throw new JWTDecodeError('KEYCARD_JWT_MALFORMED', `Invalid ${what} padding`)
  }
  return Buffer.from(segment, 'base64url')
}

/** Invalid UTF-8 is refused, as jose and PyJWT do (Buffer#toString would substitute U+FFFD); a BOM is skipped, as both do. */
const UTF8 = new TextDecoder('utf-8', { fatal: true })

function utf8(bytes: Buffer, what: 'header' | 'payload'): string {
  try {
    return UTF8.decode(bytes)
  } catch {
    throw new JWTDecodeError('KEYCARD_JWT_MALFORMED', `Invalid ${what} string: not valid UTF-8`)
  }
}

function parseObject(json: string, what: 'header' | 'payload'): Record<string, unknown> {
  let value: unknown
  try {
    value = JSON.parse(json)
  } catch (err) {
    // V8 quotes the start of the text ("Unexpected token 'x', \"…\" is not valid JSON"): never echo token content.
    const reason = (err as Error).message.replace(/, (\.\.\.)?".*"(\.\.\.)? is not valid JSON$/s, ', not valid JSON')
    throw new JWTDecodeError('KEYCARD_JWT_MALFORMED', `Invalid ${what} string: ${reason}`)
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new JWTDecodeError('KEYCARD_JWT_MALFORMED', `Invalid ${what} string: must be a json object`)
  }
  return value as Record<string, unknown>
}

/** Deepest nesting of `{`/`[` in a JSON text, skipping strings; stops counting past the limit. */
export function jsonDepthExceeds(json: string, limit: number): boolean {
  let depth = 0
  let inString = false
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i)
    if (inString) {
      if (c === 92 /* \ */) i++
      else if (c === 34 /* " */) inString = false
    } else if (c === 34) inString = true
    else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > limit) return true
    } else if (c === 125 || c === 93) depth--
  }
  return false
}

export function parseToken(token: string, strict: boolean): ParsedToken {
  // PyJWT: rsplit('.', 1) then split('.', 1); with more than three segments the extra dots stay in the payload.
  const last = token.lastIndexOf('.')
  const first = token.indexOf('.')
  if (last === -1 || first === last) throw new JWTDecodeError('KEYCARD_JWT_MALFORMED', 'Not enough segments')
  const headerSegment = token.slice(0, first)
  const payloadSegment = token.slice(first + 1, last)
  const cryptoSegment = token.slice(last + 1)

  const header = parseObject(utf8(decodeSegment(headerSegment, strict, 'header'), 'header'), 'header')
  const payloadBytes = decodeSegment(payloadSegment, strict, 'payload')
  const signature = decodeSegment(cryptoSegment, strict, 'crypto')
  const payloadJson = utf8(payloadBytes, 'payload')
  if (strict && jsonDepthExceeds(payloadJson, MAX_PAYLOAD_DEPTH)) {
    throw new JWTDecodeError('KEYCARD_JWT_MALFORMED', `Invalid payload string: nested deeper than ${MAX_PAYLOAD_DEPTH} levels`)
  }
  const claims = parseObject(payloadJson, 'payload')

  if ('kid' in header && typeof header.kid !== 'string') {
    throw new JWTDecodeError('KEYCARD_JWT_MALFORMED', 'Key ID header parameter must be a string')
  }
  if (!('alg' in header)) throw new JWTDecodeError('KEYCARD_JWT_ALG_NOT_ALLOWED', 'Algorithm not specified')
  // We implement no JWS extension, so RFC 7515 §4.1.11 says any `crit` makes the token invalid.
  if (strict && 'crit' in header) {
    throw new JWTDecodeError('KEYCARD_JWT_MALFORMED', 'Unsupported critical header parameter (crit)')
  }
  return { header: header as JwtHeader, claims: claims as JwtClaims, signingInput: token.slice(0, last), signature }
}

/** The header of a token without verifying anything (FJE `get_unverified_jwt_headers`). */
export function unverifiedHeader(token: string): JwtHeader {
  const dot = token.indexOf('.')
  if (dot === -1 || token.lastIndexOf('.') === dot) throw new JWTDecodeError('KEYCARD_JWT_MALFORMED', 'Not enough segments')
  return parseObject(utf8(decodeSegment(token.slice(0, dot), true, 'header'), 'header'), 'header') as JwtHeader
}
