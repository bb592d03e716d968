/**
 * Finding the token in a request, with Flask-JWT-Extended 4.7's parsing and messages. Only "not
 * found" lets the guard try the next location; a malformed value stops it. Failures are returned as
 * values, not thrown (the request path: a throw costs more than the lookup).
 */

import type { HeaderCode } from './error-codes.ts'
import { CSRFError, InvalidHeaderError, NoAuthorizationError, type TokenError } from './errors.ts'
import { hasCompactShape } from './jws.ts'
import type { ResolvedOptions } from './options.ts'
import type { RequestView } from './request.ts'
import type { TokenLocation } from './types.ts'

/**
 * The token from the configured header, or a NoAuthorizationError or InvalidHeaderError.
 *
 * Fast path: exactly "<type> <token>", what nearly every request sends. A token of compact-JWS shape
 * there holds no whitespace or comma, so FJE's parsing below would return it too (options guarantee
 * `headerType` holds neither). With `defer`, the shape is not even tested here: the token is handed
 * over as `deferred`, and the guard serves it from the verified-token cache as it is or, on a miss,
 * calls `confirmHeaderToken` before anything else reads it.
 */
function tokenFromHeaders(req: RequestView, options: ResolvedOptions, headerKey: string, defer: boolean): FoundToken | HeaderFailure {
  const { headerName, headerType } = options
  const raw = req.header(headerKey)
  if (
    typeof raw === 'string' &&
    headerType &&
    raw.length > headerType.length + 1 &&
    raw.charCodeAt(headerType.length) === 32 &&
    raw.startsWith(headerType)
  ) {
    const token = raw.slice(headerType.length + 1)
    if (defer) return { token, location: 'headers', csrf: undefined, shape: 'deferred' }
    if (hasCompactShape(token)) return { token, location: 'headers', csrf: undefined, shape: 'valid' }
  }
  const token = tokenFromHeaderValue(raw, headerName, headerType)
  return typeof token === 'string' ? { token, location: 'headers', csrf: undefined, shape: 'unknown' } : token
}

/**
 * Settles a `deferred` token: `valid` when it has the compact-JWS shape, else whatever FJE's parsing
 * of the header makes of it (which may be the failure the lookup would have given).
 */
export function confirmHeaderToken(
  req: RequestView,
  found: FoundToken,
  options: ResolvedOptions,
  headerKey: string,
): HeaderFailure | undefined {
  if (hasCompactShape(found.token)) {
    found.shape = 'valid'
    return undefined
  }
  const token = tokenFromHeaderValue(req.header(headerKey), options.headerName, options.headerType)
  if (typeof token !== 'string') return token
  found.token = token
  found.shape = 'unknown'
  return undefined
}

/** What looking in the header can fail with. */
type HeaderFailure = NoAuthorizationError | InvalidHeaderError<HeaderCode>

/**
 * Flask-JWT-Extended's parsing of the header's value, for anything the fast path does not take:
 * `value.strip().strip(",")`, `re.split(r",\s*", ...)`, keep the entries whose first word is the
 * type, exactly one of them, exactly two words. Written as index scans and regexes that cannot
 * backtrack, never a replace or split in a loop, so the work is linear in the header's length whatever
 * the client sends (a 16 KiB run of commas or spaces costs one pass, not one pass per character).
 */
function tokenFromHeaderValue(raw: string | readonly string[] | undefined, headerName: string, headerType: string): string | HeaderFailure {
  const expected = headerType ? `'${headerName}: ${headerType} <JWT>'` : `'${headerName}: <JWT>'`
  if (typeof raw !== 'string') {
    if (raw !== undefined && raw.length > 1) return new InvalidHeaderError(`Bad ${headerName} header. Expected ${expected}`)
    if (raw === undefined || raw.length === 0) return new NoAuthorizationError(`Missing ${headerName} Header`)
  }
  const value = stripCommas((typeof raw === 'string' ? raw : raw[0]!).trim())
  if (value === '') return new NoAuthorizationError(`Missing ${headerName} Header`)

  if (!headerType) {
    const words = splitWords(value, 0, WORD, 2)
    if (words.length !== 1) return new InvalidHeaderError(`Bad ${headerName} header. Expected ${expected}`)
    return words[0]!
  }
  // The header may hold several comma-separated credentials ("Basic x, Bearer y"); the one whose
  // first word is our type, case-sensitively, must be the only one. The first occurrence of the type
  // in each entry is its candidate: native search skips everything else (a flood of commas costs one
  // indexOf), and a later occurrence in the same entry cannot begin it, so the search goes on from the
  // next comma.
  let match = -1
  let matchEnd = -1
  for (let at = value.indexOf(headerType); at !== -1; ) {
    const comma = value.indexOf(',', at + headerType.length)
    if (startsEntry(value, at) && endsWord(value, at + headerType.length)) {
      if (match !== -1) return new NoAuthorizationError(`Missing '${headerType}' type in '${headerName}' header. Expected ${expected}`)
      match = at
      matchEnd = comma === -1 ? value.length : comma
    }
    at = comma === -1 ? -1 : value.indexOf(headerType, comma + 1)
  }
  if (match === -1) return new NoAuthorizationError(`Missing '${headerType}' type in '${headerName}' header. Expected ${expected}`)
  return secondWord(value, match + headerType.length, matchEnd) ?? new InvalidHeaderError(`Bad ${headerName} header. Expected ${expected}`)
}

