/**
 * Property-based fuzzing (fast-check) of every HTTP route of the real app, over real HTTP on loopback:
 * hostile tokens (garbage, forged, expired, alg none, huge, unknown session), Authorization styles,
 * cookies and CSRF values, X-Token-Mode, X-Forwarded-For garbage (TRUST_PROXY=true, so the server
 * parses it), content types, bodies (wrong types, deep nesting, over the limit, invalid UTF-8,
 * duplicate and prototype keys), query strings and path parameters, mixed with valid tokens of a real
 * user and admin so the fuzz gets past the guards. Every answer: no 5xx; every error is JSON
 * `{msg, code}` (429 with Retry-After), with no stack trace, and no token sent is echoed anywhere.
 *
 * The route table must cover every route the app registers (read from `printRoutes()`), so a route
 * added later fails this test until it is fuzzed too. Bounded: a few dozen requests per route.
 */

import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import { test, type TestContext } from 'node:test'
import fc from 'fast-check'
import type { FastifyInstance } from 'fastify'
import { createPasswordHasher } from '../src/passwords.ts'
import { createUser } from '../src/users.ts'
import { routeTable } from './openapi-check.ts'
import { type Dialect, forEachDialect, openBeside, PASSWORD, signToken, startServer, tempDir, type TestServer } from './helpers.ts'

type Auth = 'none' | 'access' | 'refresh' | 'admin'
interface RouteSpec {
  /** The token the route's guard wants; the fuzz sends that identity's cookies and CSRF value. */
  auth: Auth
}

/**
 * Every route, by `METHOD path` as Fastify prints it. Routes of other step-8 branches are listed too
 * (they are fuzzed once merged); a route missing here fails the coverage test.
 */
const ROUTES: Readonly<Record<string, RouteSpec>> = {
  'GET /': { auth: 'none' },
  'GET /assets/*': { auth: 'none' },
  'GET /healthz': { auth: 'none' },
  'GET /openapi.json': { auth: 'none' },
  'GET /health/live': { auth: 'none' },
  'GET /health/ready': { auth: 'none' },
  'GET /.well-known/jwks.json': { auth: 'none' },
  'GET /.well-known/openid-configuration': { auth: 'none' },
  'POST /auth/register': { auth: 'none' },
  'POST /auth/login': { auth: 'none' },
  'POST /auth/fresh-login': { auth: 'none' },
  'POST /auth/refresh': { auth: 'refresh' },
  'POST /auth/logout': { auth: 'access' },
  'POST /auth/logout-all': { auth: 'access' },
  'POST /auth/password': { auth: 'access' },
  'GET /auth/me': { auth: 'access' },
  'GET /auth/tokens': { auth: 'access' },
  'DELETE /auth/tokens/:id': { auth: 'access' },
  'GET /auth/verify': { auth: 'access' },
  'GET /auth/events': { auth: 'access' },
  'GET /admin/users': { auth: 'admin' },
  'DELETE /admin/users/:id': { auth: 'admin' },
  'GET /admin/audit': { auth: 'admin' },
}

/** `METHOD path` of every route (HEAD, which Fastify adds to GETs, left out). */
function routesOf(app: FastifyInstance): string[] {
  return routeTable(app).filter((route) => !route.startsWith('HEAD '))
}

// ---- hostile input ------------------------------------------------------------------------------------

const fill = (unit: string, size: number) => unit.repeat(Math.ceil(size / unit.length)).slice(0, size)
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')

/** Tokens that must never get past a guard, made once per server (the times are the server's now). */
function hostileTokens(): string[] {
  const now = Math.floor(Date.now() / 1000)
  return [
    'garbage',
    'a.b.c',
    '...',
    fill('a.', 9000),
    `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: '1', type: 'access', exp: now + 900, sid: randomUUID() })}.`,
    signToken({ sub: '1', sid: randomUUID() }, 'a-forged-secret-that-is-long-enough-000'),
    signToken({ sub: '1', sid: randomUUID(), iat: now - 2000, nbf: now - 2000, exp: now - 1000 }),
    signToken({ sub: '1', sid: randomUUID() }),
    signToken({ sub: '999999999', sid: randomUUID() }),
    signToken({ sub: '1\r\nX: y', sid: randomUUID() }),
    signToken({ sub: '1', sid: { $ne: null } }),
    signToken({ sub: '1', type: 'refresh', sid: randomUUID() }),
    signToken({ sub: '1', exp: 'soon', sid: randomUUID() }),
  ]
}

