/**
 * Shared helpers of the conformance and safety suites: a real Fastify 5 or Express 5 app on
 * 127.0.0.1:0 guarded by keycard, HTTP helpers (fetch, and node:http for raw repeated headers), and
 * token crafting with any header/payload layout. The library is imported only through its public
 * package names, so a broken `exports` map fails the suites.
 */

import { createHmac, randomUUID } from 'node:crypto'
import { request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import assert from 'node:assert/strict'
import type { TestContext } from 'node:test'
import express, { type Express } from 'express'
import Fastify, { type FastifyInstance } from 'fastify'
import { CompactSign } from 'jose'
import { createKeycard, type JwtContext, type JwtRequiredOptions, type Keycard, type KeycardOptions } from 'keycard'
import { expressKeycard } from 'keycard/express'
import { fastifyKeycard } from 'keycard/fastify'

export const ADAPTERS = ['fastify', 'express'] as const
export type Adapter = (typeof ADAPTERS)[number]

/** 37 bytes: long enough for HS256. */
export const SECRET = 'keycard-conformance-secret-0123456789'
export const OTHER_SECRET = 'another-secret-that-is-long-enough-0123'

export interface RouteSpec {
  path: string
  guard: JwtRequiredOptions
}

export interface AppSpec {
  /** Extra guarded routes, answered like the standard ones. */
  routes?: RouteSpec[]
  /** Called on the Fastify app after the keycard plugin and before the routes (error handlers, hooks). */
  fastify?: (app: FastifyInstance) => void | Promise<void>
  /** Called on the Express app after the routes (error middleware goes last). */
  express?: (app: Express) => void
}

/** The standard routes: every guard flavour the suites exercise. */
export const STANDARD_ROUTES: RouteSpec[] = [
  { path: '/protected', guard: {} },
  { path: '/optional', guard: { optional: true } },
  { path: '/fresh', guard: { fresh: true } },
  { path: '/refresh', guard: { refresh: true } },
  { path: '/any', guard: { verifyType: false } },
  { path: '/skip-revocation', guard: { skipRevocationCheck: true } },
]

const METHODS = ['GET', 'POST', 'DELETE', 'OPTIONS'] as const

/** What every route answers: the verified context, or `{ jwt: null }`. */
function answer(ctx: JwtContext | null | undefined): { jwt: Record<string, unknown> | null } {
  if (!ctx) return { jwt: null }
  return { jwt: { identity: ctx.identity, claims: ctx.claims, header: ctx.header, user: ctx.user ?? null, location: ctx.location } }
}

export interface StartedApp {
  url: string
  keycard: Keycard
}

/** Builds the app, listens on 127.0.0.1:0 and closes it when the test ends. */
export async function startApp(t: TestContext, adapter: Adapter, options: KeycardOptions, spec: AppSpec = {}): Promise<StartedApp> {
  const keycard = await createKeycard(options)
  const routes = [...STANDARD_ROUTES, ...(spec.routes ?? [])]
  if (adapter === 'fastify') {
    const app = Fastify()
    const auth = fastifyKeycard(keycard)
    await app.register(auth.plugin)
    await spec.fastify?.(app)
    for (const route of routes) {
      app.route({ method: [...METHODS], url: route.path, preHandler: auth.jwtRequired(route.guard), handler: async (request) => answer(request.jwt) })
    }
    await app.listen({ port: 0, host: '127.0.0.1' })
    t.after(() => app.close())
    const { port } = app.server.address() as AddressInfo
    return { url: `http://127.0.0.1:${port}`, keycard }
  }
  const app = express()
  // 'test' keeps Express's default error handler from printing the stacks of expected 500s.
  app.set('env', 'test')
  const auth = expressKeycard(keycard)
  for (const route of routes) {
    app.all(route.path, auth.jwtRequired(route.guard), (req, res) => {
      res.json(answer(req.jwt))
    })
  }
  spec.express?.(app)
  const server = await new Promise<ReturnType<Express['listen']>>((resolve, reject) => {
    const s = app.listen(0, '127.0.0.1', (err?: Error) => (err ? reject(err) : resolve(s)))
  })
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  )
  const { port } = server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}`, keycard }
}

export interface Reply {
  status: number
  headers: Headers
  /** Parsed JSON when the response is JSON, else undefined. */
  body: any
  text: string
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
  return { status: res.status, headers: res.headers, body, text }
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
        resolve({ status: res.statusCode ?? 0, headers: received, body: isJson ? JSON.parse(text) : undefined, text })
      })
    })
    req.on('error', reject)
    req.end()
  })
}

/**
 * Asserts an error answer: exact status and exact `{msg}` body; a 401 carries
 * `WWW-Authenticate: Bearer` (alone for "no credentials", else with error="invalid_token" and the
 * message as error_description), any other status none.
 */
export function expectError(res: Reply, status: number, msg: string, options: { noCredentials?: boolean; key?: string } = {}): void {
  assert.deepEqual({ status: res.status, body: res.body }, { status, body: { [options.key ?? 'msg']: msg } })
  const www = res.headers.get('www-authenticate')
  if (status !== 401) {
    assert.equal(www, null, 'only 401 responses carry WWW-Authenticate')
  } else if (options.noCredentials) {
    assert.equal(www, 'Bearer')
  } else {
    assert.equal(www, `Bearer error="invalid_token", error_description="${msg.replace(/["\\]/g, '?')}"`)
  }
}

/** Asserts a 200 with a verified context and returns it. */
export function expectOk(res: Reply): { identity: unknown; claims: Record<string, unknown>; header: Record<string, unknown>; user: unknown; location: string } {
  assert.equal(res.status, 200, `expected 200, got ${res.status} ${res.text}`)
  assert.ok(res.body?.jwt, 'the handler saw a verified token')
  return res.body.jwt
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
export async function sign(payload: unknown, options: { key?: Parameters<CompactSign['sign']>[0] | string; header?: Record<string, unknown> } = {}): Promise<string> {
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
