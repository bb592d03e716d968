/**
 * Finding the token in a request, with Flask-JWT-Extended 4.7's parsing and messages. Only "not
 * found" lets the guard try the next location; a malformed value stops it.
 */

import { CSRFError, InvalidHeaderError, NoAuthorizationError } from './errors.ts'
import { hasCompactShape } from './jws.ts'
import type { ResolvedOptions } from './options.ts'
import type { RequestView } from './request.ts'
import type { TokenLocation } from './types.ts'

/**
 * The token from the configured header; throws NoAuthorizationError or InvalidHeaderError.
 *
 * Fast path: exactly "<type> <token>", what nearly every request sends. A token of compact-JWS shape
 * there holds no whitespace or comma, so FJE's parsing below would return it too (options guarantee
 * `headerType` holds neither). With `defer`, the shape is not even tested here: the token is handed
 * over as `deferred`, and the guard serves it from the verified-token cache as it is or, on a miss,
 * calls `confirmHeaderToken` before anything else reads it.
 */
function tokenFromHeaders(req: RequestView, options: ResolvedOptions, headerKey: string, defer: boolean): FoundToken {
  const { headerName, headerType } = options
  const raw = req.header(headerKey)
  if (typeof raw === 'string' && headerType && raw.length > headerType.length + 1 && raw.charCodeAt(headerType.length) === 32 && raw.startsWith(headerType)) {
    const token = raw.slice(headerType.length + 1)
    if (defer) return { token, location: 'headers', csrf: undefined, shape: 'deferred' }
    if (hasCompactShape(token)) return { token, location: 'headers', csrf: undefined, shape: 'valid' }
  }
  return { token: tokenFromHeaderValue(raw, headerName, headerType), location: 'headers', csrf: undefined, shape: 'unknown' }
}

/**
 * Settles a `deferred` token: `valid` when it has the compact-JWS shape, else whatever FJE's parsing
 * of the header makes of it (which may throw, as the lookup would have).
 */
export function confirmHeaderToken(req: RequestView, found: FoundToken, options: ResolvedOptions, headerKey: string): void {
  if (hasCompactShape(found.token)) {
    found.shape = 'valid'
    return
  }
  found.token = tokenFromHeaderValue(req.header(headerKey), options.headerName, options.headerType)
  found.shape = 'unknown'
}

/** Flask-JWT-Extended's parsing of the header's value, for anything the fast path does not take. */
function tokenFromHeaderValue(raw: string | readonly string[] | undefined, headerName: string, headerType: string): string {
  const expected = headerType ? `'${headerName}: ${headerType} <JWT>'` : `'${headerName}: <JWT>'`
  if (typeof raw !== 'string') {
    if (raw !== undefined && raw.length > 1) throw new InvalidHeaderError(`Bad ${headerName} header. Expected ${expected}`)
    if (raw === undefined || raw.length === 0) throw new NoAuthorizationError(`Missing ${headerName} Header`)
  }
  // Python's str.strip().strip(","): surrounding whitespace, then surrounding commas.
  const value = (typeof raw === 'string' ? raw : raw[0]!).trim().replace(/^,+|,+$/g, '')
  if (value === '') throw new NoAuthorizationError(`Missing ${headerName} Header`)

  if (!headerType) {
    const parts = value.split(/\s+/).filter(Boolean)
    if (parts.length !== 1) throw new InvalidHeaderError(`Bad ${headerName} header. Expected ${expected}`)
    return parts[0]!
  }
  // The header may hold several comma-separated credentials ("Basic x, Bearer y"); the one whose
  // first word is our type, case-sensitively, must be the only one.
  const entries = value.split(/,\s*/).filter((entry) => entry.trim().split(/\s+/)[0] === headerType)
  if (entries.length !== 1) {
    throw new NoAuthorizationError(`Missing '${headerType}' type in '${headerName}' header. Expected ${expected}`)
  }
  const parts = entries[0]!.trim().split(/\s+/)
  if (parts.length !== 2) throw new InvalidHeaderError(`Bad ${headerName} header. Expected ${expected}`)
  return parts[1]!
}

