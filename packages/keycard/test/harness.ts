/**
 * The one test harness of the keycard suites, and the one place that knows the adapters: a real
 * Fastify 5, Express 5 or Hono 4 (on @hono/node-server) app on 127.0.0.1:0 guarded
 * by keycard (`serve` for routes with their own handlers and cookie operations, `startApp` for the
 * conformance suites' standard routes), HTTP clients (`call` and `send` over fetch, `rawCall` over
 * node:http for repeated headers), assertions on error answers, masking of the values that vary in
 * Set-Cookie lines, and token crafting with any header/payload layout. The library is imported only
 * through its public package names, so a broken `exports` map fails the suites.
 */

import assert from 'node:assert/strict'
import { createHmac, randomUUID } from 'node:crypto'
import { createServer, request as httpRequest, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { TestContext } from 'node:test'
import { serve as serveHono } from '@hono/node-server'
import express, { type Express, type Response as ExpressResponse } from 'express'
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify'
import { type Context, Hono } from 'hono'
import { CompactSign } from 'jose'
import { createKeycard, type JwtContext, type JwtRequiredOptions, type Keycard, type KeycardOptions, type SetCookieOptions } from 'keycard'
import { expressKeycard, type AdapterOptions } from 'keycard/express'
import { fastifyKeycard } from 'keycard/fastify'
import { honoKeycard, type KeycardEnv } from 'keycard/hono'

export const ADAPTERS = ['fastify', 'express', 'hono'] as const
export type Adapter = (typeof ADAPTERS)[number]

/** Each adapter's factory, for tests of what an adapter does at setup (option errors). */
export const ADAPTER_FACTORIES = {
  fastify: fastifyKeycard,
  express: expressKeycard,
  hono: honoKeycard,
} satisfies Record<Adapter, (keycard: Keycard, options?: AdapterOptions<unknown>) => { jwtRequired(o?: JwtRequiredOptions): unknown }>

/** 37 bytes: long enough for HS256. */
export const SECRET = 'keycard-conformance-secret-0123456789'
export const OTHER_SECRET = 'another-secret-that-is-long-enough-0123'

// ---- apps -----------------------------------------------------------------------------------------

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
  /** Returns the JSON body; by default what the guard verified (`describeJwt`). */
  handle?: (ctx: HandlerContext) => unknown | Promise<unknown>
}

export interface AppSpec {
  /** `startApp` only: extra guarded routes, answered like the standard ones. */
  routes?: RouteSpec[]
  /** Called on the Fastify app after the keycard plugin and before the routes (error handlers, hooks). */
  fastify?: (app: FastifyInstance) => void | Promise<void>
  /** Called on the Express app after the routes (error middleware goes last). */
  express?: (app: Express) => void
  /** Called on the Hono app before the routes (onError). */
  hono?: (app: Hono<KeycardEnv>) => void
}

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const

/** Closes a node server started for a test, dropping kept-alive connections. */
function closer(server: Server): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
    })
}

/** The Hono app (the body parsed only where a handler asks, as Hono does), on @hono/node-server. */
async function serveOnHono(
  t: TestContext,
  keycard: Keycard,
  routes: Route[],
  adapterOptions: AdapterOptions<unknown> | undefined,
  spec: AppSpec,
): Promise<string> {
  const app = new Hono<KeycardEnv>()
  const auth = honoKeycard(keycard, adapterOptions)
  spec.hono?.(app)
  for (const route of routes) {
    const handler = async (c: Context<KeycardEnv>) => {
      const cookies: CookieOps = {
        setAccessCookies: (token, o) => auth.setAccessCookies(c, token, o),
        setRefreshCookies: (token, o) => auth.setRefreshCookies(c, token, o),
        unsetJwtCookies: (d) => auth.unsetJwtCookies(c, d),
        unsetAccessCookies: (d) => auth.unsetAccessCookies(c, d),
        unsetRefreshCookies: (d) => auth.unsetRefreshCookies(c, d),
        appendSetCookie: (line) => c.header('set-cookie', line, { append: true }),
      }
      const jwt = route.guard ? (c.get('jwt') ?? null) : null
      const body = route.handle ? await route.handle({ jwt, body: await bodyOf(c), cookies, keycard }) : describeJwt(jwt)
      return c.json(body as object)
    }
    if (route.guard) app.on([...METHODS], route.path, auth.jwtRequired(route.guard), handler)
    else app.on([...METHODS], route.path, handler)
  }
  return listenHono(t, app)
}

