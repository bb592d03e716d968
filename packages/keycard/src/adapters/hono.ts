/**
 * Hono 4 adapter: `keycard/hono`. The flow is the adapter kit's (kit.ts); this file only says how
 * Hono reads a request (the Fetch `Request` in `c.req.raw`), sets `c.get('jwt')`, queues Set-Cookie
 * and answers. Unlike `hono/jwt`, keys are imported once and every algorithm is pinned by keycard's
 * options; a jwks-mode key set is cached (keycard's jwks options), not fetched per request.
 *
 * @example
 * const auth = honoKeycard(keycard)
 * const app = new Hono<KeycardEnv>()
 * app.get('/me', auth.jwtRequired(), (c) => c.json({ id: c.get('jwt')!.identity }))
 */

import type { Context, MiddlewareHandler, Next } from 'hono'
import type { JwtRequiredOptions, Keycard, ResolvedGuard } from '../keycard.ts'
import { WebRequestView } from '../request.ts'
import type { AuthResponse } from '../responses.ts'
import type { JwtContext, KeycardUser } from '../types.ts'
import { AdapterKit, type AdapterGlue, type CookieHelpers } from './kit.ts'
import type { AdapterOptions } from './shared.ts'

export type { AdapterOptions } from './shared.ts'
export type { SetCookieOptions } from '../cookies.ts'

/**
 * The context variables a keycard guard sets: `c.get('jwt')`, typed by `KeycardTypes`.
 *
 * @example
 * type Env = { Variables: KeycardVariables & { requestId: string } }
 */
export interface KeycardVariables {
  /** The verified token, or null on an optional route without one (and for `OPTIONS`). */
  jwt: JwtContext | null
}

/**
 * A Hono `Env` with keycard's variables: `new Hono<KeycardEnv>()`. A guarded route's handler is
 * typed by the middleware itself, so this is only needed for `c.get('jwt')` in other middleware.
 *
 * @example
 * const app = new Hono<KeycardEnv>()
 */
export type KeycardEnv = { Variables: KeycardVariables }

/**
 * What `honoKeycard` returns.
 *
 * @example
 * const auth: HonoKeycard<User> = honoKeycard(keycard)
 */
export interface HonoKeycard<User> extends CookieHelpers<Context> {
  /**
   * Middleware that verifies the request's token, sets `c.get('jwt')` and answers auth failures
   * itself. It reads the body (JSON, or a form for a CSRF field) only when the route's locations
   * need it; Hono caches the body, so the handler can read it again.
   */
  jwtRequired(options?: JwtRequiredOptions): MiddlewareHandler<KeycardEnv>
  /** The verified token of a guarded request, typed with your user; throws outside a guarded route. */
  context(c: Context): JwtContext<User>
  /** A keycard error response (status, `WWW-Authenticate`, `{msg}` body), to return from a handler. */
  sendError(c: Context, response: AuthResponse): Response
}

function send(c: Context, response: AuthResponse): Response {
  return c.json(response.body as object, response.status as 400, response.headers)
}

/** R: what a Hono middleware may return (a Response, or the promise of the rest of the chain). */
const glue: AdapterGlue<Context, Context, Next, Response | Promise<void>> = {
  attach(c, context) {
    c.set('jwt', context)
  },
  send,
  next(next, err) {
    if (err === undefined) return next()
    // Thrown, so Hono's compose hands it to app.onError (which takes Error instances only).
    throw err instanceof Error ? err : new Error(String(err))
  },
  appendSetCookie(c, lines) {
    for (const line of lines) c.header('set-cookie', line, { append: true })
  },
  replaceSetCookie(c, edit) {
    const lines = edit(c.res.headers.getSetCookie())
    c.header('set-cookie', undefined)
    for (const line of lines) c.header('set-cookie', line, { append: true })
  },
}

/** node's raw header list when Hono runs on `@hono/node-server` (so a repeated header is seen as such). */
function rawHeadersOf(c: Context): readonly string[] | undefined {
  const env = c.env as { incoming?: { rawHeaders?: unknown } } | undefined
  const raw = env?.incoming?.rawHeaders
  return Array.isArray(raw) ? (raw as string[]) : undefined
}

const JSON_TYPE = /^application\/(?:[^;\s]+\+)?json\s*(?:;|$)/i
const FORM_TYPE = /^(?:application\/x-www-form-urlencoded|multipart\/form-data)\s*(?:;|$)/i

/**
 * The parsed body for the `json` location or a CSRF form field, or a 400 Response when a JSON body
 * does not parse (what Flask answers FJE users: "Failed to decode JSON object").
 */
async function readBody(c: Context, messageKey: string): Promise<{ body: unknown } | Response> {
  const type = c.req.header('content-type') ?? ''
  if (JSON_TYPE.test(type)) {
    const text = await c.req.text()
    if (text === '') return { body: undefined }
    try {
      return { body: JSON.parse(text) as unknown }
    } catch {
      return c.json({ [messageKey]: 'Failed to decode JSON object: the request body is not valid JSON' }, 400)
    }
  }
  if (FORM_TYPE.test(type)) {
    try {
      return { body: await c.req.parseBody() }
    } catch {
      return c.json({ [messageKey]: 'Failed to decode the form body' }, 400)
    }
  }
  return { body: undefined }
}

/**
 * The Hono adapter for `keycard`.
 *
 * @example
 * const auth = honoKeycard(keycard, { implicitRefresh: { within: '5m' } })
 * app.post('/login', async (c) => {
 *   auth.setAccessCookies(c, await keycard.createAccessToken('42'))
 *   return c.json({ login: true })
 * })
 */
export function honoKeycard<User = KeycardUser>(keycard: Keycard<User>, adapterOptions?: AdapterOptions<User>): HonoKeycard<User> {
  const kit = new AdapterKit(keycard, glue, adapterOptions)
  const messageKey = keycard.options.errorMessageKey

  const withBody = async (c: Context, next: Next, guard: ResolvedGuard): Promise<Response | undefined> => {
    const read = await readBody(c, messageKey)
    if (read instanceof Response) return read
    return kit.run(new WebRequestView(c.req.raw, read.body, rawHeadersOf(c)), guard, c, c, next) as Promise<Response | undefined>
  }

  return {
    jwtRequired(guardOptions) {
      const guard = kit.guard(guardOptions)
      const readsBody = kit.needsBody(guard)
      // Without a body to wait for, a refusal or a synchronous pass is decided in the same tick.
      return function keycardGuard(c, next) {
        if (readsBody) return withBody(c, next, guard)
        return kit.run(new WebRequestView(c.req.raw, undefined, rawHeadersOf(c)), guard, c, c, next) as Promise<Response | undefined>
      }
    },
    context: (c) => kit.context(c.get('jwt') as JwtContext | null | undefined, "c.get('jwt')"),
    sendError: send,
    ...kit.cookieHelpers(),
  }
}
