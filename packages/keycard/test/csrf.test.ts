/**
 * CSRF double submit for cookie-borne tokens (Flask-JWT-Extended 4.7 §1.7/§1.8, §4 item 6): which
 * methods need the echoed value, where it may come from (header, form field), the refresh pair, and
 * the errors. Real HTTP on both adapters; a forged cross-site form post is refused.
 */

import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createKeycard, type KeycardOptions } from 'keycard'
import { ADAPTERS, claimsOf, expectError, loginJar, ok, SECRET, send, serve, type Adapter } from './harness.ts'

const MISSING = 'Missing CSRF token'
const MISMATCH = 'CSRF double submit tokens do not match'
const STATE_CHANGING = ['POST', 'PUT', 'PATCH', 'DELETE'] as const

async function start(t: Parameters<typeof serve>[0], adapter: Adapter, options: Partial<KeycardOptions> = {}) {
  const keycard = await createKeycard({ secret: SECRET, tokenLocation: 'cookies', ...options })
  const hits: string[] = []
  const handle =
    (name: string) =>
    ({ jwt }: { jwt: { identity: string; claims: { type?: string } } | null }) => {
      hits.push(name)
      return { identity: jwt?.identity, type: jwt?.claims.type }
    }
  const url = await serve(t, adapter, keycard, [
    { path: '/protected', guard: {}, handle: handle('protected') },
    { path: '/refresh', guard: { refresh: true }, handle: handle('refresh') },
  ])
  return { keycard, url, hits, login: await loginJar(keycard) }
}

const ACCESS = { identity: '42', type: 'access' }
const REFRESH = { identity: '42', type: 'refresh' }

