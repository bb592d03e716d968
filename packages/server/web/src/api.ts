/**
 * The fetch wrapper. Tokens live in HttpOnly cookies the page never sees; this module only echoes the
 * readable CSRF cookie in `X-CSRF-TOKEN` on state-changing requests, and when the access token has
 * expired it calls POST /auth/refresh once (shared by concurrent calls) and retries.
 */

export interface User {
  id: number
  username: string
  email: string | null
  admin: boolean
  registered_on: string
}

export interface Session {
  id: string
  created_at: string
  last_used_at: string
  expires_at: string
  user_agent: string | null
  current: boolean
}

export interface UserPage {
  users: User[]
  total: number
  limit: number
  offset: number
}

/** An error answer: `status` and the server's `msg` (or a description of a network failure). */
export class ApiError extends Error {
  readonly status: number
  /** The form field the error is about, when the page knows it. */
  readonly field: string | undefined
  /** The session has ended and the page has gone back to sign-in, which says so: nothing more to show. */
  ended = false
  constructor(status: number, message: string, field?: string) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.field = field
  }
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'

/** Calls that sign in: they send X-Token-Mode: cookie, and a 401 from them is a wrong password, not an ended session. */
const SIGN_IN_PATHS = new Set(['/auth/register', '/auth/login', '/auth/fresh-login'])
const REFRESH_PATH = '/auth/refresh'

let sessionLost: (msg: string) => void = () => {}

/** Called when a signed-in call answers 401 and refreshing did not help: the page goes back to sign-in. */
export function onSessionLost(handler: (msg: string) => void): void {
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
  const headers: Record<string, string> = { Accept: 'application/json' }
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  if (SIGN_IN_PATHS.has(path)) headers['X-Token-Mode'] = 'cookie'
  if (method !== 'GET') {
    const csrf = readCookie(path === REFRESH_PATH ? 'csrf_refresh_token' : 'csrf_access_token')
    if (csrf) headers['X-CSRF-TOKEN'] = csrf
  }
  let response: Response
  try {
    response = await fetch(path, { method, headers, credentials: 'same-origin', body: body === undefined ? null : JSON.stringify(body) })
  } catch {
    throw new ApiError(0, 'Could not reach the server. Check your connection and try again.')
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

function messageOf(status: number, data: unknown): string {
  const msg = (data as { msg?: unknown } | null)?.msg
  return typeof msg === 'string' && msg !== '' ? msg : `The server answered ${status}`
}

/** An access token that a refresh can replace: expired, or already dropped by the browser. */
function refreshable(msg: string): boolean {
  return msg === 'Token has expired' || /^Missing (JWT|cookie)/.test(msg)
}

let refreshing: Promise<boolean> | undefined

/** POST /auth/refresh, once for all the calls that are waiting on it. */
function refresh(): Promise<boolean> {
  refreshing ??= send('POST', REFRESH_PATH, undefined)
    .then((r) => r.status === 200, () => false)
    .finally(() => { refreshing = undefined })
  return refreshing
}

/** Calls the API and returns the JSON body, or throws ApiError with the server's msg. */
export async function api<T>(method: Method, path: string, body?: unknown): Promise<T> {
  let { status, data } = await send(method, path, body)
  const signIn = SIGN_IN_PATHS.has(path)
  if (status === 401 && !signIn && refreshable(messageOf(status, data))) {
    if (await refresh()) ({ status, data } = await send(method, path, body))
  }
  if (status >= 200 && status < 300) return data as T
  const error = new ApiError(status, messageOf(status, data))
  // A 401 that is not about freshness or CSRF means this browser is no longer signed in.
  if (status === 401 && !signIn && error.message !== 'Fresh token required' && !/CSRF/.test(error.message)) {
    error.ended = true
    sessionLost(error.message)
  }
  throw error
}
