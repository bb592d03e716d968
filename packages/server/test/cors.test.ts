/**
 * CORS_ORIGINS over real HTTP: the checks at start, the headers a listed origin gets (credentials,
 * exposed headers, preflights), none for any other origin, the 403 for an unlisted origin's preflights
 * and cross-origin writes, and nothing at all when CORS_ORIGINS is unset; COOKIE_DOMAIN's checks and
 * the cookies that carry it. The browser side is test/browser/cors.test.ts.
 */

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ENV_VARS, loadConfig } from '../src/config.ts'
import { CORS_MAX_AGE, CORS_METHODS } from '../src/cors.ts'
import { configProblems, PASSWORD, type Reply, startServer } from './helpers.ts'

const APP = 'http://app.test:5173'
const OTHER = 'https://other.test'
const EVIL = 'https://evil.test'

/** The Access-Control-* headers of a reply, by lower-case name. */
function corsHeaders(res: Reply): Record<string, string> {
  return Object.fromEntries([...res.headers].filter(([name]) => name.startsWith('access-control-')))
}

const varies = (res: Reply) => (res.headers.get('vary') ?? '').split(',').map((v) => v.trim().toLowerCase())

test('CORS_ORIGINS: exact origins, normalized; unset or empty is none', () => {
  const config = loadConfig({ INIT_CWD: '/srv/app', CORS_ORIGINS: ` ${APP} , https://App.Example.com:443,http://[::1]:3000,${APP}` })
  assert.deepEqual(config.corsOrigins, [APP, 'https://app.example.com', 'http://[::1]:3000'])
  assert.deepEqual(loadConfig({ INIT_CWD: '/srv/app' }).corsOrigins, [])
  assert.deepEqual(loadConfig({ INIT_CWD: '/srv/app', CORS_ORIGINS: '  ' }).corsOrigins, [])
  assert.ok((ENV_VARS as readonly string[]).includes('CORS_ORIGINS'))
})

test('CORS_ORIGINS: a bad entry is refused at start with how to write it', () => {
  const cases: [string, RegExp][] = [
    ['*', /wildcards are not allowed; list every origin exactly/],
    ['https://*.example.com', /wildcards are not allowed/],
    ['https://app.example.com/', /no trailing slash; write https:\/\/app\.example\.com$/],
    ['https://app.example.com/app', /only scheme:\/\/host\[:port\], without a path, query or user; write https:\/\/app\.example\.com$/],
    ['https://app.example.com?x=1', /without a path, query or user/],
    ['https://user@app.example.com', /without a path, query or user/],
    ['app.example.com', /is not an origin: expected scheme:\/\/host\[:port\]/],
    ['ftp://files.example.com', /only http and https origins/],
    ['null', /"null" is the origin of sandboxed frames/],
    [`${APP},,${OTHER}`, /an empty entry/],
  ]
  for (const [value, expected] of cases) {
    const problems = configProblems({ CORS_ORIGINS: value })
    assert.equal(problems.length, 1, `${value}: ${problems.join('; ')}`)
    assert.match(problems[0]!, /^CORS_ORIGINS: /, value)
    assert.match(problems[0]!, expected, value)
  }
  // Every bad entry at once, the good ones not reported.
  assert.equal(configProblems({ CORS_ORIGINS: `${APP}, *, https://a.test/` }).length, 2)
})

test('without CORS_ORIGINS: no CORS headers, no OPTIONS route, no refusal (as before)', async (t) => {
  const s = await startServer(t)
  const { access_token } = await s.register('alice')
  const me = await s.api('GET', '/auth/me', { token: access_token, headers: { origin: APP } })
  assert.equal(me.status, 200)
  assert.deepEqual(corsHeaders(me), {})
  assert.ok(!varies(me).includes('origin'))
  const preflight = await s.api('OPTIONS', '/auth/login', { headers: { origin: APP, 'access-control-request-method': 'POST' } })
  assert.equal(preflight.status, 404)
  assert.deepEqual(corsHeaders(preflight), {})
  const login = await s.api('POST', '/auth/login', {
    body: { username: 'alice', password: PASSWORD },
    headers: { origin: EVIL, 'sec-fetch-site': 'cross-site' },
  })
  assert.equal(login.status, 200)
})