/** Strings for body fields and query values: wrong types come from `fieldValue`. */
const text = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.constantFrom('', ' ', 'admin', 'root', '0', '-1', '1e309', '%00', '../..', '__proto__', fill('x', 300), fill('é', 3000)),
)
const fieldValue = fc.oneof(text, fc.constantFrom(null, true, 0, -1, 1.5, 2 ** 64, [], {}, ['a'], { $gt: '' }), fc.constant(PASSWORD))

/** A body: a Buffer sent as is. Objects of the fields routes read, or hostile raw bytes. */
const body: fc.Arbitrary<Buffer> = fc.oneof(
  fc
    .dictionary(fc.constantFrom('username', 'password', 'new_password', 'email', 'device_token', 'x'), fieldValue, { maxKeys: 4 })
    .map((o) => Buffer.from(JSON.stringify(o))),
  fc.jsonValue({ maxDepth: 3 }).map((v) => Buffer.from(JSON.stringify(v) ?? 'null')),
  fc
    .constantFrom(
      '',
      'null',
      '"str"',
      '[]',
      '{',
      '{"username":"a","username":"b","password":"x","password":"y"}',
      '{"__proto__":{"admin":true},"username":"p","password":"correct horse battery"}',
      '{"constructor":{"prototype":{"admin":true}},"username":"p"}',
      '{"username":"\\ud800","password":"\\udfff"}',
      `${fill('[', 5000)}${fill(']', 5000)}`,
      `${fill('{"a":', 20_000)}1${fill('}', 4000)}`,
      `{"username":"${fill('a', 70_000)}"}`,
      '\u0000\u0001',
    )
    .map((s) => Buffer.from(s)),
  fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.concat([Buffer.from('{"username":"'), Buffer.from(bytes), Buffer.from('"}')])),
  fc.constant(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0xff, 0x22, 0x7d])),
)

const headerText = fc.string({ unit: fc.constantFrom('a', '1', '.', ',', ' ', ';', '=', ':', '"', '[', ']', '%'), maxLength: 40 })

const request = fc.record(
  {
    // Indexes into the server's token list: real tokens first, then the hostile ones.
    token: fc.nat(99),
    authStyle: fc.constantFrom('Bearer ', 'bearer ', 'Basic ', 'Bearer  ', 'Bearer x, Bearer ', ''),
    cookie: fc.oneof(
      fc.constant('jar'),
      headerText,
      fc.nat(99).map((i) => `#${i}`),
    ),
    csrf: fc.oneof(fc.constant('jar'), headerText),
    tokenMode: fc.constantFrom('cookie', 'header', '', 'COOKIE', 'x', 'cookie, header'),
    xff: fc.oneof(
      fc.constantFrom('garbage', '999.1.1.1', '::::', '1.2.3.4, , ,', ' ', fill('a', 200), '[::1]:80', '::ffff:1.2.3.4', '2001:db8::1'),
      headerText,
    ),
    contentType: fc.constantFrom(
      'application/json',
      'application/json; charset=utf-8',
      'application/json; charset=latin1',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/jsonx',
      'application/vnd.api+json',
    ),
    body,
    query: fc.oneof(
      fc
        .dictionary(fc.constantFrom('limit', 'after', 'offset', 'before', 'user', 'type', 'since', '__proto__', 'jwt'), text, {
          maxKeys: 3,
        })
        .map((o) => new URLSearchParams(o).toString()),
      fc.constantFrom('limit=1&limit=2', 'limit=%zz', 'a[b]=1', fill('&', 2000), `x=${fill('a', 5000)}`, 'since=99999999999d', 'before=-1'),
    ),
    param: fc.oneof(
      text.map((s) => encodeURIComponent(Buffer.from(s).toString())),
      fc.constantFrom(
        '1',
        '0',
        '-1',
        '999999999999999999999999',
        '1.5',
        '%00',
        '..%2F..%2Fetc',
        'index.html',
        '%2e%2e',
        '%zz',
        '%',
        '%c3%28',
        fill('a', 150),
      ),
    ),
    // Now and then a method the route does not take: a 404 like any unknown route.
    wrongMethod: fc.oneof({ arbitrary: fc.constant(undefined), weight: 9 }, { arbitrary: fc.constantFrom('PUT', 'PATCH'), weight: 1 }),
  },
  { requiredKeys: ['token', 'authStyle', 'contentType', 'body', 'param', 'wrongMethod'] },
)
type FuzzRequest = typeof request extends fc.Arbitrary<infer T> ? T : never