/**
 * The entry's token when it has exactly two words (`entry.split()` in FJE): the type, which ends at
 * `from`, and one more before `end` (the entry's comma, or the value's end). The token is found from
 * the end, and the gap before it must be only whitespace: each loop stops at its first character of
 * the other kind, so a value that has a third word is refused after a few characters however long
 * it is (`Bearer x`, 16 KiB of spaces, `y`: one character from each end), and every loop together
 * reads each character at most once.
 */
function secondWord(value: string, from: number, end: number): string | undefined {
  let stop = end
  while (stop > from && isSpace(value.charCodeAt(stop - 1))) stop--
  let start = stop
  while (start > from && !isSpace(value.charCodeAt(start - 1))) start--
  if (start === stop || start === from) return undefined
  for (let i = from; i < start; i++) if (!isSpace(value.charCodeAt(i))) return undefined
  return value.slice(start, stop)
}

/** Python's `str.strip(",")`: one scan from each end. */
function stripCommas(value: string): string {
  let start = 0
  let end = value.length
  while (start < end && value.charCodeAt(start) === 44) start++
  while (end > start && value.charCodeAt(end - 1) === 44) end--
  return start === 0 && end === value.length ? value : value.slice(start, end)
}

/** Whitespace as JavaScript's `\s` (and `String#trim`) sees it. */
function isSpace(c: number): boolean {
  return (
    c === 32 ||
    (c >= 9 && c <= 13) ||
    c === 160 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  )
}

/**
 * `at` begins an entry of `re.split(r",\s*", value)`: it is the value's start, or only whitespace
 * separates it from the comma before. The walk back stays inside the entry, and each entry has one
 * candidate, so all the walks together stay linear.
 */
function startsEntry(value: string, at: number): boolean {
  let i = at - 1
  while (i >= 0 && isSpace(value.charCodeAt(i))) i--
  return i < 0 || value.charCodeAt(i) === 44
}

/** The word that started earlier ends at `stop`: the value's or the entry's end, or whitespace. */
function endsWord(value: string, stop: number): boolean {
  return stop === value.length || value.charCodeAt(stop) === 44 || isSpace(value.charCodeAt(stop))
}

/** Python's `str.split()` words, for `headerType: ''` (commas are part of a word there). */
const WORD = /\S+/g

/**
 * Up to `limit` words from `start`, in one forward pass: a global regex without backtracking
 * (a character class, repeated) run from `lastIndex`.
 */
function splitWords(value: string, start: number, word: RegExp, limit: number): string[] {
  const words: string[] = []
  word.lastIndex = start
  while (words.length < limit) {
    const m = word.exec(value)
    if (m === null) break
    words.push(m[0])
  }
  return words
}

/** The cookie token and, on a CSRF-protected method, the value the client echoed (header or form field). */
function tokenFromCookies(
  req: RequestView,
  options: ResolvedOptions,
  refresh: boolean,
): { token: string; csrf: string | undefined } | NoAuthorizationError | CSRFError {
  const name = refresh ? options.refreshCookieName : options.accessCookieName
  const token = req.cookie?.(name)
  if (!token) return new NoAuthorizationError(`Missing cookie "${name}"`)
  if (!options.csrfProtect || !options.csrfMethods.has(req.method)) return { token, csrf: undefined }
  let csrf = req.header(refresh ? options.refreshCsrfHeaderName : options.accessCsrfHeaderName)
  if (Array.isArray(csrf)) csrf = csrf[0]
  if (!csrf && options.csrfCheckForm && isForm(req.header('content-type'))) {
    const field = fieldOf(req.body, refresh ? options.refreshCsrfFieldName : options.accessCsrfFieldName)
    if (typeof field === 'string') csrf = field
  }
  if (!csrf) return new CSRFError('Missing CSRF token')
  return { token, csrf: csrf as string }
}

/** A urlencoded or multipart body, what Werkzeug's `request.form` reads (a JSON body is not a form). */
function isForm(contentType: string | readonly string[] | undefined): boolean {
  if (typeof contentType !== 'string') return false
  const type = contentType.split(';', 1)[0]!.trim().toLowerCase()
  return type === 'application/x-www-form-urlencoded' || type === 'multipart/form-data'
}

function fieldOf(body: unknown, key: string): unknown {
  return body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>)[key] : undefined
}

