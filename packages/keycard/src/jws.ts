/**
 * Splits and decodes a compact JWS, reporting failures with PyJWT's messages in PyJWT's order
 * (segments, header padding, header JSON, payload padding, crypto padding, kid, crit, payload JSON,
 * alg). The signature segment is read strictly in both modes: base64url only, and no set bits after
 * the last byte, so each signature has exactly one spelling (PyJWT 2.15 refuses the others). On the
 * request path failures are returned, not thrown (a throw costs V8 a message and its source location,
 * more than the check itself; bench/README.md, "Rejected requests"); `unverifiedHeader`, a public
 * API, throws them. This is parsing only: signatures are checked with node:crypto in `keys.ts`, and the whole path is tested
 * differentially against jose (test/jws-differential.test.ts).
 */

import { isAscii } from 'node:buffer'
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
/** Three base64url segments: one test instead of three when the token is well-formed (the usual case). */
const THREE_BASE64URL_SEGMENTS = /^[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/

/**
 * True when `token` is three base64url segments, the shape of every well-formed compact JWS. Token
 * lookup tests it once and hands the answer to `parseToken`, so the token is scanned once, not twice.
 */
export function hasCompactShape(token: string): boolean {
  return THREE_BASE64URL_SEGMENTS.test(token)
}
/** Objects and arrays nested deeper than this in a payload are refused (strict mode). */
export const MAX_PAYLOAD_DEPTH = 16

function decodeSegment(segment: string, strict: boolean, what: 'header' | 'payload'): Buffer | JWTDecodeError {
  // A base64 string can never be 1 more than a multiple of 4 long; Python's decoder says "padding".
  if (segment.length % 4 === 1 || (strict && !BASE64URL.test(segment))) {
    return new JWTDecodeError('KEYCARD_JWT_MALFORMED', `Invalid ${what} padding`)
  }
  return Buffer.from(segment, 'base64url')
}

/** base64url digit values by char code (-1: not a digit). */
const DIGIT = new Int8Array(128).fill(-1)
for (let i = 0; i < 64; i++) DIGIT['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.charCodeAt(i)] = i

/**
 * The signature's bytes, from its one canonical spelling. A length of 4n+2 leaves 4 unused bits in the
 * last digit, 4n+3 leaves 2 (HS256's 43 digits, ES256's 86, RS256's 342): a decoder that ignores them
 * lets four or sixteen strings carry the same signature. `alphabetChecked`: the caller already knows
 * every character is base64url, so only the last digit is looked at (O(1) on the accepted path).
 */
function decodeSignature(segment: string, alphabetChecked: boolean): Buffer | JWTDecodeError {
  const rest = segment.length % 4
  const last = rest < 2 ? 0 : segment.charCodeAt(segment.length - 1)
  const unused = rest === 2 ? 15 : rest === 3 ? 3 : 0
  // A non-digit (possible only when the alphabet is unchecked) reads as -1, which has every bit set.
  const stray = unused === 0 ? 0 : (last > 127 ? -1 : DIGIT[last]!) & unused
  if (rest === 1 || stray !== 0 || (!alphabetChecked && !BASE64URL.test(segment))) {
    return new JWTDecodeError('KEYCARD_JWT_MALFORMED', 'Invalid crypto padding')
  }
  return Buffer.from(segment, 'base64url')
}

/** JWS extensions a lax keycard understands in `crit`, as PyJWT: `b64` (and only `b64: true`, below). */
const LAX_CRIT = new Set(['b64'])

/**
 * PyJWT's header checks, between decoding and the payload's JSON: a string `kid`, a `crit` naming
 * only extensions it implements and present in the header. Strict mode implements none (RFC 7515
 * §4.1.11: any `crit` then makes the token invalid). `b64: false` (an unencoded payload) is refused in
 * both, as FJE, which never passes PyJWT the detached payload it would need.
 */
function checkHeader(header: Record<string, unknown>, strict: boolean): JWTDecodeError | undefined {
  if ('kid' in header && typeof header.kid !== 'string') {
    return new JWTDecodeError('KEYCARD_JWT_MALFORMED', 'Key ID header parameter must be a string')
  }
  if ('crit' in header) {
    const crit = header.crit
    if (!Array.isArray(crit) || crit.length === 0)
      return new JWTDecodeError('KEYCARD_JWT_MALFORMED', "Invalid 'crit' header: must be a non-empty list")
    for (const ext of crit) {
      if (typeof ext !== 'string') return new JWTDecodeError('KEYCARD_JWT_MALFORMED', "Invalid 'crit' header: values must be strings")
      // Named by the client, so only printed when it is one we know; anything else could be any text.
      if (strict || !LAX_CRIT.has(ext))
        return new JWTDecodeError('KEYCARD_JWT_MALFORMED', `Unsupported critical extension${LAX_CRIT.has(ext) ? `: ${ext}` : ''}`)
      if (!(ext in header)) return new JWTDecodeError('KEYCARD_JWT_MALFORMED', `Critical extension '${ext}' is missing from headers`)
    }
  }
  if (header.b64 === false) {
    // PyJWT's words: FJE never passes it the detached payload an unencoded one needs.
    return new JWTDecodeError(
      'KEYCARD_JWT_MALFORMED',
      'It is required that you pass in a value for the "detached_payload" argument to decode a message having the b64 header set to false.',
    )
  }
  return undefined
}

/** Invalid UTF-8 is refused, as jose and PyJWT do (Buffer#toString would substitute U+FFFD); a BOM is skipped, as both do. */
const UTF8 = new TextDecoder('utf-8', { fatal: true })

function utf8(bytes: Buffer, what: 'header' | 'payload'): string | JWTDecodeError {
  // ASCII (what JSON from every mainstream JWT library is) decodes the same either way, without the
  // strict decoder's validation pass; anything else, a BOM included, goes through it.
  if (isAscii(bytes)) return bytes.toString('latin1')
  try {
    return UTF8.decode(bytes)
  } catch {
    return new JWTDecodeError('KEYCARD_JWT_MALFORMED', `Invalid ${what} string: not valid UTF-8`)
  }
}

function parseObject(json: string, what: 'header' | 'payload'): Record<string, unknown> | JWTDecodeError {
  let value: unknown
  try {
    value = JSON.parse(json)
  } catch (err) {
    // V8 quotes the start of the text ("Unexpected token 'x', \"…\" is not valid JSON"): never echo token content.
    const reason = (err as Error).message.replace(/, (\.\.\.)?".*"(\.\.\.)? is not valid JSON$/s, ', not valid JSON')
    return new JWTDecodeError('KEYCARD_JWT_MALFORMED', `Invalid ${what} string: ${reason}`)
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return new JWTDecodeError('KEYCARD_JWT_MALFORMED', `Invalid ${what} string: must be a json object`)
  }
  return value as Record<string, unknown>
}

/** Deepest nesting of `{`/`[` in a JSON text, skipping strings; stops counting past the limit. */
export function jsonDepthExceeds(json: string, limit: number): boolean {
  // Depth never exceeds the number of `{` and `[`: count them natively first (a typical payload has
  // one `{`), and scan only when there are more than `limit`.
  let brackets = 0
  for (let i = json.indexOf('{'); i !== -1 && brackets <= limit; i = json.indexOf('{', i + 1)) brackets++
  for (let i = json.indexOf('['); i !== -1 && brackets <= limit; i = json.indexOf('[', i + 1)) brackets++
  if (brackets <= limit) return false
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

/**
 * Headers that parsed and passed every header check, by segment, one table per mode: a service sees
 * a handful of distinct headers (one per alg/kid), so most tokens skip the header's decode and
 * JSON.parse. Only headers whose values are all primitives are kept, and each token gets its own
 * shallow copy, so a caller mutating `header` never affects another token. Bounded: cleared when full.
 */
const HEADER_CACHE_MAX = 64
const headerCaches = [new Map<string, JwtHeader>(), new Map<string, JwtHeader>()] as const

function isFlat(header: Record<string, unknown>): boolean {
  for (const key in header) {
    const value = header[key]
    if (value !== null && typeof value === 'object') return false
  }
  return true
}

/** A segment decoded as UTF-8 text, or the failure. */
function segmentText(segment: string, strict: boolean, what: 'header' | 'payload'): string | JWTDecodeError {
  const bytes = decodeSegment(segment, strict, what)
  return bytes instanceof JWTDecodeError ? bytes : utf8(bytes, what)
}

/**
 * The parts of a compact JWS, or the first failure in PyJWT's order (returned, not thrown).
 * `shapeChecked`: the caller already found `hasCompactShape(token)` true.
 */
export function parseToken(token: string, strict: boolean, shapeChecked = false): ParsedToken | JWTDecodeError {
  // PyJWT: rsplit('.', 1) then split('.', 1); with more than three segments the extra dots stay in the payload.
  const last = token.lastIndexOf('.')
  const first = token.indexOf('.')
  if (last === -1 || first === last) return new JWTDecodeError('KEYCARD_JWT_MALFORMED', 'Not enough segments')
  const headerSegment = token.slice(0, first)
  const payloadSegment = token.slice(first + 1, last)
  const cryptoSegment = token.slice(last + 1)
  // Each segment passes the per-segment base64url test when the whole token passes this one; when it
  // does not, the per-segment tests find which segment fails, in PyJWT's order.
  const segmentsChecked = strict && (shapeChecked || hasCompactShape(token))
  const check = strict && !segmentsChecked

  const headerCache = headerCaches[strict ? 1 : 0]
  const known = headerCache.get(headerSegment)
  let header: Record<string, unknown> | JWTDecodeError
  if (known !== undefined) header = { ...known }
  else {
    const text = segmentText(headerSegment, check, 'header')
    header = typeof text === 'string' ? parseObject(text, 'header') : text
    if (header instanceof JWTDecodeError) return header
  }
  const payloadBytes = decodeSegment(payloadSegment, check, 'payload')
  if (payloadBytes instanceof JWTDecodeError) return payloadBytes
  const signature = decodeSignature(cryptoSegment, segmentsChecked)
  if (signature instanceof JWTDecodeError) return signature
  if (known === undefined) {
    const bad = checkHeader(header, strict)
    if (bad !== undefined) return bad
  }
  const payloadJson = utf8(payloadBytes, 'payload')
  if (typeof payloadJson !== 'string') return payloadJson
  if (strict && jsonDepthExceeds(payloadJson, MAX_PAYLOAD_DEPTH)) {
    return new JWTDecodeError('KEYCARD_JWT_MALFORMED', `Invalid payload string: nested deeper than ${MAX_PAYLOAD_DEPTH} levels`)
  }
  const claims = parseObject(payloadJson, 'payload')
  if (claims instanceof JWTDecodeError) return claims

  if (known === undefined) {
    if (!('alg' in header)) return new JWTDecodeError('KEYCARD_JWT_ALG_NOT_ALLOWED', 'Algorithm not specified')
    if (isFlat(header)) {
      if (headerCache.size >= HEADER_CACHE_MAX) headerCache.clear()
      headerCache.set(headerSegment, { ...header } as JwtHeader)
    }
  }
  return { header: header as JwtHeader, claims: claims as JwtClaims, signingInput: token.slice(0, last), signature }
}

/** The header of a token without verifying anything (FJE `get_unverified_jwt_headers`); throws a JWTDecodeError. */
export function unverifiedHeader(token: string): JwtHeader {
  const dot = token.indexOf('.')
  if (dot === -1 || token.lastIndexOf('.') === dot) throw new JWTDecodeError('KEYCARD_JWT_MALFORMED', 'Not enough segments')
  const text = segmentText(token.slice(0, dot), true, 'header')
  const header = typeof text === 'string' ? parseObject(text, 'header') : text
  if (header instanceof JWTDecodeError) throw header
  return header as JwtHeader
}
