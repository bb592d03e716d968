/**
 * The fetch wrapper. Tokens live in HttpOnly cookies the page never sees; this module only echoes the
 * readable CSRF cookie in `X-CSRF-TOKEN` on state-changing requests, and when the access token has
 * expired it calls POST /auth/refresh once (shared by concurrent calls) and retries. The server is at
 * this page's origin, or where index.html's `keycard-api` meta tag says (api-origin.ts).
 */

import { apiLocation, otherHostCookies, unreachable } from './api-origin.ts'
import type { ErrorBody, PublicSession, PublicUser, ServerErrorCode, TokenErrorCode } from '../../src/api-types.ts'

export type { AuditEventList, PublicAuditEvent, RevokedSessions, SessionList, UserPage } from '../../src/api-types.ts'
export type User = PublicUser
export type Session = PublicSession

/**
 * Codes of the errors the page raises itself, beside the server's: the network failed, the browser
 * did not keep the sign-in cookies, or a form was refused before sending.
 */
export type PageErrorCode =
  | 'NETWORK_ERROR'
  | 'UNEXPECTED_ANSWER'
  | 'COOKIES_NOT_KEPT'
  | 'PASSWORDS_DIFFER'
  | 'PASSWORD_TOO_SHORT'
  | 'ORIGIN_NOT_ALLOWED'
  | 'API_URL_INVALID'

/** An error answer: `status`, the server's `code` and `msg` (or the page's own, for a failure it finds itself). */
export class ApiError extends Error {
  readonly status: number
  /** What the page decides on; `message` is only shown. */
  readonly code: ServerErrorCode | TokenErrorCode | PageErrorCode
  /** The form field the error is about, when the server or the page knows it. */
  readonly field: string | undefined
  /** The session has ended and the page has gone back to sign-in, which says so: nothing more to show. */
  ended = false
  constructor(status: number, code: ApiError['code'], message: string, field?: string) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
    this.field = field
  }
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'

/** Calls that sign in: they send X-Token-Mode: cookie, and a 401 from them is a wrong password, not an ended session. */
const SIGN_IN_PATHS = new Set(['/auth/register', '/auth/login', '/auth/fresh-login'])
const REFRESH_PATH = '/auth/refresh'
const where = apiLocation()

let sessionLost: (error: ApiError) => void = () => {}

/** Called when a signed-in call answers 401 and refreshing did not help: the page goes back to sign-in. */
export function onSessionLost(handler: (error: ApiError) => void): void {
  sessionLost = handler
}

export function readCookie(name: string): string | undefined {
  for (const part of document.cookie.split('; ')) {
    const eq = part.indexOf('=')
    if (eq > 0 && part.slice(0, eq) === name) return decodeURIComponent(part.slice(eq + 1))
  }
  return undefined
}

async function send(method: Method, path: string, body: unknown): Promise<{ status: number; data: unknown }> {
  if (where.problem) throw new ApiError(0, 'API_URL_INVALID', where.problem)
  const headers: Record<string, string> = { Accept: 'application/json' }
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  if (SIGN_IN_PATHS.has(path)) headers['X-Token-Mode'] = 'cookie'
  if (method !== 'GET') {
    const csrf = readCookie(path === REFRESH_PATH ? 'csrf_refresh_token' : 'csrf_access_token')
    if (csrf) headers['X-CSRF-TOKEN'] = csrf
  }
  let response: Response
  try {
    // Another origin's cookies are sent only with `include` (and only if it allows this origin).
    const credentials = where.crossOrigin ? 'include' : 'same-origin'
    response = await fetch(where.base + path, { method, headers, credentials, body: body === undefined ? null : JSON.stringify(body) })
  } catch {
    if (!where.crossOrigin) throw new ApiError(0, 'NETWORK_ERROR', 'Could not reach the server. Check your connection and try again.')
    const { code, message } = await unreachable(where.crossOrigin)
    throw new ApiError(0, code, message)
  }
  const text = await response.text()
  let data: unknown = null
  try {
    data = text ? JSON.parse(text) : null
  } catch {
    data = null
  }
  return { status: response.status, data }
}

