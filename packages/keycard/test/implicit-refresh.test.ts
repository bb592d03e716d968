/**
 * Implicit refresh for cookie sessions (Flask-JWT-Extended 4.7 §1.11, §4 item 8), built into the
 * adapters: a cookie-borne access token close to expiry gets a new access cookie and CSRF cookie on
 * the response; header-borne tokens and failed requests never do; a response that logs out (unsets
 * the cookies) never carries a re-issued cookie (FJE #454). Real HTTP on both adapters.
 */

import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createKeycard, KeycardOptionError, type Keycard, type KeycardOptions } from 'keycard'
import type { AdapterOptions } from 'keycard/express'
import {
  ADAPTERS,
  claimsOf,
  describeJwt,
  expectError,
  expiredToken,
  jar,
  loginJar,
  mask,
  ok,
  SECRET,
  send,
  serve,
  type Adapter,
  ADAPTER_FACTORIES,
  type Route,
} from './harness.ts'

const EPOCH = 'Expires=Thu, 01 Jan 1970 00:00:00 GMT'
const REISSUED = ['access_token_cookie=<jwt>; HttpOnly; Path=/; SameSite=Lax', 'csrf_access_token=<uuid>; Path=/; SameSite=Lax']
const UNSET_ALL = [
  `access_token_cookie=; ${EPOCH}; HttpOnly; Path=/; SameSite=Lax`,
  `csrf_access_token=; ${EPOCH}; Path=/; SameSite=Lax`,
  `refresh_token_cookie=; ${EPOCH}; HttpOnly; Path=/; SameSite=Lax`,
  `csrf_refresh_token=; ${EPOCH}; Path=/; SameSite=Lax`,
]

const ROUTES: Route[] = [
  { path: '/protected', guard: {} },
  { path: '/optional', guard: { optional: true } },
  { path: '/refresh', guard: { refresh: true } },
  { path: '/logout', guard: {}, handle: ({ cookies }) => (cookies.unsetJwtCookies(), { bye: true }) },
  { path: '/logout-access', guard: {}, handle: ({ cookies }) => (cookies.unsetAccessCookies(), { bye: true }) },
  { path: '/claims', guard: {}, handle: ({ jwt }) => jwt!.claims },
]

/** A keycard whose access tokens live `accessTokenExpires` (default 60 s), refreshed within `within` (default 5 min, so always). */
async function start(
  t: Parameters<typeof serve>[0],
  adapter: Adapter,
  options: Partial<KeycardOptions> = {},
  refresh: Partial<NonNullable<AdapterOptions<unknown>['implicitRefresh']>> = {},
  mint?: (keycard: Keycard) => NonNullable<AdapterOptions<unknown>['implicitRefresh']>['mint'],
) {
  const keycard = await createKeycard({ secret: SECRET, tokenLocation: ['cookies', 'headers'], accessTokenExpires: 60, ...options })
  const implicitRefresh = { within: '5m' as const, ...refresh, ...(mint ? { mint: mint(keycard) } : {}) }
  const url = await serve(t, adapter, keycard, ROUTES, { implicitRefresh })
  return { keycard, url, login: await loginJar(keycard) }
}

