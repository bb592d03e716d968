/**
 * Test helpers: `startServer(t, env, { dialect })` boots the real app on 127.0.0.1 port 0 over a SQLite
 * file in a fresh temp dir or a fresh database on the test run's PostgreSQL server, with cheap argon2
 * parameters, captures its pino log lines, and closes it (and removes the dir or drops the database)
 * when the test ends. `api` sends JSON over real HTTP. `forEachDialect` runs a file's tests on both.
 */

import assert from 'node:assert/strict'
import type { ChildProcess } from 'node:child_process'
import { createHmac, randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, type TestContext } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { sharedPostgres } from '@keycard/test-servers'
import type { Kysely } from 'kysely'
import { type AppDeps, buildApp } from '../src/app.ts'
import { ConfigError, loadConfig, type Config } from '../src/config.ts'
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
  /** The database it runs on. */
  dialect: Dialect
  dir: string
  /** What `openDatabase` opens to reach the same database: the SQLite file, or the PostgreSQL URL. */
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

export type Dialect = 'sqlite' | 'postgres'
const ALL_DIALECTS: readonly Dialect[] = ['sqlite', 'postgres']

function dialectFilter(): readonly Dialect[] {
  const given = process.env.KEYCARD_TEST_DIALECT?.trim()
  if (!given) return ALL_DIALECTS
  const picked = given.split(',').map((d) => d.trim())
  const unknown = picked.filter((d) => !ALL_DIALECTS.includes(d as Dialect))
  if (unknown.length > 0)
    throw new Error(`KEYCARD_TEST_DIALECT: unknown dialect ${unknown.join(', ')}; use sqlite, postgres or both (comma-separated)`)
  return ALL_DIALECTS.filter((d) => picked.includes(d))
}

/**
 * The databases every server test runs against, as Kysely's own tests loop over their dialects:
 * SQLite and PostgreSQL. KEYCARD_TEST_DIALECT is a filter for a quick local run
 * (`KEYCARD_TEST_DIALECT=postgres`, or `sqlite`); unset, as in CI, it is both.
 *
 * @example
 * for (const dialect of DIALECTS) describe(dialect, () => { test('…', async (t) => { await startServer(t, {}, { dialect }) }) })
 */
export const DIALECTS: readonly Dialect[] = dialectFilter()

/** The dialect `startServer` uses when a test names none: SQLite (the SQLite-only tests, whatever the filter). */
export const DEFAULT_DIALECT: Dialect = 'sqlite'

/**
 * Declares the tests `body` adds once per dialect of DIALECTS, each inside a `describe(dialect)`.
 *
 * @example
 * forEachDialect((dialect) => {
 *   test('register', async (t) => {
 *     const server = await startServer(t, {}, { dialect })
 *   })
 * })
 */
export function forEachDialect(body: (dialect: Dialect) => void): void {
  for (const dialect of DIALECTS) describe(dialect, () => body(dialect))
}

/** Databases of tests that ended, dropped before the next one is made (or when this process is done). */
const endedDatabases: string[] = []

async function dropEnded(): Promise<void> {
  const shared = await sharedPostgres()
  for (const url of endedDatabases.splice(0)) await shared.dropDatabase(url)
}

process.on('beforeExit', () => {
  if (endedDatabases.length > 0) void dropEnded().catch(() => undefined)
})

/**
 * A new, empty PostgreSQL database on the test run's server (@keycard/test-servers), dropped once
 * the test has ended. Not in the test's own `after` hooks: those run in the order they were added,
 * so the drop would come before the servers and connections the test opened later have closed.
 *
 * @example
 * const url = await postgresDatabase(t) // postgres://keycard:…@127.0.0.1:…/t_…
 */
export async function postgresDatabase(t: TestContext): Promise<string> {
  await dropEnded()
  const url = await (await sharedPostgres()).createDatabase()
  t.after(() => void endedDatabases.push(url))
  return url
}

/**
 * The DATABASE_URL override for servers that must share one database (a restart, a second instance):
 * `{}` on SQLite (every server on the same `dir` opens its keycard.db), a fresh database on PostgreSQL.
 *
 * @example
 * const env = await sharedDatabaseEnv(t, dialect)
 * const a = await startServer(t, env, { dialect, dir })
 * const b = await startServer(t, env, { dialect, dir })
 */
export async function sharedDatabaseEnv(t: TestContext, dialect: Dialect): Promise<Record<string, string>> {
  return dialect === 'postgres' ? { DATABASE_URL: await postgresDatabase(t) } : {}
}

export interface StartOptions {
  /** The database to run on (default DEFAULT_DIALECT); ignored when DATABASE_URL is given. */
  dialect?: Dialect
  /** Reuse a data dir (restart tests); it is then not removed by this server. On PostgreSQL, servers given the same dir share one database. */
  dir?: string
  db?: Kysely<Database>
  /** The account page's directory, instead of web/dist. */
  webDir?: string
  /** How often the server re-reads revocations written by other processes, in ms. */
  revocationSyncMs?: number
  /** More of buildApp's dependencies (onSync, onRevocationEvent, …). */
  deps?: AppDeps
}

