/**
 * Test helpers: `startServer(t, env)` boots the real app on 127.0.0.1 port 0 over a SQLite file in a
 * fresh temp dir, with cheap argon2 parameters, captures its pino log lines, and closes it (and removes
 * the dir) when the test ends. `api` sends JSON over real HTTP.
 */

import type { ChildProcess } from 'node:child_process'
import { createHmac, randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { sharedPostgres } from '@keycard/test-servers'
import type { Kysely } from 'kysely'
import { type AppDeps, buildApp } from '../src/app.ts'
import { loadConfig, type Config } from '../src/config.ts'
import { openDatabase } from '../src/db/database.ts'
import type { Database } from '../src/db/schema.ts'

export const TEST_SECRET = 'test-secret-that-is-at-least-32-bytes-long!'
export const PASSWORD = 'correct horse battery'
/**
 * The 401 of a route that found no token, for an API client (no Keycard cookie): exactly FJE's
 * header-only answer (contract v1), although the routes also read the cookies.
 */
export const NO_TOKEN = 'Missing Authorization Header'
/** The same on POST /auth/refresh, which reads the refresh cookie. */
export const NO_REFRESH_TOKEN = 'Missing Authorization Header'
/** The 401 for a browser (a request carrying a Keycard cookie) that has no access token: both locations' reasons. */
export const NO_TOKEN_BROWSER = 'Missing JWT in headers or cookies (Missing Authorization Header; Missing cookie "access_token_cookie")'

export interface Reply {
  status: number
  headers: Headers
  body: any
  text: string
}

export interface RequestOptions {
  token?: string
  /** JSON-encoded unless `raw` is given. */
  body?: unknown
  /** Sent as is, with `contentType`. */
  raw?: string
  contentType?: string
  headers?: Record<string, string>
}

export interface TestServer {
  url: string
  app: FastifyInstance
  config: Config
  dir: string
  dbPath: string
  /** Every log line so far, raw. */
  logText(): string
  logLines(): Record<string, unknown>[]
  api(method: string, path: string, options?: RequestOptions): Promise<Reply>
  /** Registers (password PASSWORD unless given) and returns the 201 body. */
  register(username: string, extra?: Record<string, unknown>): Promise<{ user: any; access_token: string; refresh_token: string }>
  /** Logs in and returns `{access_token, refresh_token}`; fails the test on anything but 200. */
  login(username: string, password?: string, userAgent?: string): Promise<{ access_token: string; refresh_token: string }>
  close(): Promise<void>
}

/** The databases every server test runs against (as Kysely's own tests loop over their dialects). */
export const DIALECTS = ['sqlite', 'postgres'] as const
export type Dialect = (typeof DIALECTS)[number]

/**
 * The dialect `startServer` uses when a test names none: KEYCARD_TEST_DIALECT, else SQLite.
 */
export const DEFAULT_DIALECT: Dialect = process.env.KEYCARD_TEST_DIALECT === 'postgres' ? 'postgres' : 'sqlite'

/**
 * A new, empty PostgreSQL database on the test run's server (@keycard/test-servers), dropped when
 * the test ends (after the servers it registered closed).
 *
 * @example
 * const url = await postgresDatabase(t) // postgres://keycard:…@127.0.0.1:…/t_…
 */
export async function postgresDatabase(t: TestContext): Promise<string> {
  const shared = await sharedPostgres()
  const url = await shared.createDatabase()
  t.after(() => shared.dropDatabase(url))
  return url
}

export interface StartOptions {
  /** The database to run on (default DEFAULT_DIALECT); ignored when DATABASE_URL is given. */
  dialect?: Dialect
  /** Reuse a data dir (restart tests); it is then not removed by this server. */
  dir?: string
  db?: Kysely<Database>
  /** The account page's directory, instead of web/dist. */
  webDir?: string
  /** How often the server re-reads revocations written by other processes, in ms. */
  revocationSyncMs?: number
  /** More of buildApp's dependencies (onSync, onRevocationEvent, …). */
  deps?: AppDeps
}

/** The environment every test server starts from; `overrides` win, and `undefined` removes a variable. */
export function testEnv(dir: string, overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    DATABASE_URL: join(dir, 'keycard.db'),
    JWT_SECRET: TEST_SECRET,
    LOG_LEVEL: 'info',
    ARGON2_MEMORY_COST: '256',
    ARGON2_TIME_COST: '1',
    PORT: '0',
    ...overrides,
  }
}