/** Serves a Hono app on @hono/node-server at 127.0.0.1:0, closed when the test ends; returns the base URL. */
export async function listenHono(
  t: TestContext,
  app: { fetch: (request: Request, env: never) => Response | Promise<Response> },
): Promise<string> {
  const server = await new Promise<Server>((resolve) => {
    const s = serveHono({ fetch: app.fetch as never, port: 0, hostname: '127.0.0.1' }, () => resolve(s as Server))
  })
  t.after(closer(server))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

/** What Fastify and Express parse for a handler: a JSON or urlencoded body, else undefined. */
async function bodyOf(c: Context): Promise<unknown> {
  const type = c.req.header('content-type') ?? ''
  if (type.startsWith('application/json')) return c.req.json().catch(() => undefined)
  if (type.startsWith('application/x-www-form-urlencoded')) return c.req.parseBody()
  return undefined
}

/** The default answer: where the token was found and whose it is. */
export function describeJwt(jwt: JwtContext | null): unknown {
  return jwt ? { identity: jwt.identity, location: jwt.location, type: jwt.claims.type } : { jwt: null }
}

/**
 * Builds the app for `keycard` (JSON and urlencoded bodies parsed on both adapters), listens on
 * 127.0.0.1:0 and closes it when the test ends; returns the base URL.
 */
export async function serve(
  t: TestContext,
  adapter: Adapter,
  keycard: Keycard,
  routes: Route[],
  adapterOptions?: AdapterOptions<unknown>,
  spec: AppSpec = {},
): Promise<string> {
  if (adapter === 'hono') return serveOnHono(t, keycard, routes, adapterOptions, spec)
  if (adapter === 'fastify') {
    const app = Fastify({ exposeHeadRoutes: false })
    const auth = fastifyKeycard(keycard, adapterOptions)
    await app.register(auth.plugin)
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)))
    })
    await spec.fastify?.(app)
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
          const jwt = route.guard ? (request.jwt ?? null) : null
          return route.handle ? await route.handle({ jwt, body: request.body, cookies, keycard }) : describeJwt(jwt)
        },
      })
    }
    await app.listen({ port: 0, host: '127.0.0.1' })
    t.after(() => app.close())
    return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  }

  const app = express()
  // 'test' keeps Express's default error handler from printing the stacks of expected 500s.
  app.set('env', 'test')
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
      Promise.resolve(route.handle ? route.handle({ jwt, body: req.body, cookies, keycard }) : describeJwt(jwt)).then(
        (body) => res.json(body),
        next,
      )
    }
    if (route.guard) app.all(route.path, auth.jwtRequired(route.guard), handler)
    else app.all(route.path, handler)
  }
  spec.express?.(app)
  const server = await new Promise<ReturnType<typeof app.listen>>((resolve, reject) => {
    const s = app.listen(0, '127.0.0.1', (err?: Error) => (err ? reject(err) : resolve(s)))
  })
  t.after(closer(server))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

export interface RouteSpec {
  path: string
  guard: JwtRequiredOptions
}

/** The conformance suites' routes: every guard flavour they exercise. */
export const STANDARD_ROUTES: RouteSpec[] = [
  { path: '/protected', guard: {} },
  { path: '/optional', guard: { optional: true } },
  { path: '/fresh', guard: { fresh: true } },
  { path: '/refresh', guard: { refresh: true } },
  { path: '/any', guard: { verifyType: false } },
  { path: '/skip-revocation', guard: { skipRevocationCheck: true } },
]

/** What every standard route answers: the verified context, or `{ jwt: null }`. */
function answer(ctx: JwtContext | null): { jwt: Record<string, unknown> | null } {
  if (!ctx) return { jwt: null }
  return { jwt: { identity: ctx.identity, claims: ctx.claims, header: ctx.header, user: ctx.user ?? null, location: ctx.location } }
}

export interface StartedApp {
  url: string
  keycard: Keycard
}

/** A keycard from `options`, served with the standard routes (plus `spec.routes`), each answering the whole verified context. */
export async function startApp(t: TestContext, adapter: Adapter, options: KeycardOptions, spec: AppSpec = {}): Promise<StartedApp> {
  const keycard = await createKeycard(options)
  const routes: Route[] = [...STANDARD_ROUTES, ...(spec.routes ?? [])].map((r) => ({ ...r, handle: ({ jwt }) => answer(jwt) }))
  return { url: await serve(t, adapter, keycard, routes, undefined, spec), keycard }
}

// ---- clients --------------------------------------------------------------------------------------