/** The server's messages are terse (Flask-JWT-Extended's, no period); the page shows them as its own sentences. */
export function sentence(text: string): string {
  const t = text.trim()
  return t === '' ? t : `${t[0]!.toUpperCase()}${t.slice(1)}${/[.!?…]$/.test(t) ? '' : '.'}`
}

function errorOf(status: number, data: unknown): ApiError {
  const body = data as Partial<ErrorBody> | null
  // Not our server's error shape (a proxy's error page, say): still a clear message, never a decision.
  const code = typeof body?.code === 'string' ? body.code : 'UNEXPECTED_ANSWER'
  if (typeof body?.msg !== 'string' || body.msg.trim() === '')
    return new ApiError(status, code, `The server answered ${status} without an explanation. Please try again.`)
  return new ApiError(status, code, sentence(body.msg), typeof body.field === 'string' ? body.field : undefined)
}

/** An access token that a refresh can replace: expired, or already dropped by the browser. */
const REFRESHABLE = new Set<ApiError['code']>(['KEYCARD_JWT_EXPIRED', 'KEYCARD_NO_AUTHORIZATION'])
/** 401s that do not mean the session ended: the page asks for the password again, or it is a bug to show. */
const NOT_ENDED = new Set<ApiError['code']>(['KEYCARD_FRESH_TOKEN_REQUIRED', 'KEYCARD_CSRF'])

/**
 * A sign-in answered 2xx but the browser kept none of its cookies (the readable CSRF twin is the one
 * the page can see). The usual cause: the server sends them Secure and this page is on plain http.
 */
function cookiesNotKept(): ApiError {
  const otherHost = where.crossOrigin ? otherHostCookies(where.crossOrigin) : undefined
  if (otherHost) return new ApiError(0, 'COOKIES_NOT_KEPT', otherHost)
  const plainHttp = location.protocol === 'http:' && !window.isSecureContext
  return new ApiError(
    0,
    'COOKIES_NOT_KEPT',
    plainHttp
      ? 'The server signed you in, but this browser refused the sign-in cookies: they are Secure (HTTPS only) and this page is on plain http. ' +
          'Open the page over HTTPS, or, for development over http, restart the server with COOKIE_SECURE=false.'
      : 'The server signed you in, but this browser did not keep the sign-in cookies. Allow cookies for this site and try again.',
  )
}

let refreshing: Promise<boolean> | undefined

/** POST /auth/refresh, once for all the calls that are waiting on it. */
function refresh(): Promise<boolean> {
  refreshing ??= send('POST', REFRESH_PATH, undefined)
    .then(
      (r) => r.status === 200,
      () => false,
    )
    .finally(() => {
      refreshing = undefined
    })
  return refreshing
}

/**
 * Calls the API and returns the JSON body, or throws ApiError with the server's code and msg.
 *
 * @example
 * ```ts
 * const me = await api<User>('GET', '/auth/me')
 * ```
 */
export async function api<T>(method: Method, path: string, body?: unknown): Promise<T> {
  let { status, data } = await send(method, path, body)
  const signIn = SIGN_IN_PATHS.has(path)
  if (status === 401 && !signIn && REFRESHABLE.has(errorOf(status, data).code)) {
    if (await refresh()) ({ status, data } = await send(method, path, body))
  }
  if (status >= 200 && status < 300) {
    // Never fail silently: without this, the next call's 401 would quietly show "Sign in" again.
    if (signIn && readCookie('csrf_access_token') === undefined) throw cookiesNotKept()
    return data as T
  }
  const error = errorOf(status, data)
  // A 401 that is not about freshness or CSRF means this browser is no longer signed in.
  if (status === 401 && !signIn && !NOT_ENDED.has(error.code)) {
    error.ended = true
    sessionLost(error)
  }
  throw error
}
