/**
 * Cookie mode, over real HTTP: `X-Token-Mode: cookie` on the sign-in routes, the exact Set-Cookie
 * lines, no tokens in bodies, CSRF double submit, refresh rotation and reuse through cookies, logout
 * and the other session-ending routes unsetting the cookies, implicit refresh within the same login
 * session, fresh-login keeping the browser's session, the Secure rule, and the account page's static
 * files and headers.
 */

import assert from 'node:assert/strict'
import { request as httpRequest } from 'node:http'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test, type TestContext } from 'node:test'
import { defaultCookieSecure, isLoopbackHost, loadConfig, type ConfigError } from '../src/config.ts'
import { CONTENT_SECURITY_POLICY, PAGE_NOT_BUILT } from '../src/routes/web.ts'
import {
  claimsOf,
  freezeClock,
  NO_TOKEN,
  NO_TOKEN_BROWSER,
  openBeside,
  PASSWORD,
  startServer,
  tempDir,
  TEST_SECRET,
  type Reply,
  type TestServer,
  forEachDialect,
} from './helpers.ts'

forEachDialect((dialect) => {
  const COOKIE = { 'x-token-mode': 'cookie' }
  const EPOCH = 'Expires=Thu, 01 Jan 1970 00:00:00 GMT'
  const JWT = /^[\w-]+\.[\w-]+\.[\w-]+$/

  /** A cookie jar that behaves as a browser does for our cookies: host-only, path-matched, deleted by an expired Set-Cookie. */
  class Jar {
    readonly cookies = new Map<string, { value: string; path: string }>()

    /** Applies a response's Set-Cookie lines; returns them. */
    take(res: Reply): string[] {
      const lines = res.headers.getSetCookie()
      for (const line of lines) {
        const [pair, ...attrs] = line.split('; ')
        const eq = pair!.indexOf('=')
        const name = pair!.slice(0, eq)
        const path = attrs.find((a) => a.startsWith('Path='))?.slice(5) ?? '/'
        if (attrs.some((a) => a.startsWith('Expires=Thu, 01 Jan 1970'))) this.cookies.delete(name)
        else this.cookies.set(name, { value: pair!.slice(eq + 1), path })
      }
      return lines
    }

    get(name: string): string | undefined {
      return this.cookies.get(name)?.value
    }

    header(path: string): string {
      return [...this.cookies]
        .filter(([, c]) => path === c.path || path.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`) || c.path === '/')
        .map(([name, c]) => `${name}=${c.value}`)
        .join('; ')
    }

    clone(): Jar {
      const copy = new Jar()
      for (const [name, c] of this.cookies) copy.cookies.set(name, { ...c })
      return copy
    }
  }

  interface CallOptions {
    body?: unknown
    /** Which CSRF cookie to echo in X-CSRF-TOKEN, or a literal value; none by default. */
    csrf?: 'access' | 'refresh' | { value: string }
    headers?: Record<string, string>
    /** Apply the response's cookies to the jar (default true). */
    keep?: boolean
  }

  /** A request from a browser holding `jar`; the response's Set-Cookie lines are applied to the jar. */
  async function call(
    s: TestServer,
    jar: Jar,
    method: string,
    path: string,
    o: CallOptions = {},
  ): Promise<Reply & { setCookie: string[] }> {
    const headers: Record<string, string> = { ...o.headers }
    const cookie = jar.header(path)
    if (cookie) headers.cookie = cookie
    if (o.csrf !== undefined) {
      const value = typeof o.csrf === 'object' ? o.csrf.value : jar.get(o.csrf === 'access' ? 'csrf_access_token' : 'csrf_refresh_token')
      if (value !== undefined) headers['x-csrf-token'] = value
    }
    const res = await s.api(method, path, { headers, ...(o.body !== undefined ? { body: o.body } : {}) })
    const setCookie = o.keep === false ? res.headers.getSetCookie() : jar.take(res)
    return { ...res, setCookie }
  }

  /** Signs in in cookie mode; returns the jar and the response. */
  async function cookieLogin(
    s: TestServer,
    username: string,
    userAgent?: string,
  ): Promise<{ jar: Jar; res: Reply & { setCookie: string[] } }> {
    const jar = new Jar()
    const res = await call(s, jar, 'POST', '/auth/login', {
      body: { username, password: PASSWORD },
      headers: { ...COOKIE, ...(userAgent ? { 'user-agent': userAgent } : {}) },
    })
    assert.equal(res.status, 200, res.text)
    return { jar, res }
  }

  const access = (jar: Jar) => claimsOf(jar.get('access_token_cookie')!)

  /** The device-token cookie a sign-in without one sets, after the token cookies. */
  const DEVICE_LINE = (secure: boolean) =>
    new RegExp(`^keycard_device=[\\w-]{43}${secure ? '; Secure' : ''}; HttpOnly; Max-Age=31536000; Path=/auth; SameSite=Strict$`)

  /** The four lines of a cookie-mode sign-in, attribute by attribute (and the device cookie's fifth, for a login without one). */
  function assertSignInCookies(lines: string[], secure: boolean, device = false): void {
    const s = secure ? '; Secure' : ''
    assert.equal(lines.length, device ? 5 : 4, lines.join('\n'))
    if (device) assert.match(lines[4]!, DEVICE_LINE(secure))
    const [accessLine, accessCsrf, refreshLine, refreshCsrf] = lines
    const accessToken = /^access_token_cookie=([^;]+);/.exec(accessLine!)?.[1]
    const refreshToken = /^refresh_token_cookie=([^;]+);/.exec(refreshLine!)?.[1]
    assert.match(accessToken!, JWT)
    assert.match(refreshToken!, JWT)
    assert.equal(accessLine, `access_token_cookie=${accessToken}${s}; HttpOnly; Path=/; SameSite=Lax`)
    assert.equal(accessCsrf, `csrf_access_token=${claimsOf(accessToken!).csrf}${s}; Path=/; SameSite=Lax`)
    assert.equal(refreshLine, `refresh_token_cookie=${refreshToken}${s}; HttpOnly; Path=/auth/refresh; SameSite=Lax`)
    assert.equal(refreshCsrf, `csrf_refresh_token=${claimsOf(refreshToken!).csrf}${s}; Path=/; SameSite=Lax`)
    assert.equal(claimsOf(accessToken!).sid, claimsOf(refreshToken!).sid)
  }

  const UNSET_ALL = [
    `access_token_cookie=; ${EPOCH}; HttpOnly; Path=/; SameSite=Lax`,
    `csrf_access_token=; ${EPOCH}; Path=/; SameSite=Lax`,
    `refresh_token_cookie=; ${EPOCH}; HttpOnly; Path=/auth/refresh; SameSite=Lax`,
    `csrf_refresh_token=; ${EPOCH}; Path=/; SameSite=Lax`,
  ]

  function assertNoTokens(res: Reply): void {
    assert.doesNotMatch(res.text, /eyJ|access_token|refresh_token/, 'no token in the body')
  }

  // ---- sign-in routes ------------------------------------------------------------------------------

  test('cookie mode: register, login and fresh-login set HttpOnly cookies and answer no tokens', async (t) => {
    const s = await startServer(t, {}, { dialect })
    const jar = new Jar()
    const reg = await call(s, jar, 'POST', '/auth/register', {
      body: { username: 'alice', password: PASSWORD, email: 'alice@example.com' },
      headers: COOKIE,
    })
    assert.equal(reg.status, 201)
    assert.deepEqual(Object.keys(reg.body), ['user'])
    assert.equal(reg.body.user.username, 'alice')
    assertNoTokens(reg)
    assertSignInCookies(reg.setCookie, false)
    assert.equal(access(jar).fresh, true)

    const login = await cookieLogin(s, 'alice@example.com')
    assert.deepEqual(login.res.body, { login: true })
    assertNoTokens(login.res)
    assertSignInCookies(login.res.setCookie, false, true)
    assert.notEqual(access(login.jar).sid, access(jar).sid, 'a login is a new session')

    // Not signed in: fresh-login starts a session of its own, with a fresh access token and no refresh token.
    const fresh = await call(s, new Jar(), 'POST', '/auth/fresh-login', {
      body: { username: 'alice', password: PASSWORD },
      headers: COOKIE,
    })
    assert.equal(fresh.status, 200)
    assert.deepEqual(fresh.body, { login: true })
    assert.equal(fresh.setCookie.length, 3)
    assert.match(fresh.setCookie[2]!, DEVICE_LINE(false))
    const token = /^access_token_cookie=([^;]+); HttpOnly; Path=\/; SameSite=Lax$/.exec(fresh.setCookie[0]!)?.[1]
    assert.match(token!, JWT)
    assert.equal(claimsOf(token!).fresh, true)
    assert.equal(fresh.setCookie[1], `csrf_access_token=${claimsOf(token!).csrf}; Path=/; SameSite=Lax`)
    const sessions = await s.api('GET', '/auth/tokens', { headers: { cookie: `access_token_cookie=${token}` } })
    assert.equal(sessions.body.sessions.length, 3)

    // Neither the cookies nor their CSRF values reach the log.
    const log = s.logText()
    for (const value of [
      jar.get('access_token_cookie'),
      jar.get('refresh_token_cookie'),
      jar.get('csrf_access_token'),
      jar.get('csrf_refresh_token'),
      token,
    ]) {
      assert.equal(log.includes(value!), false)
    }
  })

  test('header mode is the default, and unchanged: tokens in the body, no cookies; a bad X-Token-Mode is a 400', async (t) => {
    const s = await startServer(t, {}, { dialect })
    const reg = await s.api('POST', '/auth/register', { body: { username: 'alice', password: PASSWORD } })
    assert.equal(reg.status, 201)
    assert.deepEqual(Object.keys(reg.body).sort(), ['access_token', 'refresh_token', 'user'])
    assert.deepEqual(reg.headers.getSetCookie(), [])
    for (const mode of ['header', 'HEADER']) {
      const login = await s.api('POST', '/auth/login', {
        body: { username: 'alice', password: PASSWORD },
        headers: { 'x-token-mode': mode },
      })
      assert.deepEqual(Object.keys(login.body).sort(), ['access_token', 'device_token', 'refresh_token'])
      assert.deepEqual(login.headers.getSetCookie(), [])
    }
    const upper = await s.api('POST', '/auth/login', {
      body: { username: 'alice', password: PASSWORD },
      headers: { 'x-token-mode': 'Cookie' },
    })
    assert.deepEqual(upper.body, { login: true })
    for (const path of ['/auth/register', '/auth/login', '/auth/fresh-login']) {
      const bad = await s.api('POST', path, { body: { username: 'bob', password: PASSWORD }, headers: { 'x-token-mode': 'cookies' } })
      assert.equal(bad.status, 400, path)
      assert.deepEqual(bad.body, {
        msg: 'X-Token-Mode must be "cookie" (tokens in HttpOnly cookies) or "header" (tokens in the response body)',
        code: 'INVALID_TOKEN_MODE',
      })
      assert.deepEqual(bad.headers.getSetCookie(), [])
    }
    // A wrong password in cookie mode sets nothing.
    const wrong = await s.api('POST', '/auth/login', { body: { username: 'alice', password: 'nope nope nope' }, headers: COOKIE })
    assert.equal(wrong.status, 401)
    assert.deepEqual(wrong.headers.getSetCookie(), [])
  })

  test('COOKIE_SECURE=true adds Secure to every cookie, set and unset', async (t) => {
    const s = await startServer(t, { COOKIE_SECURE: 'true' }, { dialect })
    await s.register('alice')
    const { jar, res } = await cookieLogin(s, 'alice')
    assertSignInCookies(res.setCookie, true, true)
    const out = await call(s, jar, 'POST', '/auth/logout', { csrf: 'access' })
    assert.equal(out.status, 200)
    assert.deepEqual(
      out.setCookie,
      UNSET_ALL.map((l) => l.replace(`${EPOCH};`, `${EPOCH}; Secure;`)),
    )
  })

  test('the Secure rule: on outside development, off for NODE_ENV=development or a loopback HOST, COOKIE_SECURE wins', (t) => {
    const dir = tempDir(t)
    const base = { DATABASE_URL: join(dir, 'k.db'), JWT_SECRET: TEST_SECRET }
    const cases: [Record<string, string>, boolean][] = [
      [{}, false], // npm start: 127.0.0.1
      [{ HOST: 'localhost' }, false],
      [{ HOST: '::1' }, false],
      [{ HOST: '0.0.0.0' }, true],
      [{ HOST: '10.0.0.5' }, true],
      [{ NODE_ENV: 'production' }, true], // behind a reverse proxy on the same machine
      [{ NODE_ENV: 'production', HOST: '0.0.0.0' }, true],
      [{ NODE_ENV: 'development', HOST: '0.0.0.0' }, false],
      [{ NODE_ENV: 'test', HOST: '0.0.0.0' }, true],
      [{ NODE_ENV: 'production', COOKIE_SECURE: 'false' }, false],
      [{ HOST: '0.0.0.0', COOKIE_SECURE: '0' }, false],
      [{ COOKIE_SECURE: 'true' }, true],
      [{ COOKIE_SECURE: ' YES ' }, true],
    ]
    for (const [env, secure] of cases) assert.equal(loadConfig({ ...base, ...env }).cookieSecure, secure, JSON.stringify(env))
    assert.throws(
      () => loadConfig({ ...base, COOKIE_SECURE: 'sometimes' }),
      (err: ConfigError) => {
        assert.deepEqual(err.problems, ['COOKIE_SECURE: expected true or false (or 1/0, yes/no, on/off), got "sometimes"'])
        return true
      },
    )
    assert.equal(isLoopbackHost('127.0.0.2'), true)
    assert.equal(isLoopbackHost('[::1]'), true)
    assert.equal(isLoopbackHost('127.example.com'), false)
    assert.equal(defaultCookieSecure(undefined, 'keycard.example.com'), true)
  })

  test('IMPLICIT_REFRESH_WINDOW: a third of the access lifetime by default, 0 turns it off, shorter than the lifetime', (t) => {
    const dir = tempDir(t)
    const base = { DATABASE_URL: join(dir, 'k.db'), JWT_SECRET: TEST_SECRET }
    assert.equal(loadConfig(base).implicitRefreshWindow, 300)
    assert.equal(loadConfig({ ...base, ACCESS_TOKEN_EXPIRES: '1h' }).implicitRefreshWindow, 1200)
    assert.equal(loadConfig({ ...base, IMPLICIT_REFRESH_WINDOW: '2m' }).implicitRefreshWindow, 120)
    assert.equal(loadConfig({ ...base, IMPLICIT_REFRESH_WINDOW: '0' }).implicitRefreshWindow, 0)
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig({ ...base, ...env })
      } catch (err) {
        return (err as ConfigError).problems
      }
      return []
    }
    assert.deepEqual(problems({ IMPLICIT_REFRESH_WINDOW: 'soon' }), [
      'IMPLICIT_REFRESH_WINDOW: expected a duration in seconds or with a unit (s, m, h, d, w), such as 900 or 15m; got "soon"',
    ])
    assert.deepEqual(problems({ IMPLICIT_REFRESH_WINDOW: '15m' }), [
      'IMPLICIT_REFRESH_WINDOW: must be shorter than ACCESS_TOKEN_EXPIRES (900s), or 0 to turn implicit refresh off; got "15m"',
    ])
  })

  // ---- protected routes and CSRF -------------------------------------------------------------------

  test('protected routes accept the access cookie; GET needs no CSRF value', async (t) => {
    const s = await startServer(t, {}, { dialect })
    await s.register('alice')
    const { jar } = await cookieLogin(s, 'alice')
    const me = await call(s, jar, 'GET', '/auth/me')
    assert.equal(me.status, 200)
    assert.equal(me.body.username, 'alice')
    const tokens = await call(s, jar, 'GET', '/auth/tokens')
    assert.equal(tokens.body.sessions.filter((x: { current: boolean }) => x.current).length, 1)
    assert.equal(tokens.body.sessions.find((x: { current: boolean }) => x.current).id, access(jar).sid)
    // The refresh cookie is not an access token, and it is never sent outside /auth/refresh anyway.
    assert.equal(jar.header('/auth/me').includes('refresh_token_cookie'), false)
    const onlyRefresh = await s.api('GET', '/auth/me', { headers: { cookie: `refresh_token_cookie=${jar.get('refresh_token_cookie')}` } })
    assert.equal(onlyRefresh.status, 401)
    assert.deepEqual(onlyRefresh.body, { msg: NO_TOKEN_BROWSER, code: 'KEYCARD_NO_AUTHORIZATION' })
    // Forward auth never reads cookies (nginx asks with a GET, so CSRF could not be checked).
    const verify = await call(s, jar, 'GET', '/auth/verify')
    assert.equal(verify.status, 401)
    assert.deepEqual(verify.body, { msg: 'Missing Authorization Header', code: 'KEYCARD_NO_AUTHORIZATION' })
  })

  test('CSRF double submit on cookie tokens: missing and mismatched values are 401, the right one passes; bearer tokens need none', async (t) => {
    const s = await startServer(t, {}, { dialect })
    const { access_token } = await s.register('alice')
    const { jar } = await cookieLogin(s, 'alice')
    const { jar: other } = await cookieLogin(s, 'alice')
    const otherSid = access(other).sid

    const checks: [string, string, CallOptions][] = [
      ['POST', '/auth/logout-all', {}],
      ['POST', '/auth/logout', {}],
      ['POST', '/auth/password', { body: { new_password: 'a new password 1' } }],
      ['DELETE', `/auth/tokens/${otherSid}`, {}],
      ['DELETE', '/admin/users/1', {}],
      ['POST', '/auth/refresh', {}],
    ]
    for (const [method, path, o] of checks) {
      const missing = await call(s, jar, method, path, o)
      assert.equal(missing.status, 401, `${method} ${path}`)
      assert.deepEqual(missing.body, { msg: 'Missing CSRF token', code: 'KEYCARD_CSRF' })
      const wrong = await call(s, jar, method, path, { ...o, csrf: { value: 'f'.repeat(36) } })
      assert.equal(wrong.status, 401, `${method} ${path}`)
      assert.deepEqual(wrong.body, { msg: 'CSRF double submit tokens do not match', code: 'KEYCARD_CSRF' })
      // Each token has its own value: the refresh one does not pass for the access cookie, nor the reverse.
      const swapped = await call(s, jar, method, path, { ...o, csrf: path === '/auth/refresh' ? 'access' : 'refresh' })
      assert.deepEqual(swapped.body, { msg: 'CSRF double submit tokens do not match', code: 'KEYCARD_CSRF' })
    }
    // A cross-site form post (text/plain, no header): the CSRF error comes before the body is even parsed.
    const form = await s.api('POST', '/auth/logout-all', {
      raw: 'x=y',
      contentType: 'text/plain',
      headers: { cookie: jar.header('/auth/logout-all') },
    })
    assert.equal(form.status, 401)
    assert.deepEqual(form.body, { msg: 'Missing CSRF token', code: 'KEYCARD_CSRF' })
    // Nothing was revoked by any of that.
    assert.equal((await call(s, other, 'GET', '/auth/me')).status, 200)
    assert.equal((await call(s, jar, 'GET', '/auth/me')).status, 200)

    const ok = await call(s, jar, 'DELETE', `/auth/tokens/${otherSid}`, { csrf: 'access' })
    assert.equal(ok.status, 200)
    assert.deepEqual(ok.setCookie, [], 'revoking another session leaves this browser signed in')
    assert.equal((await call(s, other, 'GET', '/auth/me')).status, 401)
    // An Authorization header needs no CSRF value, even with cookies alongside (the header is tried first).
    const bearer = await s.api('POST', '/auth/logout', { token: access_token, headers: { cookie: jar.header('/auth/logout') } })
    assert.equal(bearer.status, 200)
    assert.deepEqual(bearer.headers.getSetCookie(), [], 'a bearer logout does not touch cookies')
    assert.equal((await call(s, jar, 'GET', '/auth/me')).status, 200)
  })

  // ---- refresh --------------------------------------------------------------------------------------

  test('POST /auth/refresh with the refresh cookie rotates the cookies of the same session; a reused one revokes it and unsets them', async (t) => {
    const s = await startServer(t, { REFRESH_REUSE_INTERVAL: '0' }, { dialect })
    await s.register('alice')
    const { jar } = await cookieLogin(s, 'alice')
    const sid = access(jar).sid
    const stale = jar.clone()
    assert.equal(jar.header('/auth/refresh').includes('refresh_token_cookie='), true)

    const res = await call(s, jar, 'POST', '/auth/refresh', { csrf: 'refresh' })
    assert.equal(res.status, 200, res.text)
    assert.deepEqual(res.body, { refresh: true })
    assertNoTokens(res)
    assertSignInCookies(res.setCookie, false)
    assert.equal(access(jar).sid, sid)
    assert.equal(access(jar).fresh, false)
    assert.notEqual(jar.get('refresh_token_cookie'), stale.get('refresh_token_cookie'))
    assert.equal((await call(s, jar, 'GET', '/auth/me')).status, 200)
    // The rotated cookies rotate again.
    assert.equal((await call(s, jar, 'POST', '/auth/refresh', { csrf: 'refresh' })).status, 200)

    // The first refresh cookie, presented again: reuse. The session is revoked and this browser's cookies go.
    const reuse = await call(s, stale, 'POST', '/auth/refresh', { csrf: 'refresh' })
    assert.equal(reuse.status, 401)
    assert.deepEqual(reuse.body, { msg: 'Token has been revoked', code: 'KEYCARD_TOKEN_REVOKED' })
    assert.deepEqual(reuse.setCookie, UNSET_ALL)
    // Only the device cookie stays: it names the browser, not the session (test/throttle.test.ts).
    assert.deepEqual([...stale.cookies.keys()], ['keycard_device'])
    const after = await call(s, jar, 'GET', '/auth/me')
    assert.equal(after.status, 401)
    assert.deepEqual(after.body, { msg: 'Token has been revoked', code: 'KEYCARD_TOKEN_REVOKED' })
    assert.equal((await call(s, jar, 'POST', '/auth/refresh', { csrf: 'refresh' })).status, 401)
  })

  test('refresh with a bearer refresh token still answers tokens in the body', async (t) => {
    const s = await startServer(t, {}, { dialect })
    const { refresh_token } = await s.register('alice')
    const res = await s.api('POST', '/auth/refresh', { token: refresh_token })
    assert.equal(res.status, 200)
    assert.deepEqual(Object.keys(res.body).sort(), ['access_token', 'refresh_token'])
    assert.deepEqual(res.headers.getSetCookie(), [])
  })

  // ---- ending sessions -----------------------------------------------------------------------------

  test('logout with the access cookie revokes the session and unsets every token cookie', async (t) => {
    const s = await startServer(t, {}, { dialect })
    await s.register('alice')
    const { jar } = await cookieLogin(s, 'alice')
    const copy = jar.clone()
    const res = await call(s, jar, 'POST', '/auth/logout', { csrf: 'access' })
    assert.equal(res.status, 200)
    assert.deepEqual(res.body, { msg: 'Successfully logged out' })
    assert.deepEqual(res.setCookie, UNSET_ALL)
    // Only the device cookie stays: it names the browser, not the session (test/throttle.test.ts).
    assert.deepEqual([...jar.cookies.keys()], ['keycard_device'])
    assert.deepEqual((await call(s, jar, 'GET', '/auth/me')).body, { msg: NO_TOKEN, code: 'KEYCARD_NO_AUTHORIZATION' })
    // A copy of the cookies is worth nothing: the session is revoked on the server.
    assert.deepEqual((await call(s, copy, 'GET', '/auth/me')).body, { msg: 'Token has been revoked', code: 'KEYCARD_TOKEN_REVOKED' })
    assert.deepEqual((await call(s, copy, 'POST', '/auth/refresh', { csrf: 'refresh' })).body, {
      msg: 'Token has been revoked',
      code: 'KEYCARD_TOKEN_REVOKED',
    })
  })

  test('a logout that implicit refresh would re-issue the access cookie on only unsets cookies', async (t) => {
    const advance = freezeClock(t)
    const s = await startServer(t, { ACCESS_TOKEN_EXPIRES: '60', IMPLICIT_REFRESH_WINDOW: '59' }, { dialect })
    await s.register('alice')
    const { jar } = await cookieLogin(s, 'alice')
    advance(1_000) // now within the window: any cookie request re-issues the access cookie
    const probe = await call(s, jar.clone(), 'GET', '/auth/me')
    assert.equal(probe.setCookie.length, 2, 'the window is open')
    const res = await call(s, jar, 'POST', '/auth/logout', { csrf: 'access' })
    assert.equal(res.status, 200)
    assert.deepEqual(res.setCookie, UNSET_ALL)
  })

  test('logout-all from a cookie session unsets the cookies; the password change keeps them; revoking the own session unsets them', async (t) => {
    const s = await startServer(t, {}, { dialect })
    await s.register('alice')
    const a = (await cookieLogin(s, 'alice')).jar
    const b = (await cookieLogin(s, 'alice')).jar
    const c = (await cookieLogin(s, 'alice')).jar

    const password = await call(s, a, 'POST', '/auth/password', { csrf: 'access', body: { new_password: 'a brand new password' } })
    assert.equal(password.status, 200, password.text)
    assert.equal(password.body.revoked_sessions, 3) // b, c and the register session
    assert.deepEqual(password.setCookie, [])
    assert.equal((await call(s, a, 'GET', '/auth/me')).status, 200)
    assert.equal((await call(s, b, 'GET', '/auth/me')).status, 401)
    assert.equal((await call(s, c, 'GET', '/auth/me')).status, 401)

    const d = new Jar()
    assert.equal(
      (await call(s, d, 'POST', '/auth/login', { body: { username: 'alice', password: 'a brand new password' }, headers: COOKIE })).status,
      200,
    )
    const own = await call(s, d, 'DELETE', `/auth/tokens/${access(d).sid}`, { csrf: 'access' })
    assert.equal(own.status, 200)
    assert.deepEqual(own.setCookie, UNSET_ALL)

    const all = await call(s, a, 'POST', '/auth/logout-all', { csrf: 'access' })
    assert.equal(all.status, 200)
    assert.deepEqual(all.setCookie, UNSET_ALL)
    // Only the device cookie stays: it names the browser, not the session (test/throttle.test.ts).
    assert.deepEqual([...a.cookies.keys()], ['keycard_device'])
  })

  test('an admin deleting their own account from the browser is signed out there', async (t) => {
    const s = await startServer(t, {}, { dialect })
    const { user } = await s.register('root')
    await openBeside(t, s).updateTable('users').set({ admin: 1 }).where('id', '=', user.id).execute()
    const { jar } = await cookieLogin(s, 'root')
    const res = await call(s, jar, 'DELETE', `/admin/users/${user.id}`, { csrf: 'access' })
    assert.equal(res.status, 200)
    assert.deepEqual(res.setCookie, UNSET_ALL)
  })

  // ---- implicit refresh ----------------------------------------------------------------------------

  test('implicit refresh re-issues the access cookie of the same login session, not fresh, with the server claims', async (t) => {
    // The clock stands still at a whole second: the first request is 2 s short of the window, and the
    // second, 2 s later, is exactly at its edge.
    const advance = freezeClock(t)
    const s = await startServer(t, { ACCESS_TOKEN_EXPIRES: '60', IMPLICIT_REFRESH_WINDOW: '58' }, { dialect })
    const { access_token } = await s.register('alice')
    const { jar } = await cookieLogin(s, 'alice')
    const before = access(jar)
    const early = await call(s, jar, 'GET', '/auth/me')
    assert.deepEqual(early.setCookie, [], 'not within the window yet')

    advance(2_000)
    const res = await call(s, jar, 'GET', '/auth/me')
    assert.equal(res.status, 200)
    assert.equal(res.setCookie.length, 2)
    const token = jar.get('access_token_cookie')!
    assert.equal(res.setCookie[0], `access_token_cookie=${token}; HttpOnly; Path=/; SameSite=Lax`)
    assert.equal(res.setCookie[1], `csrf_access_token=${claimsOf(token).csrf}; Path=/; SameSite=Lax`)
    const after = claimsOf(token)
    assert.equal(after.sid, before.sid, 'the same login session')
    assert.equal(after.sub, before.sub)
    assert.equal(after.admin, false)
    assert.equal(after.type, 'access')
    assert.equal(after.fresh, false)
    assert.ok(after.exp > before.exp)
    assert.notEqual(after.csrf, before.csrf)
    // The new cookie works, and with its own CSRF value.
    assert.equal((await call(s, jar, 'DELETE', '/auth/tokens/nope', { csrf: 'access' })).status, 404)
    // It belongs to the session: revoking the session revokes it.
    const tokens = await call(s, jar, 'GET', '/auth/tokens')
    assert.equal(tokens.body.sessions.find((x: { current: boolean }) => x.current).id, before.sid)
    // A bearer token is never "refreshed" into a cookie.
    const bearer = await s.api('GET', '/auth/me', { token: access_token })
    assert.deepEqual(bearer.headers.getSetCookie(), [])
  })

  test('implicit refresh never outlives the session, and is off with IMPLICIT_REFRESH_WINDOW=0', async (t) => {
    const advance = freezeClock(t)
    const s = await startServer(t, { ACCESS_TOKEN_EXPIRES: '60', IMPLICIT_REFRESH_WINDOW: '59' }, { dialect })
    await s.register('alice')
    // fresh-login without a browser session: a session that ends with its one access token.
    const jar = new Jar()
    assert.equal(
      (await call(s, jar, 'POST', '/auth/fresh-login', { body: { username: 'alice', password: PASSWORD }, headers: COOKIE })).status,
      200,
    )
    advance(1_000)
    const res = await call(s, jar, 'GET', '/auth/me')
    assert.equal(res.status, 200)
    assert.deepEqual(res.setCookie, [])

    const off = await startServer(t, { ACCESS_TOKEN_EXPIRES: '2', IMPLICIT_REFRESH_WINDOW: '0' }, { dialect })
    await off.register('bob')
    const bob = (await cookieLogin(off, 'bob')).jar
    advance(1_000)
    assert.deepEqual((await call(off, bob, 'GET', '/auth/me')).setCookie, [])
  })

  // ---- fresh-login ---------------------------------------------------------------------------------

  test('fresh-login in cookie mode re-issues a fresh access cookie for the current session; the password change then keeps it', async (t) => {
    const s = await startServer(t, {}, { dialect })
    const { access_token: headerSession } = await s.register('alice')
    const { jar } = await cookieLogin(s, 'alice')
    const sid = access(jar).sid
    // Refreshed tokens are not fresh.
    assert.equal((await call(s, jar, 'POST', '/auth/refresh', { csrf: 'refresh' })).status, 200)
    const stale = await call(s, jar, 'POST', '/auth/password', { csrf: 'access', body: { new_password: 'a brand new password' } })
    assert.equal(stale.status, 401)
    assert.deepEqual(stale.body, { msg: 'Fresh token required', code: 'KEYCARD_FRESH_TOKEN_REQUIRED' })

    const fresh = await call(s, jar, 'POST', '/auth/fresh-login', {
      csrf: 'access',
      body: { username: 'alice', password: PASSWORD },
      headers: COOKIE,
    })
    assert.equal(fresh.status, 200)
    assert.deepEqual(fresh.body, { login: true })
    assertNoTokens(fresh)
    assert.equal(fresh.setCookie.length, 2)
    assert.match(fresh.setCookie[0]!, /^access_token_cookie=[\w.-]+; HttpOnly; Path=\/; SameSite=Lax$/)
    assert.equal(access(jar).sid, sid, 'the same session')
    assert.equal(access(jar).fresh, true)
    assert.equal((await call(s, jar, 'GET', '/auth/tokens')).body.sessions.length, 2, 'no new session')

    const change = await call(s, jar, 'POST', '/auth/password', { csrf: 'access', body: { new_password: 'a brand new password' } })
    assert.equal(change.status, 200)
    assert.equal(change.body.revoked_sessions, 1)
    assert.equal((await s.api('GET', '/auth/me', { token: headerSession })).status, 401)
    // This browser is still signed in, refresh cookie included.
    assert.equal((await call(s, jar, 'GET', '/auth/me')).status, 200)
    assert.equal((await call(s, jar, 'POST', '/auth/refresh', { csrf: 'refresh' })).status, 200)
  })

  test('fresh-login in cookie mode works from an expired access cookie, and starts a new session when it cannot use the current one', async (t) => {
    const advance = freezeClock(t)
    const s = await startServer(t, { ACCESS_TOKEN_EXPIRES: '1', IMPLICIT_REFRESH_WINDOW: '0' }, { dialect })
    await s.register('alice')
    await s.register('bob')
    const { jar } = await cookieLogin(s, 'alice')
    const sid = access(jar).sid
    advance(2_000)
    assert.deepEqual((await call(s, jar, 'GET', '/auth/me')).body, { msg: 'Token has expired', code: 'KEYCARD_JWT_EXPIRED' })
    const expired = await call(s, jar.clone(), 'POST', '/auth/fresh-login', {
      csrf: 'access',
      body: { username: 'alice', password: PASSWORD },
      headers: COOKIE,
    })
    assert.equal(claimsOf(/^access_token_cookie=([^;]+)/.exec(expired.setCookie[0]!)![1]!).sid, sid)

    const newSession = async (jarOf: Jar, o: CallOptions, username = 'alice') => {
      const res = await call(s, jarOf.clone(), 'POST', '/auth/fresh-login', {
        ...o,
        body: { username, password: PASSWORD },
        headers: COOKIE,
      })
      assert.equal(res.status, 200)
      const claims = claimsOf(/^access_token_cookie=([^;]+)/.exec(res.setCookie[0]!)![1]!)
      assert.equal(claims.fresh, true)
      return claims.sid as string
    }
    // Without the CSRF value, with a wrong one, or as another user: a session of its own, as when not signed in.
    assert.notEqual(await newSession(jar, {}), sid)
    assert.notEqual(await newSession(jar, { csrf: { value: 'x' } }), sid)
    assert.notEqual(await newSession(jar, { csrf: 'access' }, 'bob'), sid)
    // A revoked session is not revived.
    const revoked = (await cookieLogin(s, 'alice')).jar
    const revokedSid = access(revoked).sid
    await s.api('POST', '/auth/logout', {
      headers: { cookie: revoked.header('/auth/logout'), 'x-csrf-token': revoked.get('csrf_access_token')! },
    })
    assert.notEqual(await newSession(revoked, { csrf: 'access' }), revokedSid)
    // A forged cookie (another secret) is ignored.
    const forged = new Jar()
    forged.cookies.set('access_token_cookie', { value: 'eyJhbGciOiJIUzI1NiJ9.eyJzaWQiOiJ4In0.AAAA', path: '/' })
    assert.ok(await newSession(forged, { csrf: { value: 'x' } }))
  })

  test('fresh-login in header mode is unchanged: a fresh access token of a new session in the body, whatever the cookies', async (t) => {
    const s = await startServer(t, {}, { dialect })
    await s.register('alice')
    const { jar } = await cookieLogin(s, 'alice')
    const res = await call(s, jar, 'POST', '/auth/fresh-login', { csrf: 'access', body: { username: 'alice', password: PASSWORD } })
    assert.equal(res.status, 200)
    assert.deepEqual(Object.keys(res.body), ['access_token'])
    assert.deepEqual(res.setCookie, [])
    assert.notEqual(claimsOf(res.body.access_token).sid, access(jar).sid)
    assert.equal(claimsOf(res.body.access_token).fresh, true)
  })

  // ---- the account page ----------------------------------------------------------------------------

  /** A built page in a temp dir, with a file beside it that must never be served. */
  function fakeWeb(t: TestContext): string {
    const dir = tempDir(t)
    const web = join(dir, 'dist')
    mkdirSync(join(web, 'assets', 'sub'), { recursive: true })
    writeFileSync(join(dir, 'secret.txt'), 'top secret')
    writeFileSync(
      join(web, 'index.html'),
      '<!doctype html><title>Keycard account</title><script type="module" src="/assets/index-BZZ23LhY.js"></script>',
    )
    writeFileSync(join(web, 'assets', 'index-BZZ23LhY.js'), 'console.log(1)')
    writeFileSync(join(web, 'assets', 'index-CSUBuMcK.css'), 'body{}')
    writeFileSync(join(web, 'assets', 'logo.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>')
    writeFileSync(join(web, 'assets', 'sub', 'x.js'), 'nope')
    writeFileSync(join(web, 'assets', '.hidden'), 'nope')
    return web
  }

  /** GET with the path sent as is (fetch would resolve `..`). */
  function rawGet(url: string, path: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = httpRequest(url + path, { method: 'GET', path }, (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (d: string) => (body += d))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      })
      req.on('error', reject)
      req.end()
    })
  }

  const PAGE_HEADERS = {
    'content-security-policy': CONTENT_SECURITY_POLICY,
    'x-frame-options': 'DENY',
    'referrer-policy': 'same-origin',
    'x-content-type-options': 'nosniff',
  }

  test('GET / serves the account page with security headers; /assets/* the bundle, hashed files cached for a year', async (t) => {
    const s = await startServer(t, {}, { dialect, webDir: fakeWeb(t) })
    const page = await s.api('GET', '/')
    assert.equal(page.status, 200)
    assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8')
    assert.equal(page.headers.get('cache-control'), 'no-cache')
    assert.match(page.text, /<title>Keycard account<\/title>/)
    for (const [name, value] of Object.entries(PAGE_HEADERS)) assert.equal(page.headers.get(name), value, name)
    assert.match(CONTENT_SECURITY_POLICY, /default-src 'self'/)
    assert.match(CONTENT_SECURITY_POLICY, /frame-ancestors 'none'/)
    assert.doesNotMatch(CONTENT_SECURITY_POLICY, /unsafe|\*/)
    const head = await s.api('HEAD', '/')
    assert.equal(head.status, 200)

    const js = await s.api('GET', '/assets/index-BZZ23LhY.js')
    assert.equal(js.status, 200)
    assert.equal(js.text, 'console.log(1)')
    assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8')
    assert.equal(js.headers.get('cache-control'), 'public, max-age=31536000, immutable')
    assert.equal(js.headers.get('x-content-type-options'), 'nosniff')
    const css = await s.api('GET', '/assets/index-CSUBuMcK.css')
    assert.equal(css.headers.get('content-type'), 'text/css; charset=utf-8')
    const svg = await s.api('GET', '/assets/logo.svg')
    assert.equal(svg.headers.get('content-type'), 'image/svg+xml')
    assert.equal(svg.headers.get('cache-control'), 'no-cache', 'an unhashed name is revalidated')
    // The page needs no token and sets no cookie.
    assert.deepEqual(page.headers.getSetCookie(), [])
  })

  test('no path outside web/dist/assets is served; unknown files and routes stay JSON 404s', async (t) => {
    const s = await startServer(t, {}, { dialect, webDir: fakeWeb(t) })
    for (const path of [
      '/assets/../../secret.txt',
      '/assets/..%2f..%2fsecret.txt',
      '/assets/%2e%2e/%2e%2e/secret.txt',
      '/assets/..',
      '/assets/sub/x.js',
      '/assets/sub%2fx.js',
      '/assets/.hidden',
      '/assets/',
      '/assets/nope.js',
      '/assets/..%5c..%5csecret.txt',
      '/assets/%00.js',
      '/index.html',
      '/secret.txt',
      '/assets',
    ]) {
      const res = await rawGet(s.url, path)
      assert.equal(res.status, 404, path)
      assert.deepEqual(JSON.parse(res.body), { msg: 'Not Found', code: 'NOT_FOUND' }, path)
    }
    assert.equal((await s.api('GET', '/nope')).status, 404)
    assert.equal((await s.api('POST', '/')).status, 404)
  })

  test('a page that was not built is a clear 503, and a warning at start', async (t) => {
    const s = await startServer(t, {}, { dialect, webDir: join(tempDir(t), 'missing') })
    const res = await s.api('GET', '/')
    assert.equal(res.status, 503)
    assert.deepEqual(res.body, { msg: PAGE_NOT_BUILT, code: 'PAGE_NOT_BUILT' })
    assert.equal(PAGE_NOT_BUILT, 'account page not built: run npm run -w keycard-server build:web')
    assert.ok(s.logLines().some((l) => l.level === 40 && String(l.msg).includes(PAGE_NOT_BUILT)))
    // The API works without the page.
    assert.equal((await s.api('GET', '/healthz')).status, 200)
  })
})
