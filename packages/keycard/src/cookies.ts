/**
 * Set-Cookie lines for tokens in cookies, laid out as Flask-JWT-Extended (Werkzeug) writes them:
 * the JWT cookie is HttpOnly; its CSRF twin is readable by JavaScript so the page can echo it in
 * `X-CSRF-TOKEN`. Adapters append these lines; they never build cookies themselves.
 */

import { KeycardError, KeycardOptionError } from './errors.ts'
import type { ResolvedOptions } from './options.ts'

export type CookieKind = 'access' | 'refresh'

export interface SetCookieOptions {
  /** Seconds the cookies live; by default session cookies (`sessionCookie`), or one year as FJE. */
  maxAge?: number
  /** Overrides `cookieDomain` for these cookies. */
  domain?: string
}

/** FJE's hard-coded lifetime of non-session cookies: 365 days and 2 hours (31540000 s). */
const PERSISTENT_MAX_AGE = 31_540_000
const EPOCH = 'Thu, 01 Jan 1970 00:00:00 GMT'

interface CookieSpec {
  name: string
  path: string
  httpOnly: boolean
}

function specs(options: ResolvedOptions, kind: CookieKind): CookieSpec[] {
  const access = kind === 'access'
  const list: CookieSpec[] = [
    {
      name: access ? options.accessCookieName : options.refreshCookieName,
      path: access ? options.accessCookiePath : options.refreshCookiePath,
      httpOnly: true,
    },
  ]
  if (options.csrfProtect && options.csrfInCookies) {
    list.push({
      name: access ? options.accessCsrfCookieName : options.refreshCsrfCookieName,
      path: access ? options.accessCsrfCookiePath : options.refreshCsrfCookiePath,
      httpOnly: false,
    })
  }
  return list
}

function line(
  options: ResolvedOptions,
  spec: CookieSpec,
  value: string,
  maxAge: number | undefined,
  expires: string | undefined,
  domain: string | undefined,
): string {
  if (domain !== undefined && !/^\.?[A-Za-z0-9.-]+$/.test(domain))
    throw new KeycardOptionError('domain', `${JSON.stringify(domain)} is not a domain name.`)
  let out = `${spec.name}=${value}`
  const d = domain ?? options.cookieDomain
  if (d) out += `; Domain=${d.replace(/^\./, '')}`
  if (expires) out += `; Expires=${expires}`
  if (maxAge !== undefined) out += `; Max-Age=${maxAge}`
  if (options.cookieSecure) out += '; Secure'
  if (spec.httpOnly) out += '; HttpOnly'
  out += `; Path=${spec.path}`
  if (options.cookieSameSite) out += `; SameSite=${options.cookieSameSite}`
  return out
}

/** The `csrf` claim of a token we are about to hand out; read without verification, since we minted it. */
export function csrfClaimOf(token: string): string | undefined {
  const parts = token.split('.')
  if (parts.length !== 3) throw new KeycardError('KEYCARD_JWT_MALFORMED', 'Not enough segments')
  try {
    const claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as { csrf?: unknown }
    return typeof claims.csrf === 'string' ? claims.csrf : undefined
  } catch {
    throw new KeycardError('KEYCARD_JWT_MALFORMED', 'Invalid payload string: not JSON')
  }
}

/** Set-Cookie lines for a token and, with CSRF protection, its readable CSRF cookie. */
export function setCookieLines(options: ResolvedOptions, kind: CookieKind, token: string, opts: SetCookieOptions = {}): string[] {
  if (!/^[A-Za-z0-9_.-]+$/.test(token))
    throw new KeycardError('KEYCARD_JWT_MALFORMED', 'A cookie token must be a compact JWT (base64url segments and dots)')
  const maxAge = opts.maxAge ?? (options.sessionCookie ? undefined : PERSISTENT_MAX_AGE)
  if (maxAge !== undefined && (!Number.isInteger(maxAge) || maxAge < 0))
    throw new KeycardOptionError('maxAge', `expected a whole number of seconds, got ${maxAge}.`)
  const expires = maxAge === undefined ? undefined : new Date(Date.now() + maxAge * 1000).toUTCString()
  const [jwtSpec, csrfSpec] = specs(options, kind)
  const lines = [line(options, jwtSpec!, token, maxAge, expires, opts.domain)]
  if (csrfSpec) {
    const csrf = csrfClaimOf(token)
    if (csrf === undefined)
      throw new KeycardError(
        'KEYCARD_JWT_CLAIM_INVALID',
        'The token has no csrf claim; mint it with this keycard (csrfProtect is on), or turn csrfInCookies off',
      )
    lines.push(line(options, csrfSpec, csrf, maxAge, expires, opts.domain))
  }
  return lines
}

/** Set-Cookie lines that delete the cookies of `kind`, as FJE's `unset_*_cookies`. */
export function unsetCookieLines(options: ResolvedOptions, kind: CookieKind, domain?: string): string[] {
  return specs(options, kind).map((spec) => line(options, spec, '', undefined, EPOCH, domain))
}

/** The cookie names `kind` sets, so an adapter can drop lines it queued earlier in the same response. */
export function cookieNames(options: ResolvedOptions, kind: CookieKind): string[] {
  return specs(options, kind).map((spec) => spec.name)
}

/** `existing` Set-Cookie lines without those naming any of `names` (a logout overrides an implicit refresh). */
export function withoutCookies(existing: unknown, names: readonly string[]): string[] {
  const lines = existing === undefined ? [] : Array.isArray(existing) ? existing.map(String) : [String(existing)]
  return lines.filter((l) => !names.some((n) => l.startsWith(`${n}=`)))
}