function tokenFromQuery(
  req: RequestView,
  options: ResolvedOptions,
): string | NoAuthorizationError | InvalidHeaderError<'KEYCARD_INVALID_QUERY_PARAM'> {
  const { queryStringName: name, queryStringValuePrefix: prefix } = options
  const value = req.query?.(name)
  // FJE's message, typo included: clients may match on it.
  if (!value) return new NoAuthorizationError(`Missing '${name}' query paramater`)
  if (!value.startsWith(prefix)) {
    return new InvalidHeaderError(
      `Invalid value for query parameter '${name}'. Expected the value to start with '${prefix}'`,
      'KEYCARD_INVALID_QUERY_PARAM',
    )
  }
  return value.slice(prefix.length)
}

/** application/json or application/<anything>+json, as Werkzeug's `is_json`. */
function isJson(contentType: string | readonly string[] | undefined): boolean {
  if (typeof contentType !== 'string') return false
  const type = contentType.split(';', 1)[0]!.trim().toLowerCase()
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'))
}

function tokenFromJson(req: RequestView, options: ResolvedOptions, refresh: boolean): string | NoAuthorizationError {
  if (!isJson(req.header('content-type'))) return new NoAuthorizationError('Invalid content-type. Must be application/json.')
  const key = refresh ? options.refreshJsonKey : options.jsonKey
  const token = fieldOf(req.body, key)
  if (typeof token !== 'string' || token === '') return new NoAuthorizationError(`Missing "${key}" key in json data.`)
  return token
}

export interface FoundToken {
  token: string
  location: TokenLocation
  /** The CSRF value the client sent with a cookie token, to compare with the token's `csrf` claim. */
  csrf: string | undefined
  /**
   * `valid`: lookup found the token to have the shape of a compact JWS (`hasCompactShape`), so parsing
   * need not test it again; `unknown`: parsing tests it; `deferred`: the header's fast path took it
   * without looking (see `tokenFromHeaders`); only an exact cache hit may use it before `confirmHeaderToken`.
   */
  shape: 'valid' | 'unknown' | 'deferred'
}

/** The token and where it was found, or the failure: a location's, or "none found" listing each location's reason. */
export function findToken(
  req: RequestView,
  locations: readonly TokenLocation[],
  options: ResolvedOptions,
  headerKey: string,
  refresh: boolean,
): FoundToken | TokenError {
  // One location, the default: no bookkeeping of reasons, and a header token's checks can wait for a
  // cache miss (in strict mode only, where every cached token has passed the shape test).
  if (locations.length === 1 && locations[0] === 'headers') return tokenFromHeaders(req, options, headerKey, options.strict)
  const reasons: string[] = []
  const tried: TokenLocation[] = []
  for (const location of locations) {
    let found: FoundToken | TokenError
    switch (location) {
      case 'headers':
        found = tokenFromHeaders(req, options, headerKey, false)
        break
      case 'cookies': {
        // Contract v1: an API client (no Keycard cookie at all) gets the other locations' answers,
        // exactly as FJE without the cookie location; the cookie path and its CSRF rules apply to
        // a request that carries one of our cookies.
        if (locations.length > 1 && !carriesKeycardCookie(req, options)) continue
        const cookie = tokenFromCookies(req, options, refresh)
        found = 'token' in cookie ? { ...cookie, location, shape: 'unknown' } : cookie
        break
      }
      case 'query_string': {
        const token = tokenFromQuery(req, options)
        found = typeof token === 'string' ? { token, location, csrf: undefined, shape: 'unknown' } : token
        break
      }
      case 'json': {
        const token = tokenFromJson(req, options, refresh)
        found = typeof token === 'string' ? { token, location, csrf: undefined, shape: 'unknown' } : token
        break
      }
    }
    tried.push(location)
    if (!(found instanceof NoAuthorizationError)) return found
    reasons.push(found.message)
  }
  if (reasons.length === 1) return new NoAuthorizationError(reasons[0]!)
  return new NoAuthorizationError(`Missing JWT in ${joinLocations(tried)} (${reasons.join('; ')})`)
}

/** The request carries a JWT or CSRF cookie of ours (by the configured names), whatever its value. */
function carriesKeycardCookie(req: RequestView, options: ResolvedOptions): boolean {
  const cookie = req.cookie
  if (cookie === undefined) return false
  return (
    cookie.call(req, options.accessCookieName) !== undefined ||
    cookie.call(req, options.refreshCookieName) !== undefined ||
    cookie.call(req, options.accessCsrfCookieName) !== undefined ||
    cookie.call(req, options.refreshCsrfCookieName) !== undefined
  )
}

/** "headers, cookies, query_string or json", as FJE words it. */
function joinLocations(locations: readonly TokenLocation[]): string {
  if (locations.length === 1) return locations[0]!
  return `${locations.slice(0, -1).join(', ')} or ${locations[locations.length - 1]}`
}
