/**
 * Helpers of the location, cookie, CSRF and implicit-refresh suites: a real Fastify 5 or Express 5
 * app on 127.0.0.1:0 whose routes can set and unset keycard cookies, a fetch wrapper that sends
 * cookies, JSON or forms and returns every Set-Cookie line, and masking of the values that vary
 * (JWTs, UUIDs, dates). Only the public package names are imported.
 */

import assert from 'node:assert/strict'
import { createHmac, randomUUID } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import type { TestContext } from 'node:test'
import express, { type Response as ExpressResponse } from 'express'
import Fastify, { type FastifyReply } from 'fastify'
import type { JwtContext, JwtRequiredOptions, Keycard, SetCookieOptions } from 'keycard'
import { expressKeycard, type AdapterOptions } from 'keycard/express'
import { fastifyKeycard } from 'keycard/fastify'

export const ADAPTERS = ['fastify', 'express'] as const
export type Adapter = (typeof ADAPTERS)[number]

/** 37 bytes: long enough for HS256. */
export const SECRET = 'keycard-locations-secret-0123456789ab'

/** What a route handler can do to its response, the same on both adapters. */
export interface CookieOps {
  setAccessCookies(token: string, options?: SetCookieOptions): void
  setRefreshCookies(token: string, options?: SetCookieOptions): void
  unsetJwtCookies(domain?: string): void
  unsetAccessCookies(domain?: string): void
  unsetRefreshCookies(domain?: string): void
  /** Appends a Set-Cookie line of the app's own. */
  appendSetCookie(line: string): void
}

export interface HandlerContext {
  jwt: JwtContext | null
  body: unknown
  cookies: CookieOps
  keycard: Keycard
}

export interface Route {
  path: string
  /** Absent: the route is not guarded. */
  guard?: JwtRequiredOptions
  /** Returns the JSON body; by default what the guard verified. */
  handle?: (ctx: HandlerContext) => unknown | Promise<unknown>
}

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const

/** The default answer: where the token was found and whose it is. */
export function describeJwt(jwt: JwtContext | null): unknown {
  return jwt ? { identity: jwt.identity, location: jwt.location, type: jwt.claims.type } : { jwt: null }
}

/** Builds the app for `keycard`, listens on 127.0.0.1:0 and closes it when the test ends; returns the base URL. */
export async function serve(t: TestContext, adapter: Adapter, keycard: Keycard, routes: Route[], adapterOptions?: AdapterOptions<unknown>): Promise<string> {
  if (adapter === 'fastify') {
    const app = Fastify({ exposeHeadRoutes: false })
    const auth = fastifyKeycard(keycard, adapterOptions)
    await app.register(auth.plugin)
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)))
    })
    for (const route of routes) {
      app.route({
        method: [...METHODS],
        url: route.path,
        ...(route.guard ? { preHandler: auth.jwtRequired(route.guard) } : {}),
        handler: async (request, reply: FastifyReply) => {
          const cookies: CookieOps = {
            setAccessCookies: (token, o) => auth.setAccessCookies(reply, token, o),
            setRefreshCookies: (token, o) => auth.setRefreshCookies(reply, token, o),
            unsetJwtCookies: (d) => auth.unsetJwtCookies(reply, d),
            unsetAccessCookies: (d) => auth.unsetAccessCookies(reply, d),
            unsetRefreshCookies: (d) => auth.unsetRefreshCookies(reply, d),
            appendSetCookie: (line) => void reply.header('set-cookie', line),
          }
          const jwt = route.guard ? request.jwt : null
          return route.handle ? await route.handle({ jwt, body: request.body, cookies, keycard }) : describeJwt(jwt)
        },
      })
    }
    await app.listen({ port: 0, host: '127.0.0.1' })
    t.after(() => app.close())
    return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  }

  const app = express()
  const auth = expressKeycard(keycard, adapterOptions)
  app.use(express.json(), express.urlencoded({ extended: false }))
  for (const route of routes) {
    const handler = (req: express.Request, res: ExpressResponse, next: express.NextFunction) => {
      const cookies: CookieOps = {
        setAccessCookies: (token, o) => auth.setAccessCookies(res, token, o),
        setRefreshCookies: (token, o) => auth.setRefreshCookies(res, token, o),
        unsetJwtCookies: (d) => auth.unsetJwtCookies(res, d),
        unsetAccessCookies: (d) => auth.unsetAccessCookies(res, d),
        unsetRefreshCookies: (d) => auth.unsetRefreshCookies(res, d),
        appendSetCookie: (line) => void res.append('Set-Cookie', line),
      }
      const jwt = route.guard ? (req.jwt ?? null) : null
      Promise.resolve(route.handle ? route.handle({ jwt, body: req.body, cookies, keycard }) : describeJwt(jwt)).then((body) => res.json(body), next)
    }
    if (route.guard) app.all(route.path, auth.jwtRequired(route.guard), handler)
    else app.all(route.path, handler)
  }
  const server = await new Promise<ReturnType<typeof app.listen>>((resolve, reject) => {
    const s = app.listen(0, '127.0.0.1', (err?: Error) => (err ? reject(err) : resolve(s)))
  })
  t.after(() => new Promise<void>((resolve) => {
    server.close(() => resolve())
    server.closeAllConnections()
  }))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