test('a listed origin gets its origin back, with credentials, exposed headers and Vary: Origin', async (t) => {
  const s = await startServer(t, { CORS_ORIGINS: `${APP},${OTHER}` })
  const { access_token } = await s.register('alice')
  for (const origin of [APP, OTHER]) {
    const me = await s.api('GET', '/auth/me', { token: access_token, headers: { origin, 'sec-fetch-site': 'cross-site' } })
    assert.equal(me.status, 200)
    assert.equal(me.body.username, 'alice')
    assert.equal(me.headers.get('access-control-allow-origin'), origin)
    assert.equal(me.headers.get('access-control-allow-credentials'), 'true')
    assert.ok(varies(me).includes('origin'), `Vary: ${me.headers.get('vary')}`)
    const exposed = me.headers.get('access-control-expose-headers')!.split(', ')
    for (const name of ['Retry-After', 'WWW-Authenticate', 'X-User-Id']) assert.ok(exposed.includes(name), name)
  }
  // An error answer is readable too, WWW-Authenticate included.
  const refused = await s.api('GET', '/auth/me', { headers: { origin: APP } })
  assert.equal(refused.status, 401)
  assert.equal(refused.headers.get('access-control-allow-origin'), APP)
  assert.ok(refused.headers.get('www-authenticate'))
  assert.equal(refused.body.code, 'KEYCARD_NO_AUTHORIZATION')
})

test('an unlisted origin, or none, gets no Access-Control-Allow-* header; near misses are unlisted', async (t) => {
  const s = await startServer(t, { CORS_ORIGINS: APP })
  const { access_token } = await s.register('alice')
  for (const origin of [
    EVIL,
    'http://app.test:51730',
    'http://app.test:5173.evil.test',
    'https://app.test:5173',
    'http://app.test',
    'null',
  ]) {
    // A GET is answered (links from other sites are GETs), but the browser will not let the page read it.
    const me = await s.api('GET', '/auth/me', { token: access_token, headers: { origin, 'sec-fetch-site': 'cross-site' } })
    assert.equal(me.status, 200, origin)
    assert.deepEqual(corsHeaders(me), {}, origin)
    assert.ok(varies(me).includes('origin'), origin)
  }
  const plain = await s.api('GET', '/auth/me', { token: access_token })
  assert.equal(plain.status, 200)
  assert.deepEqual(corsHeaders(plain), {})
  // Caches must still key on Origin: the same URL answers differently for a listed one.
  assert.ok(varies(plain).includes('origin'))
})