export interface Reply {
  status: number
  headers: Headers
  /** Parsed JSON when the response is JSON; else undefined (`call`, `rawCall`) or the text (`send`). */
  body: any
  text: string
  /** Every Set-Cookie line. */
  setCookie: string[]
}

export interface CallOptions {
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string
  /** The whole `Authorization` value. */
  authorization?: string
  method?: string
  headers?: Record<string, string>
}

export async function call(url: string, path: string, options: CallOptions = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers }
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`
  if (options.authorization !== undefined) headers.authorization = options.authorization
  const res = await fetch(url + path, { method: options.method ?? 'GET', headers })
  const text = await res.text()
  let body: unknown
  if ((res.headers.get('content-type') ?? '').includes('json')) body = JSON.parse(text)
  return { status: res.status, headers: res.headers, body, text, setCookie: res.headers.getSetCookie() }
}

/** A request with a raw header list, so a header can be sent twice (fetch would merge them). */
export function rawCall(url: string, path: string, rawHeaders: string[], method = 'GET'): Promise<Reply> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    // A raw header list gets no automatic Host header, which node's server requires.
    const headers = ['Host', `${hostname}:${port}`, ...rawHeaders]
    const req = httpRequest({ host: hostname, port: Number(port), path, method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        const received = new Headers()
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') received.set(k, v)
        const isJson = String(res.headers['content-type'] ?? '').includes('json')
        resolve({
          status: res.statusCode ?? 0,
          headers: received,
          body: isJson ? JSON.parse(text) : undefined,
          text,
          setCookie: res.headers['set-cookie'] ?? [],
        })
      })
    })
    req.on('error', reject)
    req.end()
  })
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

/** A request with cookies, a JSON or form body; the method defaults to POST when there is a body. */
export async function send(url: string, path: string, sent: Sent = {}): Promise<Reply> {
  const headers: Record<string, string> = {}
  let body: string | undefined
  if (sent.cookies)
    headers.cookie = Object.entries(sent.cookies)
      .map(([k, v]) => `${k}=${v}`)
      .join('; ')
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
  return { status: res.status, headers: res.headers, body: parsed, text, setCookie: res.headers.getSetCookie() }
}

// ---- assertions -----------------------------------------------------------------------------------

/**
 * Asserts an error answer: exact status and exact `{msg}` body (`key` for another message key), no
 * cookie set, and the 401's `WWW-Authenticate`: the scheme alone for "no credentials", error=
 * "invalid_request" for CSRF failures, error="invalid_token" otherwise, each with the message as
 * error_description; any other status carries none.
 */
export function expectError(
  res: Reply,
  status: number,
  msg: string,
  options: { noCredentials?: boolean; csrf?: boolean; key?: string } = {},
): void {
  assert.deepEqual({ status: res.status, body: res.body }, { status, body: { [options.key ?? 'msg']: msg } })
  const www = res.headers.get('www-authenticate')
  if (status !== 401) {
    assert.equal(www, null, 'only 401 responses carry WWW-Authenticate')
  } else if (options.noCredentials) {
    assert.equal(www, 'Bearer')
  } else {
    assert.equal(
      www,
      `Bearer error="${options.csrf ? 'invalid_request' : 'invalid_token'}", error_description="${msg.replace(/["\\]/g, '?')}"`,
    )
  }
  assert.deepEqual(res.setCookie, [], 'an error response sets no cookie')
}

/** Asserts a 200 with a verified context (a `startApp` route's answer) and returns it. */
export function expectOk(res: Reply): {
  identity: unknown
  claims: Record<string, unknown>
  header: Record<string, unknown>
  user: unknown
  location: string
} {
  assert.equal(res.status, 200, `expected 200, got ${res.status} ${res.text}`)
  assert.ok(res.body?.jwt, 'the handler saw a verified token')
  return res.body.jwt
}

/** Asserts a 200 and returns the body. */
export function ok(res: Reply): any {
  assert.equal(res.status, 200, `expected 200, got ${res.status} ${JSON.stringify(res.body)}`)
  return res.body
}

// ---- cookies --------------------------------------------------------------------------------------