// ---- the server ----------------------------------------------------------------------------------------

/** A built account page: index.html and one hashed asset. */
function webDir(t: TestContext): string {
  const dir = tempDir(t)
  mkdirSync(join(dir, 'assets'))
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>Keycard</title>')
  writeFileSync(join(dir, 'assets', 'app-ABCDEFGH.js'), 'export {}')
  return dir
}

interface Identity {
  tokens: string[]
  cookie: string
  csrf: string
}

let clientAddress = 0
/** A distinct client address per setup login, so throttling of the fuzz's failures never refuses them. */
const nextAddress = () => `10.${(++clientAddress >> 8) & 255}.${clientAddress & 255}.1`

/** A user made as the CLI makes one, signed in over HTTP twice in header mode and once in cookie mode. */
async function signIn(s: TestServer, db: ReturnType<typeof openBeside>, admin: boolean): Promise<Identity> {
  const username = `${admin ? 'root' : 'user'}-${randomUUID().slice(0, 8)}`
  await createUser(db, createPasswordHasher(s.config.argon2), { username, password: PASSWORD, admin })
  const tokens: string[] = []
  for (let i = 0; i < 2; i++) {
    const res = await s.api('POST', '/auth/login', {
      body: { username, password: PASSWORD },
      headers: { 'x-forwarded-for': nextAddress() },
    })
    assert.equal(res.status, 200, res.text)
    tokens.push(res.body.access_token, res.body.refresh_token)
  }
  const res = await s.api('POST', '/auth/login', {
    body: { username, password: PASSWORD },
    headers: { 'x-forwarded-for': nextAddress(), 'x-token-mode': 'cookie' },
  })
  assert.equal(res.status, 200, res.text)
  const jar = res.headers.getSetCookie().map((line) => line.split(';', 1)[0]!)
  const csrf = jar.find((c) => c.startsWith('csrf_access_token='))?.split('=')[1] ?? ''
  return { tokens, cookie: jar.join('; '), csrf }
}

/** Sends one fuzzed request to `route` and checks the answer. */
async function fire(s: TestServer, route: string, spec: RouteSpec, r: FuzzRequest, tokens: string[], who: Identity): Promise<void> {
  const [routeMethod, path] = route.split(' ') as [string, string]
  const method = r.wrongMethod ?? routeMethod
  let url = path.replace(':id', r.param).replace('*', r.param)
  if (r.query !== undefined) url += `?${r.query}`
  const token = tokens[r.token % tokens.length]!
  const sent = [token]
  const headers: Record<string, string> = { authorization: `${r.authStyle}${token}`, 'content-type': r.contentType }
  if (r.cookie === 'jar') headers.cookie = who.cookie
  else if (r.cookie?.startsWith('#')) {
    const cookieToken = tokens[Number(r.cookie.slice(1)) % tokens.length]!
    sent.push(cookieToken)
    headers.cookie = `access_token_cookie=${cookieToken}; refresh_token_cookie=${cookieToken}; keycard_device=${cookieToken}`
  } else if (r.cookie !== undefined) headers.cookie = r.cookie
  if (r.csrf !== undefined) headers['x-csrf-token'] = r.csrf === 'jar' ? who.csrf : r.csrf
  if (r.tokenMode !== undefined) headers['x-token-mode'] = r.tokenMode
  if (r.xff !== undefined) headers['x-forwarded-for'] = r.xff
  const hasBody = method !== 'GET' && method !== 'HEAD'
  const res = await fetch(s.url + url, { method, headers, ...(hasBody ? { body: r.body } : {}) })
  const text = await res.text()
  const what = `${method} ${url.slice(0, 200)} (route ${route}, auth ${spec.auth}) → ${res.status} ${text.slice(0, 300)}`

  assert.ok(res.status < 500, what)
  assert.doesNotMatch(text, /\n\s+at .+:\d+:\d+|node_modules|\.ts:\d+/, `a stack trace: ${what}`)
  for (const value of sent) {
    if (value.length < 16) continue
    assert.ok(!text.includes(value), `the token is echoed in the body: ${what}`)
    for (const [name, header] of res.headers) assert.ok(!header.includes(value), `the token is echoed in ${name}: ${what}`)
  }
  if (res.status >= 400) {
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/, what)
    const parsed = JSON.parse(text) as Record<string, unknown>
    assert.equal(typeof parsed.msg, 'string', what)
    assert.ok((parsed.msg as string).length > 0, what)
    assert.equal(typeof parsed.code, 'string', what)
    if (res.status === 429) assert.match(res.headers.get('retry-after') ?? '', /^\d+$/, what)
  }
}