test('preflights: a listed origin gets the methods and headers the API reads; any other a 403', async (t) => {
  const s = await startServer(t, { CORS_ORIGINS: APP })
  const ok = await s.api('OPTIONS', '/auth/password', {
    headers: { origin: APP, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-csrf-token' },
  })
  assert.equal(ok.status, 204)
  assert.equal(ok.headers.get('access-control-allow-origin'), APP)
  assert.equal(ok.headers.get('access-control-allow-credentials'), 'true')
  assert.deepEqual(ok.headers.get('access-control-allow-methods')!.split(', '), [...CORS_METHODS])
  const allowed = ok.headers.get('access-control-allow-headers')!.toLowerCase().split(', ')
  for (const name of ['authorization', 'content-type', 'x-csrf-token', 'x-token-mode']) assert.ok(allowed.includes(name), name)
  assert.equal(ok.headers.get('access-control-max-age'), String(CORS_MAX_AGE))
  assert.ok(varies(ok).includes('origin'))

  for (const origin of [EVIL, 'http://app.test:5173.evil.test']) {
    const no = await s.api('OPTIONS', '/auth/login', {
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-token-mode' },
    })
    assert.equal(no.status, 403, origin)
    assert.equal(no.body.code, 'CORS_ORIGIN_NOT_ALLOWED')
    assert.match(no.body.msg, /may not call this server: add it to CORS_ORIGINS/)
    assert.ok(no.body.msg.includes(JSON.stringify(origin)), no.body.msg)
    assert.deepEqual(corsHeaders(no), {}, origin)
  }
  // An OPTIONS that is not a preflight (no Origin): as without CORS, no such route.
  const bare = await s.api('OPTIONS', '/auth/login')
  assert.equal(bare.status, 404)
  assert.deepEqual(corsHeaders(bare), {})
})

test("an unlisted origin's cross-origin write is refused before it runs; same-origin and API clients are not", async (t) => {
  const s = await startServer(t, { CORS_ORIGINS: APP })
  await s.register('alice')
  const login = (headers: Record<string, string>) =>
    s.api('POST', '/auth/login', { body: { username: 'alice', password: PASSWORD }, headers: { 'x-token-mode': 'cookie', ...headers } })

  for (const site of ['cross-site', 'same-site']) {
    const refused = await login({ origin: EVIL, 'sec-fetch-site': site })
    assert.equal(refused.status, 403, site)
    assert.equal(refused.body.code, 'CORS_ORIGIN_NOT_ALLOWED')
    assert.deepEqual(refused.headers.getSetCookie(), [], `${site}: no sign-in cookies`)
    assert.deepEqual(corsHeaders(refused), {})
  }
  // The browser says same-origin: the server's own page (its Origin is not listed, and needs not be).
  const own = await login({ origin: s.url, 'sec-fetch-site': 'same-origin' })
  assert.equal(own.status, 200)
  assert.ok(own.headers.getSetCookie().length > 0)
  // No Sec-Fetch-Site (an API client or an old browser): left to CORS and the CSRF check.
  assert.equal((await login({ origin: EVIL })).status, 200)
  // The listed origin's cross-site sign-in: cookies, readable by its page.
  const listed = await login({ origin: APP, 'sec-fetch-site': 'cross-site' })
  assert.equal(listed.status, 200)
  assert.equal(listed.headers.get('access-control-allow-origin'), APP)
  assert.ok(listed.headers.getSetCookie().some((c) => c.startsWith('csrf_access_token=')))
  // The refused attempts never ran: the user's own trail has the three sign-ins above and this one only.
  const { access_token } = await s.login('alice')
  const events = await s.api('GET', '/auth/events', { token: access_token })
  assert.equal(events.body.events.filter((e: { type: string }) => e.type === 'login.succeeded').length, 4)
})

test('COOKIE_DOMAIN: a shared domain, checked at start; the sign-in cookies carry it, set and unset', async (t) => {
  assert.equal(loadConfig({ INIT_CWD: '/srv/app', COOKIE_DOMAIN: ' .Example.COM ' }).cookieDomain, 'example.com')
  assert.equal(loadConfig({ INIT_CWD: '/srv/app' }).cookieDomain, undefined)
  assert.ok((ENV_VARS as readonly string[]).includes('COOKIE_DOMAIN'))
  const cases: [string, RegExp][] = [
    ['https://example.com', /without scheme, port or path/],
    ['example.com:443', /without scheme, port or path/],
    ['127.0.0.1', /an IP address has no subdomains/],
    ['exa mple.com', /letters, digits, hyphens and dots/],
    ['-bad.example.com', /letters, digits, hyphens and dots/],
    ['com', /browsers refuse a single label/],
  ]
  for (const [value, expected] of cases) {
    const problems = configProblems({ COOKIE_DOMAIN: value })
    assert.equal(problems.length, 1, `${value}: ${problems.join('; ')}`)
    assert.match(problems[0]!, /^COOKIE_DOMAIN: /)
    assert.match(problems[0]!, expected, value)
  }

  const s = await startServer(t, { COOKIE_DOMAIN: 'example.test' })
  await s.register('alice')
  const login = await s.api('POST', '/auth/login', {
    body: { username: 'alice', password: PASSWORD },
    headers: { 'x-token-mode': 'cookie' },
  })
  assert.equal(login.status, 200)
  const set = login.headers.getSetCookie()
  for (const name of ['access_token_cookie', 'csrf_access_token', 'refresh_token_cookie', 'csrf_refresh_token']) {
    const line = set.find((c) => c.startsWith(`${name}=`))
    assert.ok(line?.includes('; Domain=example.test'), `${name}: ${line}`)
  }
  // The device token is only the server's: it stays host-only.
  assert.ok(
    set.some((c) => c.startsWith('keycard_device=') && !c.includes('Domain=')),
    set.join('\n'),
  )
  const cookie = set.map((c) => c.split(';')[0]).join('; ')
  const csrf = set
    .find((c) => c.startsWith('csrf_access_token='))!
    .split(';')[0]!
    .split('=')[1]!
  const logout = await s.api('POST', '/auth/logout', { headers: { cookie, 'x-csrf-token': csrf } })
  assert.equal(logout.status, 200)
  // Unset with the same Domain, or the browser would keep the domain cookies.
  const unset = logout.headers.getSetCookie().filter((c) => c.startsWith('access_token_cookie='))
  assert.ok(unset.length > 0 && unset.every((c) => c.includes('; Domain=example.test')), unset.join('\n'))
})

test('the public discovery documents stay readable by every origin, listed or not', async (t) => {
  const s = await startServer(t, { CORS_ORIGINS: APP, JWT_ALGORITHM: 'ES256', JWT_SECRET: undefined })
  for (const path of ['/.well-known/jwks.json', '/.well-known/openid-configuration']) {
    for (const origin of [APP, EVIL]) {
      const res = await s.api('GET', path, { headers: { origin } })
      assert.equal(res.status, 200, `${path} from ${origin}`)
      assert.equal(res.headers.get('access-control-allow-origin'), '*', `${path} from ${origin}`)
    }
  }
})
