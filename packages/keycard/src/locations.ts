/**
 * Finding the token in a request, with Flask-JWT-Extended 4.7's parsing and messages. Only "not
 * found" lets the guard try the next location; a malformed value stops it.
 */

import { InvalidHeaderError, NoAuthorizationError } from './errors.ts'
import type { ResolvedOptions } from './options.ts'
import type { RequestView } from './request.ts'
import type { TokenLocation } from './types.ts'

/** The token from the configured header; throws NoAuthorizationError or InvalidHeaderError. */
export function tokenFromHeaders(req: RequestView, options: ResolvedOptions, headerKey: string): string {
  const { headerName, headerType } = options
  const expected = headerType ? `'${headerName}: ${headerType} <JWT>'` : `'${headerName}: <JWT>'`
  const raw = req.header(headerKey)
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
  // Fast path: exactly "Bearer <token>", what nearly every request sends.
  if (value.length > headerType.length + 1 && value.charCodeAt(headerType.length) === 32 && value.startsWith(headerType)) {
    const rest = value.slice(headerType.length + 1)
    if (!/[\s,]/.test(rest)) return rest
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

/** The token and where it was found; throws the "none found" error listing each location's reason. */
export function findToken(
  req: RequestView,
  locations: readonly TokenLocation[],
  options: ResolvedOptions,
  headerKey: string,
): { token: string; location: TokenLocation } {
  const reasons: string[] = []
  for (const location of locations) {
    try {
      switch (location) {
        case 'headers':
          return { token: tokenFromHeaders(req, options, headerKey), location }
        default:
          throw new NoAuthorizationError(`Token location '${location}' is not read by this version`)
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