for (const adapter of ADAPTERS) {
  describe(`${adapter}: implicit refresh`, () => {
    test('a cookie access token within the window gets a new access cookie and its CSRF cookie', async (t) => {
      const { keycard, url, login } = await start(t, adapter)
      const res = await send(url, '/protected', { cookies: login.cookies })
      assert.deepEqual(
        ok(res),
        describeJwt({ identity: '42', location: 'cookies', claims: { type: 'access' }, header: { alg: 'HS256' }, user: undefined }),
      )
      assert.deepEqual(mask(res.setCookie), REISSUED)
      const next = jar(res.setCookie)
      assert.notEqual(next.access_token_cookie, login.access)
      const claims = await keycard.decodeToken(next.access_token_cookie!)
      const old = claimsOf(login.access)
      assert.equal(claims.sub, '42')
      assert.equal(claims.type, 'access')
      assert.equal(claims.fresh, false)
      assert.equal(next.csrf_access_token, claims.csrf)
      assert.notEqual(claims.csrf, old.csrf)
      assert.notEqual(claims.jti, old.jti)
      assert.ok(claims.exp! >= (old.exp as number))
    })

    test('the re-issued cookies replace the old ones: the next POST needs the new CSRF value', async (t) => {
      const { url, login } = await start(t, adapter)
      const next = { ...login.cookies, ...jar((await send(url, '/protected', { cookies: login.cookies })).setCookie) }
      expectError(
        await send(url, '/protected', { method: 'POST', cookies: next, headers: { 'x-csrf-token': login.accessCsrf } }),
        401,
        'CSRF double submit tokens do not match',
        { csrf: true },
      )
      const res = await send(url, '/protected', { method: 'POST', cookies: next, headers: { 'x-csrf-token': next.csrf_access_token! } })
      assert.equal(res.status, 200)
      assert.deepEqual(mask(res.setCookie), REISSUED)
    })

    test('a cookie access token outside the window gets no cookie', async (t) => {
      const { url, login } = await start(t, adapter, { accessTokenExpires: '1h' })
      const res = await send(url, '/protected', { cookies: login.cookies })
      assert.equal(res.status, 200)
      assert.deepEqual(res.setCookie, [])
    })

    test("the window is measured against the token's own exp", async (t) => {
      const { keycard, url } = await start(t, adapter, { accessTokenExpires: '1h' }, { within: 120 })
      const soon = await keycard.createAccessToken('42', { expiresIn: 100 })
      const later = await keycard.createAccessToken('42', { expiresIn: 200 })
      assert.deepEqual(mask((await send(url, '/protected', { cookies: { access_token_cookie: soon } })).setCookie), REISSUED)
      assert.deepEqual((await send(url, '/protected', { cookies: { access_token_cookie: later } })).setCookie, [])
    })

    test('header-borne tokens are never refreshed, even within the window', async (t) => {
      const { url, login } = await start(t, adapter, { tokenLocation: ['headers', 'cookies', 'query_string', 'json'] })
      for (const sent of [
        { bearer: login.access },
        { bearer: login.access, cookies: login.cookies },
        { json: { access_token: login.access } },
      ]) {
        const res = await send(url, '/protected', sent)
        assert.deepEqual({ status: res.status, setCookie: res.setCookie }, { status: 200, setCookie: [] })
      }
      const query = await send(url, `/protected?jwt=${login.access}`)
      assert.deepEqual({ status: query.status, setCookie: query.setCookie }, { status: 200, setCookie: [] })
    })

    test('a refresh token in a cookie is not turned into a new access cookie', async (t) => {
      const { url, login } = await start(t, adapter, { refreshTokenExpires: 60 })
      const res = await send(url, '/refresh', { cookies: login.cookies })
      assert.deepEqual({ status: res.status, setCookie: res.setCookie }, { status: 200, setCookie: [] })
    })

    test('failed requests get no cookie: a missing CSRF value, an expired token', async (t) => {
      const { url, login } = await start(t, adapter)
      expectError(await send(url, '/protected', { method: 'POST', cookies: login.cookies }), 401, 'Missing CSRF token', { csrf: true })
      expectError(await send(url, '/protected', { cookies: { access_token_cookie: expiredToken() } }), 401, 'Token has expired')
    })

    test('an optional route without a token gets no cookie', async (t) => {
      const { url } = await start(t, adapter)
      const res = await send(url, '/optional')
      assert.deepEqual(
        { status: res.status, body: res.body, setCookie: res.setCookie },
        { status: 200, body: { jwt: null }, setCookie: [] },
      )
    })

    test('the default mint gives a plain, non-fresh access token for the same identity', async (t) => {
      const { keycard, url } = await start(t, adapter)
      const token = await keycard.createAccessToken('42', { fresh: true, additionalClaims: { role: 'admin' } })
      const res = await send(url, '/protected', { cookies: { access_token_cookie: token } })
      const claims = claimsOf(jar(res.setCookie).access_token_cookie!)
      assert.deepEqual({ sub: claims.sub, fresh: claims.fresh, role: claims.role }, { sub: '42', fresh: false, role: undefined })
    })

    test('a custom mint keeps custom claims in the re-issued token', async (t) => {
      const { keycard, url } = await start(
        t,
        adapter,
        {},
        {},
        (kc) => (context) =>
          kc.createAccessToken(context.identity, { additionalClaims: { role: context.claims.role, tenant: context.claims.tenant } }),
      )
      const token = await keycard.createAccessToken('42', { additionalClaims: { role: 'admin', tenant: 't-1' } })
      const res = await send(url, '/protected', { cookies: { access_token_cookie: token } })
      assert.deepEqual(mask(res.setCookie), REISSUED)
      const next = jar(res.setCookie).access_token_cookie!
      const claims = await keycard.decodeToken(next)
      assert.deepEqual({ sub: claims.sub, role: claims.role, tenant: claims.tenant }, { sub: '42', role: 'admin', tenant: 't-1' })
      assert.deepEqual(ok(await send(url, '/claims', { cookies: { access_token_cookie: next } })).role, 'admin')
    })

    test('a logout route that calls unsetJwtCookies answers only the unset lines, never a re-issued cookie', async (t) => {
      const { url, login } = await start(t, adapter)
      for (const method of ['POST', 'DELETE']) {
        const res = await send(url, '/logout', { method, cookies: login.cookies, headers: { 'x-csrf-token': login.accessCsrf } })
        assert.deepEqual(ok(res), { bye: true })
        assert.deepEqual(res.setCookie, UNSET_ALL)
      }
    })

    test('a route that calls unsetAccessCookies answers only the two access unset lines', async (t) => {
      const { url, login } = await start(t, adapter)
      const res = await send(url, '/logout-access', { cookies: login.cookies })
      assert.deepEqual(res.setCookie, [
        `access_token_cookie=; ${EPOCH}; HttpOnly; Path=/; SameSite=Lax`,
        `csrf_access_token=; ${EPOCH}; Path=/; SameSite=Lax`,
      ])
    })

    test('the re-issued cookie follows the cookie options (persistent, Secure, domain, paths)', async (t) => {
      const { url, login } = await start(t, adapter, {
        sessionCookie: false,
        cookieSecure: true,
        cookieSameSite: 'Strict',
        cookieDomain: '.example.com',
        accessCookiePath: '/api/',
        accessCsrfCookiePath: '/',
      })
      const res = await send(url, '/protected', { cookies: login.cookies })
      assert.deepEqual(mask(res.setCookie), [
        'access_token_cookie=<jwt>; Domain=example.com; Expires=<date>; Max-Age=31540000; Secure; HttpOnly; Path=/api/; SameSite=Strict',
        'csrf_access_token=<uuid>; Domain=example.com; Expires=<date>; Max-Age=31540000; Secure; Path=/; SameSite=Strict',
      ])
    })

    test('a bad implicitRefresh.within or mint is a KeycardOptionError when the adapter is created', async () => {
      const keycard = await createKeycard({ secret: SECRET })
      const create = (implicitRefresh: unknown) => () => ADAPTER_FACTORIES[adapter](keycard, { implicitRefresh } as AdapterOptions<unknown>)
      const cases: [unknown, string][] = [
        [{ within: 0 }, 'implicitRefresh.within'],
        [{ within: -60 }, 'implicitRefresh.within'],
        [{ within: 'soon' }, 'implicitRefresh.within'],
        [{ within: '5 minutes' }, 'implicitRefresh.within'],
        [{ within: Number.NaN }, 'implicitRefresh.within'],
        [{}, 'implicitRefresh.within'],
        [{ within: '5m', mint: 'createAccessToken' }, 'implicitRefresh.mint'],
      ]
      for (const [options, option] of cases) {
        assert.throws(
          create(options),
          (err: unknown) => err instanceof KeycardOptionError && err.code === 'KEYCARD_OPTION_INVALID' && err.option === option,
          JSON.stringify(options),
        )
      }
      assert.doesNotThrow(create({ within: '30m' }))
      assert.doesNotThrow(create({ within: 90, mint: async () => 'x' }))
    })
  })
}
