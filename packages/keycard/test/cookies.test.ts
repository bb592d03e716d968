/**
 * Tokens in cookies (Flask-JWT-Extended 4.7 §1.3/§1.7): the exact Set-Cookie lines of
 * setAccessCookies, setRefreshCookies and the unset helpers, for the defaults and for every cookie
 * option, and the cookie-option errors. Real HTTP on both adapters. Keycard's deliberate difference:
 * SameSite defaults to Lax (`cookieSameSite: false` omits it, as FJE does).
 */

import { describe, test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { createKeycard, KeycardError, KeycardOptionError, type Keycard, type KeycardOptions, type SetCookieOptions } from 'keycard'
import {
  ADAPTERS,
  claimsOf,
  describeJwt,
  expectError,
  expiresOf,
  jar,
  mask,
  ok,
  SECRET,
  send,
  serve,
  type Adapter,
  type Route,
} from './harness.ts'

const EPOCH = 'Expires=Thu, 01 Jan 1970 00:00:00 GMT'
const YEAR = 31_540_000

/** Options FJE's own "production" example uses, with every path customised. */
const FULL: Partial<KeycardOptions> = {
  sessionCookie: false,
  cookieSameSite: 'Strict',
  cookieSecure: true,
  cookieDomain: '.example.com',
  accessCookiePath: '/api/',
  refreshCookiePath: '/api/refresh',
  accessCsrfCookiePath: '/csrf/access/',
  refreshCsrfCookiePath: '/csrf/refresh/',
}

/** /login sets both pairs (with `set` options), /logout* unset, /protected and /refresh are guarded by cookies. */
function routes(set: SetCookieOptions = {}): Route[] {
  return [
    {
      path: '/login',
      handle: async ({ keycard, cookies }) => {
        cookies.setAccessCookies(await keycard.createAccessToken('42'), set)
        cookies.setRefreshCookies(await keycard.createRefreshToken('42'), set)
        return { ok: true }
      },
    },
    { path: '/logout', handle: ({ cookies }) => (cookies.unsetJwtCookies(), { ok: true }) },
    { path: '/logout-domain', handle: ({ cookies }) => (cookies.unsetJwtCookies('other.example.org'), { ok: true }) },
    { path: '/logout-access', handle: ({ cookies }) => (cookies.unsetAccessCookies(), { ok: true }) },
    { path: '/logout-refresh', handle: ({ cookies }) => (cookies.unsetRefreshCookies(), { ok: true }) },
    { path: '/protected', guard: { locations: 'cookies' } },
    { path: '/refresh', guard: { locations: 'cookies', refresh: true } },
  ]
}

async function start(
  t: Parameters<typeof serve>[0],
  adapter: Adapter,
  options: Partial<KeycardOptions> = {},
  set?: SetCookieOptions,
): Promise<{ keycard: Keycard; url: string }> {
  const keycard = await createKeycard({ secret: SECRET, ...options })
  return { keycard, url: await serve(t, adapter, keycard, routes(set)) }
}

/** A whole second, so an `Expires` date (whole seconds) `seconds` after it is exact. */
const FROZEN = Date.UTC(2026, 0, 1, 12)

/** Freezes Date at FROZEN for the rest of the test (keycard and jose read Date.now(); the timers stay real). */
const freeze = (t: TestContext) => t.mock.timers.enable({ apis: ['Date'], now: FROZEN })

/** Asserts the `Expires` of every line is exactly `seconds` after FROZEN (the test froze the clock). */
function expiresIn(lines: string[], seconds: number): void {
  for (const at of expiresOf(lines)) assert.equal(new Date(at).toISOString(), new Date(FROZEN + seconds * 1000).toISOString())
}

for (const adapter of ADAPTERS) {
  describe(`${adapter}: Set-Cookie lines`, () => {
    test("setAccessCookies and setRefreshCookies write FJE's four default lines plus SameSite=Lax", async (t) => {
      const { keycard, url } = await start(t, adapter)
      const res = await send(url, '/login', { method: 'POST' })
      assert.deepEqual(ok(res), { ok: true })
      assert.deepEqual(mask(res.setCookie), [
        'access_token_cookie=<jwt>; HttpOnly; Path=/; SameSite=Lax',
        'csrf_access_token=<uuid>; Path=/; SameSite=Lax',
        'refresh_token_cookie=<jwt>; HttpOnly; Path=/; SameSite=Lax',
        'csrf_refresh_token=<uuid>; Path=/; SameSite=Lax',
      ])
      const cookies = jar(res.setCookie)
      const access = await keycard.decodeToken(cookies.access_token_cookie!)
      const refresh = await keycard.decodeToken(cookies.refresh_token_cookie!)
      assert.deepEqual([access.type, refresh.type], ['access', 'refresh'])
      assert.equal(cookies.csrf_access_token, access.csrf)
      assert.equal(cookies.csrf_refresh_token, refresh.csrf)
      assert.notEqual(access.csrf, refresh.csrf)
    })

    test("cookieSameSite: false writes exactly FJE's default lines, without SameSite", async (t) => {
      const { url } = await start(t, adapter, { cookieSameSite: false })
      assert.deepEqual(mask((await send(url, '/login', { method: 'POST' })).setCookie), [
        'access_token_cookie=<jwt>; HttpOnly; Path=/',
        'csrf_access_token=<uuid>; Path=/',
        'refresh_token_cookie=<jwt>; HttpOnly; Path=/',
        'csrf_refresh_token=<uuid>; Path=/',
      ])
    })

    test('persistent Strict Secure cookies on .example.com with custom paths last one year (Max-Age 31540000)', async (t) => {
      freeze(t)
      const { url } = await start(t, adapter, FULL)
      const { setCookie } = await send(url, '/login', { method: 'POST' })
      const attrs = 'Domain=example.com; Expires=<date>; Max-Age=31540000; Secure'
      assert.deepEqual(mask(setCookie), [
        `access_token_cookie=<jwt>; ${attrs}; HttpOnly; Path=/api/; SameSite=Strict`,
        `csrf_access_token=<uuid>; ${attrs}; Path=/csrf/access/; SameSite=Strict`,
        `refresh_token_cookie=<jwt>; ${attrs}; HttpOnly; Path=/api/refresh; SameSite=Strict`,
        `csrf_refresh_token=<uuid>; ${attrs}; Path=/csrf/refresh/; SameSite=Strict`,
      ])
      expiresIn(setCookie, YEAR)
    })

    test('SameSite=None is written when cookies are Secure', async (t) => {
      const { url } = await start(t, adapter, { cookieSameSite: 'None', cookieSecure: true })
      assert.deepEqual(mask((await send(url, '/login', { method: 'POST' })).setCookie), [
        'access_token_cookie=<jwt>; Secure; HttpOnly; Path=/; SameSite=None',
        'csrf_access_token=<uuid>; Secure; Path=/; SameSite=None',
        'refresh_token_cookie=<jwt>; Secure; HttpOnly; Path=/; SameSite=None',
        'csrf_refresh_token=<uuid>; Secure; Path=/; SameSite=None',
      ])
    })

    test('maxAge per call turns session cookies into cookies that expire after maxAge seconds', async (t) => {
      freeze(t)
      const { url } = await start(t, adapter, {}, { maxAge: 600 })
      const { setCookie } = await send(url, '/login', { method: 'POST' })
      assert.deepEqual(mask(setCookie), [
        'access_token_cookie=<jwt>; Expires=<date>; Max-Age=600; HttpOnly; Path=/; SameSite=Lax',
        'csrf_access_token=<uuid>; Expires=<date>; Max-Age=600; Path=/; SameSite=Lax',
        'refresh_token_cookie=<jwt>; Expires=<date>; Max-Age=600; HttpOnly; Path=/; SameSite=Lax',
        'csrf_refresh_token=<uuid>; Expires=<date>; Max-Age=600; Path=/; SameSite=Lax',
      ])
      expiresIn(setCookie, 600)
    })

    test('maxAge and domain per call override the one-year lifetime and cookieDomain', async (t) => {
      freeze(t)
      const { url } = await start(t, adapter, FULL, { maxAge: 3600, domain: 'api.example.com' })
      const { setCookie } = await send(url, '/login', { method: 'POST' })
      assert.deepEqual(mask(setCookie).slice(0, 2), [
        'access_token_cookie=<jwt>; Domain=api.example.com; Expires=<date>; Max-Age=3600; Secure; HttpOnly; Path=/api/; SameSite=Strict',
        'csrf_access_token=<uuid>; Domain=api.example.com; Expires=<date>; Max-Age=3600; Secure; Path=/csrf/access/; SameSite=Strict',
      ])
      expiresIn(setCookie, 3600)
    })

    test('a bad maxAge or domain per call is a KeycardOptionError naming it, and no cookie is set', async (t) => {
      const keycard = await createKeycard({ secret: SECRET })
      const token = await keycard.createAccessToken('42')
      const url = await serve(t, adapter, keycard, [
        {
          path: '/set',
          handle: ({ cookies, body }) => {
            const { unset, ...opts } = body as SetCookieOptions & { unset?: boolean }
            try {
              if (unset) cookies.unsetJwtCookies(opts.domain)
              else cookies.setAccessCookies(token, opts)
              return { thrown: null }
            } catch (err) {
              return { thrown: err instanceof KeycardOptionError ? err.option : String(err) }
            }
          },
        },
      ])
      const cases: [Record<string, unknown>, string | null][] = [
        [{ maxAge: -1 }, 'maxAge'],
        [{ maxAge: 1.5 }, 'maxAge'],
        [{ domain: 'example.com; Max-Age=99999999' }, 'domain'],
        [{ domain: 'example.com; Secure', unset: true }, 'domain'],
        [{ maxAge: 0, domain: 'example.com' }, null],
      ]
      for (const [body, thrown] of cases) {
        const res = await send(url, '/set', { json: body })
        assert.deepEqual(res.body, { thrown }, JSON.stringify(body))
        assert.deepEqual(
          mask(res.setCookie),
          thrown
            ? []
            : [
                'access_token_cookie=<jwt>; Domain=example.com; Expires=<date>; Max-Age=0; HttpOnly; Path=/; SameSite=Lax',
                'csrf_access_token=<uuid>; Domain=example.com; Expires=<date>; Max-Age=0; Path=/; SameSite=Lax',
              ],
        )
      }
    })

    test('unsetJwtCookies expires all four cookies at the epoch, the JWT ones HttpOnly', async (t) => {
      const { url } = await start(t, adapter)
      const res = await send(url, '/logout', { method: 'POST' })
      assert.deepEqual(ok(res), { ok: true })
      assert.deepEqual(res.setCookie, [
        `access_token_cookie=; ${EPOCH}; HttpOnly; Path=/; SameSite=Lax`,
        `csrf_access_token=; ${EPOCH}; Path=/; SameSite=Lax`,
        `refresh_token_cookie=; ${EPOCH}; HttpOnly; Path=/; SameSite=Lax`,
        `csrf_refresh_token=; ${EPOCH}; Path=/; SameSite=Lax`,
      ])
    })

    test('unsetAccessCookies and unsetRefreshCookies expire only their own pair', async (t) => {
      const { url } = await start(t, adapter, { cookieSameSite: false })
      assert.deepEqual((await send(url, '/logout-access')).setCookie, [
        `access_token_cookie=; ${EPOCH}; HttpOnly; Path=/`,
        `csrf_access_token=; ${EPOCH}; Path=/`,
      ])
      assert.deepEqual((await send(url, '/logout-refresh')).setCookie, [
        `refresh_token_cookie=; ${EPOCH}; HttpOnly; Path=/`,
        `csrf_refresh_token=; ${EPOCH}; Path=/`,
      ])
    })

    test('unset lines carry the same domain, Secure, paths and SameSite as the set lines, and no Max-Age', async (t) => {
      const { url } = await start(t, adapter, FULL)
      const attrs = `Domain=example.com; ${EPOCH}; Secure`
      assert.deepEqual((await send(url, '/logout', { method: 'DELETE' })).setCookie, [
        `access_token_cookie=; ${attrs}; HttpOnly; Path=/api/; SameSite=Strict`,
        `csrf_access_token=; ${attrs}; Path=/csrf/access/; SameSite=Strict`,
        `refresh_token_cookie=; ${attrs}; HttpOnly; Path=/api/refresh; SameSite=Strict`,
        `csrf_refresh_token=; ${attrs}; Path=/csrf/refresh/; SameSite=Strict`,
      ])
    })

    test('a domain passed to unsetJwtCookies overrides cookieDomain', async (t) => {
      const { url } = await start(t, adapter, FULL)
      const lines = (await send(url, '/logout-domain', { method: 'POST' })).setCookie
      assert.deepEqual(
        lines.map((l) => l.split('; ')[1]),
        Array(4).fill('Domain=other.example.org'),
      )
    })

    test("unsetting after setting in one response keeps only the unset lines and the app's own cookies", async (t) => {
      const keycard = await createKeycard({ secret: SECRET })
      const url = await serve(t, adapter, keycard, [
        {
          path: '/flip',
          handle: async ({ cookies }) => {
            cookies.appendSetCookie('theme=dark; Path=/')
            cookies.setAccessCookies(await keycard.createAccessToken('42'))
            cookies.setRefreshCookies(await keycard.createRefreshToken('42'))
            cookies.unsetAccessCookies()
            return { ok: true }
          },
        },
      ])
      assert.deepEqual(mask((await send(url, '/flip', { method: 'POST' })).setCookie), [
        'theme=dark; Path=/',
        'refresh_token_cookie=<jwt>; HttpOnly; Path=/; SameSite=Lax',
        'csrf_refresh_token=<uuid>; Path=/; SameSite=Lax',
        `access_token_cookie=; ${EPOCH}; HttpOnly; Path=/; SameSite=Lax`,
        `csrf_access_token=; ${EPOCH}; Path=/; SameSite=Lax`,
      ])
    })

    test('cookies set by /login authenticate the next requests, the CSRF cookie echoed on POST', async (t) => {
      const { url } = await start(t, adapter)
      const cookies = jar((await send(url, '/login', { method: 'POST' })).setCookie)
      assert.deepEqual(ok(await send(url, '/protected', { cookies })), { identity: '42', location: 'cookies', type: 'access' })
      assert.deepEqual(
        ok(await send(url, '/protected', { method: 'POST', cookies, headers: { 'X-CSRF-TOKEN': cookies.csrf_access_token! } })),
        describeJwtOf('access'),
      )
      assert.deepEqual(
        ok(await send(url, '/refresh', { method: 'POST', cookies, headers: { 'X-CSRF-TOKEN': cookies.csrf_refresh_token! } })),
        describeJwtOf('refresh'),
      )
    })

    test('csrfProtect: false sets only the two JWT cookies, mints tokens without csrf and checks no CSRF', async (t) => {
      const { url } = await start(t, adapter, { csrfProtect: false })
      const res = await send(url, '/login', { method: 'POST' })
      assert.deepEqual(mask(res.setCookie), [
        'access_token_cookie=<jwt>; HttpOnly; Path=/; SameSite=Lax',
        'refresh_token_cookie=<jwt>; HttpOnly; Path=/; SameSite=Lax',
      ])
      const cookies = jar(res.setCookie)
      assert.equal('csrf' in claimsOf(cookies.access_token_cookie!), false)
      assert.equal('csrf' in claimsOf(cookies.refresh_token_cookie!), false)
      assert.deepEqual(ok(await send(url, '/protected', { method: 'POST', cookies })), describeJwtOf('access'))
      assert.deepEqual(ok(await send(url, '/refresh', { method: 'DELETE', cookies })), describeJwtOf('refresh'))
      assert.deepEqual((await send(url, '/logout')).setCookie, [
        `access_token_cookie=; ${EPOCH}; HttpOnly; Path=/; SameSite=Lax`,
        `refresh_token_cookie=; ${EPOCH}; HttpOnly; Path=/; SameSite=Lax`,
      ])
    })

    test('csrfInCookies: false sets no CSRF cookies but tokens keep their csrf claim and POSTs still need it', async (t) => {
      const { url } = await start(t, adapter, { csrfInCookies: false })
      const res = await send(url, '/login', { method: 'POST' })
      assert.deepEqual(mask(res.setCookie), [
        'access_token_cookie=<jwt>; HttpOnly; Path=/; SameSite=Lax',
        'refresh_token_cookie=<jwt>; HttpOnly; Path=/; SameSite=Lax',
      ])
      const cookies = jar(res.setCookie)
      const csrf = claimsOf(cookies.access_token_cookie!).csrf
      assert.match(String(csrf), /^[0-9a-f-]{36}$/)
      expectError(await send(url, '/protected', { method: 'POST', cookies }), 401, 'Missing CSRF token', { csrf: true })
      assert.deepEqual(
        ok(await send(url, '/protected', { method: 'POST', cookies, headers: { 'x-csrf-token': String(csrf) } })),
        describeJwtOf('access'),
      )
      assert.deepEqual((await send(url, '/logout')).setCookie, [
        `access_token_cookie=; ${EPOCH}; HttpOnly; Path=/; SameSite=Lax`,
        `refresh_token_cookie=; ${EPOCH}; HttpOnly; Path=/; SameSite=Lax`,
      ])
    })

    test('custom cookie names are written, read back and unset', async (t) => {
      const names = {
        accessCookieName: 'at',
        refreshCookieName: '__Host-rt',
        accessCsrfCookieName: 'XSRF-A',
        refreshCsrfCookieName: 'XSRF-R',
      }
      const { url } = await start(t, adapter, names)
      const res = await send(url, '/login', { method: 'POST' })
      assert.deepEqual(mask(res.setCookie), [
        'at=<jwt>; HttpOnly; Path=/; SameSite=Lax',
        'XSRF-A=<uuid>; Path=/; SameSite=Lax',
        '__Host-rt=<jwt>; HttpOnly; Path=/; SameSite=Lax',
        'XSRF-R=<uuid>; Path=/; SameSite=Lax',
      ])
      const cookies = jar(res.setCookie)
      assert.deepEqual(
        ok(await send(url, '/protected', { method: 'PUT', cookies, headers: { 'x-csrf-token': cookies['XSRF-A']! } })),
        describeJwtOf('access'),
      )
      assert.deepEqual(
        ok(await send(url, '/refresh', { method: 'PATCH', cookies, headers: { 'x-csrf-token': cookies['XSRF-R']! } })),
        describeJwtOf('refresh'),
      )
      expectError(await send(url, '/protected', { cookies: { access_token_cookie: cookies.at! } }), 401, 'Missing cookie "at"', {
        noCredentials: true,
      })
      expectError(
        await send(url, '/refresh', { cookies: { refresh_token_cookie: cookies['__Host-rt']! } }),
        401,
        'Missing cookie "__Host-rt"',
        { noCredentials: true },
      )
      assert.deepEqual(
        (await send(url, '/logout')).setCookie.map((l) => l.split('=', 1)[0]),
        ['at', 'XSRF-A', '__Host-rt', 'XSRF-R'],
      )
    })

    test('setAccessCookies refuses a value that is not a compact JWT, and a token without csrf while CSRF cookies are on', async (t) => {
      const keycard = await createKeycard({ secret: SECRET })
      const noCsrf = await (await createKeycard({ secret: SECRET, csrfProtect: false })).createAccessToken('42')
      const url = await serve(t, adapter, keycard, [
        {
          path: '/set',
          handle: ({ cookies, body }) => {
            try {
              cookies.setAccessCookies((body as { token: string }).token)
              return { code: null }
            } catch (err) {
              return { code: err instanceof KeycardError ? err.code : String(err) }
            }
          },
        },
      ])
      for (const [token, code] of [
        ['a b; Path=/', 'KEYCARD_JWT_MALFORMED'],
        ['x\r\nSet-Cookie: y=1', 'KEYCARD_JWT_MALFORMED'],
        [noCsrf, 'KEYCARD_JWT_CLAIM_INVALID'],
      ] as const) {
        const res = await send(url, '/set', { json: { token } })
        assert.deepEqual({ body: res.body, setCookie: res.setCookie }, { body: { code }, setCookie: [] })
      }
    })
  })
}

function describeJwtOf(type: 'access' | 'refresh'): unknown {
  return describeJwt({ identity: '42', location: 'cookies', claims: { type }, header: { alg: 'HS256' }, user: undefined })
}

describe('cookie option errors', () => {
  const cases: [string, Partial<KeycardOptions>][] = [
    ['accessCookieName', { accessCookieName: 'access token' }],
    ['refreshCookieName', { refreshCookieName: 'a;b' }],
    ['accessCsrfCookieName', { accessCsrfCookieName: 'csrf=x' }],
    ['refreshCsrfCookieName', { refreshCsrfCookieName: '' }],
    ['accessCookiePath', { accessCookiePath: 'api' }],
    ['refreshCookiePath', { refreshCookiePath: 'api/refresh' }],
    ['accessCsrfCookiePath', { accessCsrfCookiePath: '/a;b' }],
    ['refreshCsrfCookiePath', { refreshCsrfCookiePath: '/with space' }],
    ['cookieSameSite', { cookieSameSite: 'None' }],
    ['cookieSameSite', { cookieSameSite: 'None', cookieSecure: false }],
    ['cookieSameSite', { cookieSameSite: 'lax' as 'Lax' }],
    ['cookieSecure', { cookieSecure: 'yes' as unknown as boolean }],
    ['cookieDomain', { cookieDomain: 'example.com; Secure' }],
    ['sessionCookie', { sessionCookie: 0 as unknown as boolean }],
    ['csrfMethods', { csrfMethods: 'POST' as unknown as string[] }],
    ['csrfMethods', { csrfMethods: ['POST', 'PO ST'] }],
    ['csrfMethods', { csrfMethods: [1] as unknown as string[] }],
    ['accessCsrfHeaderName', { accessCsrfHeaderName: 'X CSRF' }],
    ['refreshCsrfHeaderName', { refreshCsrfHeaderName: 'X-CSRF:' }],
    ['csrfInCookies', { csrfInCookies: 'false' as unknown as boolean }],
    ['csrfCheckForm', { csrfCheckForm: 1 as unknown as boolean }],
  ]
  for (const [option, options] of cases) {
    test(`${JSON.stringify(options)} is a KeycardOptionError naming ${option}`, async () => {
      await assert.rejects(createKeycard({ secret: SECRET, ...options }), (err: unknown) => {
        assert.ok(err instanceof KeycardOptionError, String(err))
        assert.equal(err.code, 'KEYCARD_OPTION_INVALID')
        assert.equal(err.option, option)
        assert.ok(err.message.startsWith(`keycard option "${option}": `), err.message)
        return true
      })
    })
  }

  test('SameSite=None with cookieSecure, lowercase csrfMethods and an empty csrfMethods list are accepted', async () => {
    assert.equal((await createKeycard({ secret: SECRET, cookieSameSite: 'None', cookieSecure: true })).options.cookieSameSite, 'None')
    assert.deepEqual(
      [...(await createKeycard({ secret: SECRET, csrfMethods: ['post', 'Delete'] })).options.csrfMethods],
      ['POST', 'DELETE'],
    )
    assert.deepEqual([...(await createKeycard({ secret: SECRET, csrfMethods: [] })).options.csrfMethods], [])
  })
})