/** The cookie token and, on a CSRF-protected method, the value the client echoed (header or form field). */
function tokenFromCookies(req: RequestView, options: ResolvedOptions, refresh: boolean): { token: string; csrf: string | undefined } {
  const name = refresh ? options.refreshCookieName : options.accessCookieName
  const token = req.cookie?.(name)
  if (!token) throw new NoAuthorizationError(`Missing cookie "${name}"`)
  if (!options.csrfProtect || !options.csrfMethods.has(req.method)) return { token, csrf: undefined }
  let csrf = req.header(refresh ? options.refreshCsrfHeaderName : options.accessCsrfHeaderName)
  if (Array.isArray(csrf)) csrf = csrf[0]
  if (!csrf && options.csrfCheckForm && isForm(req.header('content-type'))) {
    const field = fieldOf(req.body, refresh ? options.refreshCsrfFieldName : options.accessCsrfFieldName)
    if (typeof field === 'string') csrf = field
  }
  if (!csrf) throw new CSRFError('Missing CSRF token')
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

function tokenFromQuery(req: RequestView, options: ResolvedOptions): string {
  const { queryStringName: name, queryStringValuePrefix: prefix } = options
  const value = req.query?.(name)
  // FJE's message, typo included: clients may match on it.
  if (!value) throw new NoAuthorizationError(`Missing '${name}' query paramater`)
  if (!value.startsWith(prefix)) {
    throw new InvalidHeaderError(`Invalid value for query parameter '${name}'. Expected the value to start with '${prefix}'`, 'KEYCARD_INVALID_QUERY_PARAM')
  }
  return value.slice(prefix.length)
}

/** application/json or application/<anything>+json, as Werkzeug's `is_json`. */
function isJson(contentType: string | readonly string[] | undefined): boolean {
  if (typeof contentType !== 'string') return false
  const type = contentType.split(';', 1)[0]!.trim().toLowerCase()
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'))
}

function tokenFromJson(req: RequestView, options: ResolvedOptions, refresh: boolean): string {
  if (!isJson(req.header('content-type'))) throw new NoAuthorizationError('Invalid content-type. Must be application/json.')
  const key = refresh ? options.refreshJsonKey : options.jsonKey
  const token = fieldOf(req.body, key)
  if (typeof token !== 'string' || token === '') throw new NoAuthorizationError(`Missing "${key}" key in json data.`)
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

/** The token and where it was found; throws the "none found" error listing each location's reason. */
export function findToken(
  req: RequestView,
  locations: readonly TokenLocation[],
  options: ResolvedOptions,
  headerKey: string,
  refresh: boolean,
): FoundToken {
  // One location, the default: no bookkeeping of reasons, and a header token's checks can wait for a
  // cache miss (in strict mode only, where every cached token has passed the shape test).
  if (locations.length === 1 && locations[0] === 'headers') return tokenFromHeaders(req, options, headerKey, options.strict)
  const reasons: string[] = []
  for (const location of locations) {
    try {
      switch (location) {
        case 'headers':
          return tokenFromHeaders(req, options, headerKey, false)
        case 'cookies':
          return { ...tokenFromCookies(req, options, refresh), location, shape: 'unknown' }
        case 'query_string':
          return { token: tokenFromQuery(req, options), location, csrf: undefined, shape: 'unknown' }
        case 'json':
          return { token: tokenFromJson(req, options, refresh), location, csrf: undefined, shape: 'unknown' }
      }
    } catch (err) {
      if (!(err instanceof NoAuthorizationError)) throw err
      reasons.push(err.message)
    }
  }
  if (reasons.length === 1) throw new NoAuthorizationError(reasons[0]!)
  throw new NoAuthorizationError(`Missing JWT in ${joinLocations(locations)} (${reasons.join('; ')})`)
}

/** "headers, cookies, query_string or json", as FJE words it. */
function joinLocations(locations: readonly TokenLocation[]): string {
  if (locations.length === 1) return locations[0]!
  return `${locations.slice(0, -1).join(', ')} or ${locations[locations.length - 1]}`
}