/** Writes `raw` on a new connection and resolves to everything the server sent back before closing it. */
function rawExchange(url: string, raw: string): Promise<string> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.end(raw))
    let answer = ''
    socket.setEncoding('utf8').on('data', (d: string) => (answer += d))
    socket.on('close', () => resolve(answer))
    socket.on('error', reject)
  })
}

/** Status and JSON body of a raw HTTP answer. */
function parseRaw(answer: string): { status: number; body: unknown; head: string } {
  const [head = '', body = ''] = answer.split('\r\n\r\n', 2)
  return { status: Number(head.split(' ')[1]), body: JSON.parse(body), head }
}

forEachDialect((dialect: Dialect) => {
  // PostgreSQL's round trips cost more; SQLite gets the longer run.
  const RUNS = dialect === 'sqlite' ? 30 : 12

  async function fuzzServer(t: TestContext): Promise<{ s: TestServer; db: ReturnType<typeof openBeside> }> {
    const s = await startServer(t, { TRUST_PROXY: 'true' }, { dialect, webDir: webDir(t) })
    return { s, db: openBeside(t, s) }
  }

  test('the route table covers every route the app registers', async (t) => {
    const { s } = await fuzzServer(t)
    const routes = routesOf(s.app)
    assert.ok(routes.includes('POST /auth/login') && routes.includes('GET /assets/*'), `printRoutes() parsed to ${routes.join(', ')}`)
    const missing = routes.filter((route) => !(route in ROUTES))
    assert.deepEqual(missing, [], `routes the fuzzer does not cover: add them to ROUTES in packages/server/test/fuzz-routes.test.ts`)
    const absent = Object.keys(ROUTES).filter((route) => !routes.includes(route))
    if (absent.length > 0) t.diagnostic(`not in this app (yet): ${absent.join(', ')}`)
  })

  test('requests refused before routing answer {msg, code} too, without echoing the path', async (t) => {
    const { s } = await fuzzServer(t)
    const long = await fetch(`${s.url}/auth/tokens/${fill('a', 150)}`, { method: 'DELETE' })
    assert.equal(long.status, 414)
    assert.deepEqual(await long.json(), { msg: 'A path segment is too long (limit 100 characters)', code: 'PATH_TOO_LONG' })
    assert.equal(long.headers.get('x-content-type-options'), 'nosniff')
    const bad = await fetch(`${s.url}/auth/tokens/%zz`, { method: 'DELETE' })
    assert.equal(bad.status, 400)
    assert.deepEqual(await bad.json(), { msg: 'Malformed URL: a % is not followed by two hex digits of UTF-8', code: 'BAD_URL' })
    const huge = parseRaw(await rawExchange(s.url, `GET /auth/me?x=${fill('a', 20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`))
    assert.equal(huge.status, 431)
    assert.deepEqual(huge.body, {
      msg: 'Request headers are too large (limit 16384 bytes in all, URL included)',
      code: 'HEADERS_TOO_LARGE',
    })
    assert.match(huge.head, /content-type: application\/json/i)
    const garbage = parseRaw(await rawExchange(s.url, 'NOT HTTP AT ALL\r\n\r\n'))
    assert.equal(garbage.status, 400)
    assert.deepEqual(garbage.body, { msg: 'Malformed HTTP request', code: 'BAD_REQUEST' })
    // And the server goes on serving.
    assert.equal((await fetch(`${s.url}/healthz`)).status, 200)
  })

  test('hostile requests to every route: no 5xx, errors are {msg, code}, nothing echoed', async (t) => {
    const { s, db } = await fuzzServer(t)
    for (const route of routesOf(s.app)) {
      const spec = ROUTES[route]
      assert.ok(spec, `${route} is not in ROUTES`)
      // Fresh identities per route: a fuzzed logout, password change or user deletion ends only these.
      const user = await signIn(s, db, false)
      const admin = await signIn(s, db, true)
      const tokens = [...user.tokens, ...admin.tokens, ...hostileTokens()]
      await fc.assert(
        fc.asyncProperty(request, (r) => fire(s, route, spec, r, tokens, spec.auth === 'admin' ? admin : user)),
        { numRuns: RUNS, includeErrorInReport: true },
      )
    }
  })
})