/** The address a `keycard serve` child prints on stderr ("Keycard listening on <url>"); rejects if it exits first or takes over `ms`. */
export function listeningUrl(child: ChildProcess, ms = 20_000): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let err = ''
    const timer = setTimeout(() => reject(new Error(`no address printed; stderr: ${err}`)), ms)
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      err += d
      const match = /Keycard listening on (http:\/\/\S+)/.exec(err)
      if (match) {
        clearTimeout(timer)
        resolve(match[1]!)
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`exited with ${code} before listening; stderr: ${err}`))
    })
  })
}

export function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'keycard-server-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

export async function startServer(
  t: TestContext,
  envOverrides: Record<string, string | undefined> = {},
  options: StartOptions = {},
): Promise<TestServer> {
  const dir = options.dir ?? tempDir(t)
  const dialect = options.dialect ?? DEFAULT_DIALECT
  if (dialect === 'postgres' && !('DATABASE_URL' in envOverrides) && !options.db)
    envOverrides = { ...envOverrides, DATABASE_URL: await postgresDatabase(t) }
  const config = loadConfig(testEnv(dir, envOverrides))
  const lines: string[] = []
  const logStream = { write: (chunk: string) => void lines.push(chunk) }
  const app = await buildApp(config, {
    logStream,
    ...(options.db ? { db: options.db } : {}),
    ...(options.webDir ? { webDir: options.webDir } : {}),
    ...(options.revocationSyncMs ? { revocationSyncMs: options.revocationSyncMs } : {}),
    ...options.deps,
  })
  const url = await app.listen({ port: 0, host: '127.0.0.1' })
  let closed = false
  const close = async () => {
    if (closed) return
    closed = true
    await app.close()
  }
  t.after(close)

  const api = async (method: string, path: string, o: RequestOptions = {}): Promise<Reply> => {
    const headers: Record<string, string> = { ...o.headers }
    if (o.token !== undefined) headers.authorization = `Bearer ${o.token}`
    let body: string | undefined
    if (o.raw !== undefined) {
      body = o.raw
      if (o.contentType) headers['content-type'] = o.contentType
    } else if (o.body !== undefined) {
      body = JSON.stringify(o.body)
      headers['content-type'] = o.contentType ?? 'application/json'
    }
    const res = await fetch(url + path, { method, headers, ...(body !== undefined ? { body } : {}) })
    const text = await res.text()
    let parsed: unknown
    try {
      parsed = text ? JSON.parse(text) : undefined
    } catch {
      parsed = undefined
    }
    return { status: res.status, headers: res.headers, body: parsed, text }
  }

  const server: TestServer = {
    url,
    app,
    config,
    dir,
    dbPath: config.databasePath,
    close,
    api,
    logText: () => lines.join(''),
    logLines: () =>
      lines
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    async register(username, extra = {}) {
      const res = await api('POST', '/auth/register', { body: { username, password: PASSWORD, ...extra } })
      if (res.status !== 201) throw new Error(`register ${username}: ${res.status} ${res.text}`)
      return res.body
    },
    async login(username, password = PASSWORD, userAgent) {
      const res = await api('POST', '/auth/login', {
        body: { username, password },
        ...(userAgent ? { headers: { 'user-agent': userAgent } } : {}),
      })
      if (res.status !== 200) throw new Error(`login ${username}: ${res.status} ${res.text}`)
      return res.body
    },
  }
  return server
}

/** The claims of a JWT, unverified. */
export function claimsOf(token: string): Record<string, any> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8'))
}

/** An HS256 token signed with `secret`, with FJE's claims and `overrides` (e.g. a past `exp`). */
export function signToken(claims: Record<string, unknown>, secret = TEST_SECRET): string {
  const now = Math.floor(Date.now() / 1000)
  const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
  const payload = { fresh: false, iat: now, jti: randomUUID(), type: 'access', sub: '1', nbf: now, exp: now + 900, ...claims }
  const input = `${enc({ alg: 'HS256', typ: 'JWT' })}.${enc(payload)}`
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
}

/** Opens the server's SQLite file beside it (WAL allows it), closed when the test ends. */
export function openBeside(t: TestContext, server: { dbPath: string }): Kysely<Database> {
  const db = openDatabase(server.dbPath)
  t.after(() => db.destroy())
  return db
}

/**
 * Freezes `Date` for the rest of the test at a whole second (`ms`, by default the next one), and returns
 * `advance(ms)`. Keycard, jose and the server all read `Date.now()`, so tokens, sessions and purges see
 * the frozen time; the timers stay real, so HTTP, SQLite and the server's own intervals keep working.
 */
export function freezeClock(t: TestContext, ms = Math.ceil(Date.now() / 1000) * 1000): (ms: number) => void {
  t.mock.timers.enable({ apis: ['Date'], now: ms })
  return (step) => t.mock.timers.tick(step)
}