const JWT = /eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/g
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}/g
const DATE = /Expires=(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT/g

/** Set-Cookie lines with JWTs as `<jwt>`, UUIDs as `<uuid>` and (except the epoch) dates as `<date>`. */
export function mask(lines: readonly string[]): string[] {
  return lines.map((l) =>
    l
      .replace(JWT, '<jwt>')
      .replace(UUID, '<uuid>')
      .replace(DATE, (m) => (m === 'Expires=Thu, 01 Jan 1970 00:00:00 GMT' ? m : 'Expires=<date>')),
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
export async function loginJar(
  keycard: Keycard,
  identity = '42',
): Promise<{ cookies: Record<string, string>; access: string; refresh: string; accessCsrf: string; refreshCsrf: string }> {
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

// ---- tokens ---------------------------------------------------------------------------------------

export const now = (): number => Math.floor(Date.now() / 1000)

export function b64url(value: unknown): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')
}

/** Flask-JWT-Extended's access-token layout; a key set to `undefined` is left out. */
export function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const iat = now()
  return { fresh: false, iat, jti: randomUUID(), type: 'access', sub: '42', nbf: iat, csrf: randomUUID(), exp: iat + 900, ...overrides }
}

/** Signs any JSON header/payload with jose (header must name a real algorithm). */
export async function sign(
  payload: unknown,
  options: { key?: Parameters<CompactSign['sign']>[0] | string; header?: Record<string, unknown> } = {},
): Promise<string> {
  const header = { alg: 'HS256', typ: 'JWT', ...options.header } as { alg: string }
  const key = options.key ?? SECRET
  const bytes = new TextEncoder().encode(typeof payload === 'string' ? payload : JSON.stringify(payload))
  return new CompactSign(bytes).setProtectedHeader(header).sign(typeof key === 'string' ? new TextEncoder().encode(key) : key)
}

/** HS256 over raw segments, for layouts jose refuses to produce (crit, no alg, header not JSON). */
export function signSegments(headerSegment: string, payloadSegment: string, secret: string = SECRET, alg = 'sha256'): string {
  const input = `${headerSegment}.${payloadSegment}`
  return `${input}.${createHmac(alg, secret).update(input).digest('base64url')}`
}

/** HS256 over JSON values given raw (anything JSON.stringify takes, or a raw string). */
export function signRaw(header: unknown, payload: unknown, secret: string = SECRET): string {
  return signSegments(b64url(header), b64url(payload), secret)
}

// ---- key sets -------------------------------------------------------------------------------------

/** What a `KeySetServer` answers; change it between requests. */
export interface KeySetAnswer {
  status: number
  /** A string is sent as it is; anything else as JSON. */
  body: unknown
  headers: Record<string, string>
  /** Never answer (the client's timeout must fire). */
  hang?: boolean
  /** Answer 304 when the request's If-None-Match equals the ETag header given. */
  honourEtag?: boolean
  /** Send the body in 64 KiB chunks without Content-Length. */
  chunked?: boolean
}

/** A JWKS endpoint over real HTTP on 127.0.0.1:0, counting the requests it gets. */
export interface KeySetServer {
  url: string
  answer: KeySetAnswer
  /** Requests received so far, with the headers that matter here. */
  requests: { ifNoneMatch: string | undefined; authorization: string | undefined; path: string }[]
  /** Resolves when the server has sent its next complete answer. */
  answered(): Promise<void>
  /** Closes the server (later fetches get ECONNREFUSED). */
  close(): Promise<void>
}

/** Starts a JWKS endpoint serving `body`; closed when the test ends. */
export async function startKeySetServer(t: TestContext, body: unknown, headers: Record<string, string> = {}): Promise<KeySetServer> {
  const waiting: (() => void)[] = []
  const server = createServer((req, res) => {
    const answer = state.answer
    state.requests.push({
      ifNoneMatch: req.headers['if-none-match'],
      authorization: req.headers.authorization,
      path: req.url ?? '',
    })
    if (answer.hang) return
    // A client that stops reading a huge body resets the connection: not this server's failure.
    res.on('error', () => {})
    res.on('finish', () => {
      for (const resolve of waiting.splice(0)) resolve()
    })
    if (answer.honourEtag && req.headers['if-none-match'] !== undefined && req.headers['if-none-match'] === answer.headers.etag) {
      res.writeHead(304, answer.headers).end()
      return
    }
    const text = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body)
    res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers })
    if (!answer.chunked) return void res.end(text)
    for (let i = 0; i < text.length; i += 65536) res.write(text.slice(i, i + 65536))
    res.end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  t.after(() => (server.listening ? close() : undefined))
  const state: KeySetServer = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`,
    answer: { status: 200, body, headers },
    requests: [],
    answered: () => new Promise((resolve) => waiting.push(resolve)),
    close,
  }
  return state
}

/** Yields to the event loop until `condition()` holds (at most `turns` times): no sleeping, no clock. */
export async function pollUntil(condition: () => boolean, what: string, turns = 100_000): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (condition()) return
    await new Promise((resolve) => setImmediate(resolve))
  }
  assert.fail(`timed out waiting until ${what}`)
}