export interface Sent {
  method?: string
  headers?: Record<string, string>
  /** Sent as the Cookie header. */
  cookies?: Record<string, string>
  /** Sent as `Authorization: Bearer <token>`. */
  bearer?: string
  /** JSON body with `Content-Type: application/json`. */
  json?: unknown
  /** urlencoded body. */
  form?: Record<string, string>
}

export interface Received {
  status: number
  headers: Headers
  body: any
  setCookie: string[]
}

export async function send(url: string, path: string, sent: Sent = {}): Promise<Received> {
  const headers: Record<string, string> = {}
  let body: string | undefined
  if (sent.cookies) headers.cookie = Object.entries(sent.cookies).map(([k, v]) => `${k}=${v}`).join('; ')
  if (sent.bearer !== undefined) headers.authorization = `Bearer ${sent.bearer}`
  if (sent.json !== undefined) {
    headers['content-type'] = 'application/json'
    body = JSON.stringify(sent.json)
  }
  if (sent.form !== undefined) {
    headers['content-type'] = 'application/x-www-form-urlencoded'
    body = new URLSearchParams(sent.form).toString()
  }
  Object.assign(headers, sent.headers)
  const res = await fetch(url + path, { method: sent.method ?? (body === undefined ? 'GET' : 'POST'), headers, body })
  const text = await res.text()
  const parsed = (res.headers.get('content-type') ?? '').includes('json') && text ? JSON.parse(text) : text
  return { status: res.status, headers: res.headers, body: parsed, setCookie: res.headers.getSetCookie() }
}

/** Asserts a 200 and returns the body. */
export function ok(res: Received): any {
  assert.equal(res.status, 200, `expected 200, got ${res.status} ${JSON.stringify(res.body)}`)
  return res.body
}

/**
 * Asserts an error answer: exact status and `{msg}` body, no cookies set, and the 401's
 * `WWW-Authenticate`: the scheme alone for "no token" (`missing`), `invalid_request` for CSRF
 * failures, `invalid_token` otherwise; other statuses carry none.
 */
export function expectError(res: Received, status: number, msg: string, kind: 'missing' | 'csrf' | 'token' = 'token'): void {
  assert.deepEqual({ status: res.status, body: res.body }, { status, body: { msg } })
  const www = res.headers.get('www-authenticate')
  if (status !== 401) assert.equal(www, null)
  else if (kind === 'missing') assert.equal(www, 'Bearer')
  else assert.equal(www, `Bearer error="${kind === 'csrf' ? 'invalid_request' : 'invalid_token'}", error_description="${msg.replace(/["\\]/g, '?')}"`)
  assert.deepEqual(res.setCookie, [], 'an error response sets no cookie')
}

const JWT = /eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/g
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}/g
const DATE = /Expires=(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT/g

/** Set-Cookie lines with JWTs as `<jwt>`, UUIDs as `<uuid>` and (except the epoch) dates as `<date>`. */
export function mask(lines: readonly string[]): string[] {
  return lines.map((l) =>
    l.replace(JWT, '<jwt>').replace(UUID, '<uuid>').replace(DATE, (m) => (m === 'Expires=Thu, 01 Jan 1970 00:00:00 GMT' ? m : 'Expires=<date>')),
  )
}

/** name → value of the cookies the lines set (a browser's jar after one response). */
export function jar(lines: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const l of lines) {
    const pair = l.split(';', 1)[0]!
    const eq = pair.indexOf('=')
    out[pair.slice(0, eq)] = pair.slice(eq + 1)
  }
  return out
}

/** The `Expires` dates of the lines, as epoch milliseconds. */
export function expiresOf(lines: readonly string[]): number[] {
  return lines.map((l) => Date.parse(/Expires=([^;]+)/.exec(l)?.[1] ?? 'none'))
}

/** The claims of a token, unverified (to read `csrf`, `exp`, custom claims). */
export function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>
}

/** The access and refresh cookies, with their CSRF cookies, as a browser holds them after login. */
export async function loginJar(keycard: Keycard, identity = '42'): Promise<{ cookies: Record<string, string>; access: string; refresh: string; accessCsrf: string; refreshCsrf: string }> {
  const access = await keycard.createAccessToken(identity)
  const refresh = await keycard.createRefreshToken(identity)
  const accessCsrf = claimsOf(access).csrf as string
  const refreshCsrf = claimsOf(refresh).csrf as string
  return {
    cookies: { access_token_cookie: access, csrf_access_token: accessCsrf, refresh_token_cookie: refresh, csrf_refresh_token: refreshCsrf },
    access,
    refresh,
    accessCsrf,
    refreshCsrf,
  }
}

/** An HS256 access token for "42" signed with SECRET that expired a minute ago (FJE's claim layout). */
export function expiredToken(): string {
  const iat = Math.floor(Date.now() / 1000) - 960
  const payload = { fresh: false, iat, jti: randomUUID(), type: 'access', sub: '42', nbf: iat, csrf: randomUUID(), exp: iat + 900 }
  const input = `${Buffer.from('{"alg":"HS256","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`
  return `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`
}