/** The PostgreSQL database of each data dir (`dataDir`, or a dir passed to startServer): a restart on the same dir finds its data. */
const databaseOfDir = new Map<string, string>()

/**
 * A new temp dir standing for one database of `dialect`: its keycard.db on SQLite, a new database on
 * PostgreSQL. `testEnv(dir)` names that database, so every server started on the dir and every CLI
 * run with its environment share it.
 *
 * @example
 * const dir = await dataDir(t, dialect)
 * await startServer(t, {}, { dialect, dir }) // then `keycard useradd` with testEnv(dir)
 */
export async function dataDir(t: TestContext, dialect: Dialect): Promise<string> {
  const dir = tempDir(t)
  if (dialect === 'postgres') databaseOfDir.set(dir, await postgresDatabase(t))
  return dir
}

/** The environment every test server starts from; `overrides` win, and `undefined` removes a variable. */
export function testEnv(dir: string, overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    DATABASE_URL: databaseOfDir.get(dir) ?? join(dir, 'keycard.db'),
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

/**
 * An HTTP client for one base URL: JSON bodies, an optional bearer token, the reply parsed when it is JSON.
 *
 * @example
 * const res = await httpApi('http://127.0.0.1:4000')('GET', '/healthz') // res.status === 200
 */
export function httpApi(base: string): (method: string, path: string, options?: RequestOptions) => Promise<Reply> {
  return async (method, path, o = {}) => {
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
    const res = await fetch(base + path, { method, headers, ...(body !== undefined ? { body } : {}) })
    const text = await res.text()
    let parsed: unknown
    try {
      parsed = text ? JSON.parse(text) : undefined
    } catch {
      parsed = undefined
    }
    return { status: res.status, headers: res.headers, body: parsed, text }
  }
}

export async function startServer(
  t: TestContext,
  envOverrides: Record<string, string | undefined> = {},
  options: StartOptions = {},
): Promise<TestServer> {
  const dir = options.dir ?? tempDir(t)
  const dialect = options.dialect ?? DEFAULT_DIALECT
  if (dialect === 'postgres' && !('DATABASE_URL' in envOverrides) && !options.db) {
    // Servers given the same `dir` share a database, as they share dir/keycard.db on SQLite.
    let url = options.dir === undefined ? undefined : databaseOfDir.get(options.dir)
    if (url === undefined) {
      url = await postgresDatabase(t)
      if (options.dir !== undefined) databaseOfDir.set(options.dir, url)
    }
    envOverrides = { ...envOverrides, DATABASE_URL: url }
  }
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

  const api = httpApi(url)

  const server: TestServer = {
    url,
    app,
    config,
    dialect: config.databaseDialect,
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

/**
 * A fresh, migrated-or-not database of `dialect` opened directly (no server): a SQLite file in a temp
 * dir, or a new database on the shared PostgreSQL. Closed (and removed) when the test ends.
 *
 * @example
 * const { db, url } = await openTestDatabase(t, 'postgres')
 * await migrateToLatest(db)
 */
export async function openTestDatabase(t: TestContext, dialect: Dialect): Promise<{ db: Kysely<Database>; url: string; dir: string }> {
  const { url, dir } = await testDatabaseUrl(t, dialect)
  return { db: openBeside(t, { dbPath: url }), url, dir }
}

/**
 * Where a fresh database of `dialect` lives, for a test that opens (and closes) it itself: a SQLite
 * file in a new temp dir, or a new database on the shared PostgreSQL (dropped when the test ends).
 *
 * @example
 * const { url, dir } = await testDatabaseUrl(t, dialect)
 * const db = openDatabase(url)
 */
export async function testDatabaseUrl(t: TestContext, dialect: Dialect): Promise<{ url: string; dir: string }> {
  const dir = tempDir(t)
  return { url: dialect === 'postgres' ? await postgresDatabase(t) : join(dir, 'keycard.db'), dir }
}

/** Opens the server's database beside it (its SQLite file, which WAL allows, or its PostgreSQL database), closed when the test ends. */
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

/**
 * The problems `loadConfig` lists for `env` (on top of INIT_CWD=/srv/app); fails the test when it accepts it.
 *
 * @example
 * assert.match(configProblems({ THROTTLE_ACCOUNT: 'x' }).join('\n'), /THROTTLE_ACCOUNT/)
 */
export function configProblems(env: Record<string, string>): readonly string[] {
  try {
    loadConfig({ INIT_CWD: '/srv/app', ...env })
  } catch (err) {
    assert.ok(err instanceof ConfigError)
    return err.problems
  }
  assert.fail(`no error for ${JSON.stringify(env)}`)
}