for (const adapter of ADAPTERS) {
  describe(`${adapter}: CSRF double submit`, () => {
    test('GET and HEAD with a cookie token need no CSRF value', async (t) => {
      const { url, login, hits } = await start(t, adapter)
      assert.deepEqual(ok(await send(url, '/protected', { cookies: login.cookies })), ACCESS)
      const head = await send(url, '/protected', { method: 'HEAD', cookies: login.cookies })
      assert.equal(head.status, 200)
      assert.deepEqual(ok(await send(url, '/refresh', { cookies: login.cookies })), REFRESH)
      assert.deepEqual(hits, ['protected', 'protected', 'refresh'])
    })

    test('POST, PUT, PATCH and DELETE without the X-CSRF-TOKEN header are 401 "Missing CSRF token" and never reach the handler', async (t) => {
      const { url, login, hits } = await start(t, adapter)
      for (const method of STATE_CHANGING) {
        expectError(await send(url, '/protected', { method, cookies: login.cookies }), 401, MISSING, { csrf: true })
        expectError(await send(url, '/refresh', { method, cookies: login.cookies }), 401, MISSING, { csrf: true })
      }
      expectError(
        await send(url, '/protected', { method: 'POST', cookies: login.cookies, headers: { 'x-csrf-token': '' } }),
        401,
        MISSING,
        { csrf: true },
      )
      assert.deepEqual(hits, [])
    })

    test('the error names the header in WWW-Authenticate as an invalid_request', async (t) => {
      const { url, login } = await start(t, adapter)
      const res = await send(url, '/protected', { method: 'POST', cookies: login.cookies })
      assert.equal(res.headers.get('www-authenticate'), 'Bearer error="invalid_request", error_description="Missing CSRF token"')
    })

    test('a wrong CSRF value is 401 "CSRF double submit tokens do not match"', async (t) => {
      const { url, login, hits } = await start(t, adapter)
      const wrong = [
        crypto.randomUUID(),
        login.accessCsrf.slice(0, -1),
        `${login.accessCsrf}x`,
        login.accessCsrf.toUpperCase(),
        ` ${login.accessCsrf}0`,
      ]
      for (const value of wrong) {
        expectError(
          await send(url, '/protected', { method: 'PATCH', cookies: login.cookies, headers: { 'x-csrf-token': value } }),
          401,
          MISMATCH,
          { csrf: true },
        )
      }
      assert.deepEqual(hits, [])
    })

    test('the right CSRF value lets every state-changing method through', async (t) => {
      const { url, login, hits } = await start(t, adapter)
      for (const method of STATE_CHANGING) {
        assert.deepEqual(
          ok(await send(url, '/protected', { method, cookies: login.cookies, headers: { 'X-CSRF-TOKEN': login.accessCsrf } })),
          ACCESS,
        )
      }
      assert.deepEqual(hits, ['protected', 'protected', 'protected', 'protected'])
    })

    test('a refresh route needs the refresh CSRF value; the access one does not match, and the reverse', async (t) => {
      const { url, login } = await start(t, adapter)
      assert.deepEqual(
        ok(await send(url, '/refresh', { method: 'POST', cookies: login.cookies, headers: { 'x-csrf-token': login.refreshCsrf } })),
        REFRESH,
      )
      expectError(
        await send(url, '/refresh', { method: 'POST', cookies: login.cookies, headers: { 'x-csrf-token': login.accessCsrf } }),
        401,
        MISMATCH,
        { csrf: true },
      )
      expectError(
        await send(url, '/protected', { method: 'POST', cookies: login.cookies, headers: { 'x-csrf-token': login.refreshCsrf } }),
        401,
        MISMATCH,
        { csrf: true },
      )
    })

    test('the CSRF cookie a browser sends along is never taken as the echoed value', async (t) => {
      const { url, login } = await start(t, adapter)
      assert.equal(login.cookies.csrf_access_token, login.accessCsrf)
      expectError(
        await send(url, '/protected', { method: 'POST', cookies: { ...login.cookies, 'X-CSRF-TOKEN': login.accessCsrf } }),
        401,
        MISSING,
        { csrf: true },
      )
    })

    test('a forged cross-site form POST carrying only the cookies is rejected before the handler', async (t) => {
      const { url, login, hits } = await start(t, adapter, { csrfCheckForm: true })
      const forged = await send(url, '/protected', {
        cookies: login.cookies,
        headers: { origin: 'https://evil.example', referer: 'https://evil.example/win-a-prize', 'sec-fetch-site': 'cross-site' },
        form: { to: 'attacker', amount: '1000' },
      })
      expectError(forged, 401, MISSING, { csrf: true })
      const guessed = await send(url, '/protected', {
        cookies: login.cookies,
        headers: { origin: 'https://evil.example' },
        form: { amount: '1000', csrf_token: crypto.randomUUID() },
      })
      expectError(guessed, 401, MISMATCH, { csrf: true })
      assert.deepEqual(hits, [])
    })

    test('custom csrfMethods decide which methods need the value', async (t) => {
      const { url, login } = await start(t, adapter, { csrfMethods: ['GET', 'put'] })
      expectError(await send(url, '/protected', { cookies: login.cookies }), 401, MISSING, { csrf: true })
      assert.deepEqual(ok(await send(url, '/protected', { cookies: login.cookies, headers: { 'x-csrf-token': login.accessCsrf } })), ACCESS)
      expectError(await send(url, '/protected', { method: 'PUT', cookies: login.cookies }), 401, MISSING, { csrf: true })
      assert.deepEqual(ok(await send(url, '/protected', { method: 'POST', cookies: login.cookies })), ACCESS)
      assert.deepEqual(ok(await send(url, '/protected', { method: 'DELETE', cookies: login.cookies })), ACCESS)
      assert.equal((await send(url, '/protected', { method: 'HEAD', cookies: login.cookies })).status, 200)
    })

    test('an empty csrfMethods list checks no method', async (t) => {
      const { url, login } = await start(t, adapter, { csrfMethods: [] })
      for (const method of STATE_CHANGING) assert.deepEqual(ok(await send(url, '/protected', { method, cookies: login.cookies })), ACCESS)
    })

    test('custom CSRF header names are read, for access and refresh separately, and the default one is ignored', async (t) => {
      const { url, login } = await start(t, adapter, { accessCsrfHeaderName: 'X-XSRF-TOKEN', refreshCsrfHeaderName: 'X-Refresh-CSRF' })
      assert.deepEqual(
        ok(await send(url, '/protected', { method: 'POST', cookies: login.cookies, headers: { 'x-xsrf-token': login.accessCsrf } })),
        ACCESS,
      )
      assert.deepEqual(
        ok(await send(url, '/refresh', { method: 'POST', cookies: login.cookies, headers: { 'X-Refresh-CSRF': login.refreshCsrf } })),
        REFRESH,
      )
      expectError(
        await send(url, '/protected', { method: 'POST', cookies: login.cookies, headers: { 'x-csrf-token': login.accessCsrf } }),
        401,
        MISSING,
        { csrf: true },
      )
      expectError(
        await send(url, '/refresh', { method: 'POST', cookies: login.cookies, headers: { 'x-xsrf-token': login.refreshCsrf } }),
        401,
        MISSING,
        { csrf: true },
      )
      expectError(
        await send(url, '/protected', { method: 'POST', cookies: login.cookies, headers: { 'x-xsrf-token': login.refreshCsrf } }),
        401,
        MISMATCH,
        { csrf: true },
      )
    })

    test('with csrfCheckForm a urlencoded csrf_token field is accepted, and a wrong one does not match', async (t) => {
      const { url, login } = await start(t, adapter, { csrfCheckForm: true })
      assert.deepEqual(
        ok(await send(url, '/protected', { cookies: login.cookies, form: { csrf_token: login.accessCsrf, note: 'hi' } })),
        ACCESS,
      )
      assert.deepEqual(
        ok(await send(url, '/refresh', { method: 'PUT', cookies: login.cookies, form: { csrf_token: login.refreshCsrf } })),
        REFRESH,
      )
      expectError(await send(url, '/protected', { cookies: login.cookies, form: { csrf_token: login.refreshCsrf } }), 401, MISMATCH, {
        csrf: true,
      })
      expectError(await send(url, '/protected', { cookies: login.cookies, form: { csrf: login.accessCsrf } }), 401, MISSING, { csrf: true })
    })

    test('the header wins over the form field when both are sent', async (t) => {
      const { url, login } = await start(t, adapter, { csrfCheckForm: true })
      expectError(
        await send(url, '/protected', {
          cookies: login.cookies,
          headers: { 'x-csrf-token': 'wrong' },
          form: { csrf_token: login.accessCsrf },
        }),
        401,
        MISMATCH,
        { csrf: true },
      )
      assert.deepEqual(
        ok(
          await send(url, '/protected', {
            cookies: login.cookies,
            headers: { 'x-csrf-token': login.accessCsrf },
            form: { csrf_token: 'wrong' },
          }),
        ),
        ACCESS,
      )
    })

    test('custom form field names are read for access and refresh routes', async (t) => {
      const { url, login } = await start(t, adapter, { csrfCheckForm: true, accessCsrfFieldName: '_xsrf', refreshCsrfFieldName: '_rxsrf' })
      assert.deepEqual(ok(await send(url, '/protected', { cookies: login.cookies, form: { _xsrf: login.accessCsrf } })), ACCESS)
      assert.deepEqual(ok(await send(url, '/refresh', { cookies: login.cookies, form: { _rxsrf: login.refreshCsrf } })), REFRESH)
      expectError(await send(url, '/protected', { cookies: login.cookies, form: { csrf_token: login.accessCsrf } }), 401, MISSING, {
        csrf: true,
      })
    })

    test('without csrfCheckForm the form field is ignored', async (t) => {
      const { url, login } = await start(t, adapter)
      expectError(await send(url, '/protected', { cookies: login.cookies, form: { csrf_token: login.accessCsrf } }), 401, MISSING, {
        csrf: true,
      })
    })

    test('a JSON body is not a form: its csrf_token field is not taken, as in FJE', async (t) => {
      const { url, login } = await start(t, adapter, { csrfCheckForm: true })
      expectError(await send(url, '/protected', { cookies: login.cookies, json: { csrf_token: login.accessCsrf } }), 401, MISSING, {
        csrf: true,
      })
    })

    test('a cookie token minted without a csrf claim is 422 "Missing claim: csrf" once a CSRF value is checked', async (t) => {
      const { url } = await start(t, adapter)
      const bare = await (await createKeycard({ secret: SECRET, csrfProtect: false })).createAccessToken('42')
      assert.equal('csrf' in claimsOf(bare), false)
      const cookies = { access_token_cookie: bare }
      expectError(
        await send(url, '/protected', { method: 'POST', cookies, headers: { 'x-csrf-token': crypto.randomUUID() } }),
        422,
        'Missing claim: csrf',
      )
      expectError(await send(url, '/protected', { method: 'POST', cookies }), 401, MISSING, { csrf: true })
      assert.deepEqual(ok(await send(url, '/protected', { cookies })), ACCESS)
    })

    test('CSRF is not checked for tokens in the header, the query string or a JSON body', async (t) => {
      const { url, keycard, login } = await start(t, adapter, { tokenLocation: ['headers', 'cookies', 'query_string', 'json'] })
      const bare = await (await createKeycard({ secret: SECRET, csrfProtect: false })).createAccessToken('42')
      for (const method of STATE_CHANGING) {
        assert.deepEqual(ok(await send(url, '/protected', { method, bearer: login.access, cookies: login.cookies })), ACCESS)
        assert.deepEqual(ok(await send(url, '/protected', { method, bearer: bare })), ACCESS)
      }
      assert.deepEqual(ok(await send(url, `/protected?jwt=${login.access}`, { method: 'DELETE' })), ACCESS)
      assert.deepEqual(ok(await send(url, '/protected', { json: { access_token: await keycard.createAccessToken('42') } })), ACCESS)
      assert.deepEqual(ok(await send(url, '/refresh', { json: { refresh_token: login.refresh } })), REFRESH)
    })

    test('csrfProtect: false checks no CSRF value on cookie tokens', async (t) => {
      const { url, login } = await start(t, adapter, { csrfProtect: false })
      for (const method of STATE_CHANGING) {
        assert.deepEqual(ok(await send(url, '/protected', { method, cookies: { access_token_cookie: login.access } })), ACCESS)
      }
    })
  })
}
