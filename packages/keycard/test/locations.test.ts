/**
 * Token locations (Flask-JWT-Extended 4.7 §1.7/§1.8): headers, cookies, query_string and json,
 * tried in the configured order, where only "not found" falls through to the next location, and
 * the combined "Missing JWT in …" message. The cookie location applies to a request that carries one of
 * Keycard's cookies (contract v1): an API client without any gets the other locations' answers. Real HTTP
 * on both adapters.
 */

import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createKeycard, KeycardOptionError, type KeycardOptions, type TokenLocation } from 'keycard'
import {
  ADAPTER_FACTORIES,
  ADAPTERS,
  claimsOf,
  expectError,
  expiredToken,
  ok,
  SECRET,
  send,
  serve,
  type Adapter,
  type Route,
} from './harness.ts'

const ALL: TokenLocation[] = ['headers', 'cookies', 'query_string', 'json']
const NO_HEADER = 'Missing Authorization Header'
const NO_COOKIE = 'Missing cookie "access_token_cookie"'
const NO_QUERY = "Missing 'jwt' query paramater"
const BAD_TYPE = 'Invalid content-type. Must be application/json.'
const NO_KEY = 'Missing "access_token" key in json data.'
/** A Keycard cookie that holds no token: the request is a browser's, so the cookie location applies. */
const BROWSER = { csrf_access_token: 'x' }

const ROUTES: Route[] = [
  { path: '/protected', guard: {} },
  { path: '/refresh', guard: { refresh: true } },
]

async function start(t: Parameters<typeof serve>[0], adapter: Adapter, options: Partial<KeycardOptions> = {}, routes: Route[] = ROUTES) {
  const keycard = await createKeycard({ secret: SECRET, ...options })
  return { keycard, url: await serve(t, adapter, keycard, routes) }
}

for (const adapter of ADAPTERS) {
  describe(`${adapter}: token locations`, () => {
    test('each location alone accepts a valid access token and reports where it was found', async (t) => {
      const { keycard, url } = await start(t, adapter, { tokenLocation: ALL })
      const token = await keycard.createAccessToken('7')
      const csrf = claimsOf(token).csrf as string
      const expected = (location: string) => ({ identity: '7', location, type: 'access' })
      assert.deepEqual(ok(await send(url, '/protected', { bearer: token })), expected('headers'))
      assert.deepEqual(ok(await send(url, '/protected', { cookies: { access_token_cookie: token } })), expected('cookies'))
      assert.deepEqual(
        ok(await send(url, '/protected', { method: 'POST', cookies: { access_token_cookie: token }, headers: { 'x-csrf-token': csrf } })),
        expected('cookies'),
      )
      assert.deepEqual(ok(await send(url, `/protected?jwt=${token}`)), expected('query_string'))
      assert.deepEqual(ok(await send(url, '/protected', { json: { access_token: token } })), expected('json'))
    })

    test('the configured order is the precedence when several locations hold a token', async (t) => {
      const orders: TokenLocation[][] = [
        ['headers', 'cookies', 'query_string', 'json'],
        ['cookies', 'headers', 'json', 'query_string'],
        ['query_string', 'json', 'headers', 'cookies'],
        ['json', 'query_string', 'cookies', 'headers'],
      ]
      for (const order of orders) {
        const { keycard, url } = await start(t, adapter, { tokenLocation: order })
        const byLocation = { headers: 'h', cookies: 'c', query_string: 'q', json: 'j' } as const
        const h = await keycard.createAccessToken('h')
        const c = await keycard.createAccessToken('c')
        const q = await keycard.createAccessToken('q')
        const j = await keycard.createAccessToken('j')
        const res = await send(url, `/protected?jwt=${q}`, {
          bearer: h,
          cookies: { access_token_cookie: c },
          headers: { 'x-csrf-token': claimsOf(c).csrf as string },
          json: { access_token: j },
        })
        assert.deepEqual(ok(res), { identity: byLocation[order[0]!], location: order[0], type: 'access' }, `order ${order.join(', ')}`)
      }
    })

    test('a header without a Bearer entry falls through to a valid cookie', async (t) => {
      const { keycard, url } = await start(t, adapter, { tokenLocation: ['headers', 'cookies'] })
      const token = await keycard.createAccessToken('42')
      const res = await send(url, '/protected', {
        headers: { authorization: 'Basic dXNlcjpwYXNz' },
        cookies: { access_token_cookie: token },
      })
      assert.deepEqual(ok(res), { identity: '42', location: 'cookies', type: 'access' })
    })

    test('a malformed Authorization header stops the search with 422 even when a valid cookie follows', async (t) => {
      const { keycard, url } = await start(t, adapter, { tokenLocation: ['headers', 'cookies'] })
      const cookies = { access_token_cookie: await keycard.createAccessToken('42') }
      expectError(
        await send(url, '/protected', { headers: { authorization: 'Bearer a b' }, cookies }),
        422,
        "Bad Authorization header. Expected 'Authorization: Bearer <JWT>'",
      )
      expectError(await send(url, '/protected', { headers: { authorization: 'Bearer not-a-jwt' }, cookies }), 422, 'Not enough segments')
    })

    test('an expired header token is not replaced by a valid cookie', async (t) => {
      const { keycard, url } = await start(t, adapter, { tokenLocation: ['headers', 'cookies'] })
      const cookies = { access_token_cookie: await keycard.createAccessToken('42') }
      expectError(await send(url, '/protected', { bearer: expiredToken(), cookies }), 401, 'Token has expired')
    })

    test('a cookie without its CSRF value on a POST stops the search instead of falling through to the header', async (t) => {
      const { keycard, url } = await start(t, adapter, { tokenLocation: ['cookies', 'headers'] })
      const token = await keycard.createAccessToken('42')
      expectError(
        await send(url, '/protected', { method: 'POST', bearer: token, cookies: { access_token_cookie: token } }),
        401,
        'Missing CSRF token',
        { csrf: true },
      )
    })

    test('a query value without the prefix stops the search with 422 even when a valid json token follows', async (t) => {
      const { keycard, url } = await start(t, adapter, { tokenLocation: ['query_string', 'json'], queryStringValuePrefix: 'Bearer ' })
      const token = await keycard.createAccessToken('42')
      expectError(
        await send(url, `/protected?jwt=${token}`, { json: { access_token: token } }),
        422,
        "Invalid value for query parameter 'jwt'. Expected the value to start with 'Bearer '",
      )
    })

    test("with all four locations and no token the message lists each location's reason in order", async (t) => {
      const { url } = await start(t, adapter, { tokenLocation: ALL })
      expectError(
        await send(url, '/protected', { cookies: BROWSER }),
        401,
        `Missing JWT in headers, cookies, query_string or json (${NO_HEADER}; ${NO_COOKIE}; ${NO_QUERY}; ${BAD_TYPE})`,
        { noCredentials: true },
      )
      expectError(
        await send(url, '/protected', { cookies: BROWSER, json: {} }),
        401,
        `Missing JWT in headers, cookies, query_string or json (${NO_HEADER}; ${NO_COOKIE}; ${NO_QUERY}; ${NO_KEY})`,
        { noCredentials: true },
      )
    })

    test('a request without any Keycard cookie is answered as if cookies were not a location', async (t) => {
      const { url } = await start(t, adapter, { tokenLocation: ALL })
      expectError(
        await send(url, '/protected'),
        401,
        `Missing JWT in headers, query_string or json (${NO_HEADER}; ${NO_QUERY}; ${BAD_TYPE})`,
        { noCredentials: true },
      )
      // Other sites' cookies do not count; any one of the four Keycard cookie names does, even empty.
      expectError(
        await send(url, '/protected', { cookies: { session: 'x', theme: 'dark' } }),
        401,
        `Missing JWT in headers, query_string or json (${NO_HEADER}; ${NO_QUERY}; ${BAD_TYPE})`,
        { noCredentials: true },
      )
      for (const name of ['access_token_cookie', 'refresh_token_cookie', 'csrf_access_token', 'csrf_refresh_token']) {
        expectError(
          await send(url, '/protected', { cookies: { [name]: '' } }),
          401,
          `Missing JWT in headers, cookies, query_string or json (${NO_HEADER}; ${NO_COOKIE}; ${NO_QUERY}; ${BAD_TYPE})`,
          { noCredentials: true },
        )
      }
    })

    test('headers + cookies: an API client gets exactly the header-only answers (contract v1)', async (t) => {
      const { keycard, url } = await start(t, adapter, { tokenLocation: ['headers', 'cookies'] })
      const token = await keycard.createAccessToken('42')
      const MISSING_BEARER = "Missing 'Bearer' type in 'Authorization' header. Expected 'Authorization: Bearer <JWT>'"
      expectError(await send(url, '/protected'), 401, NO_HEADER, { noCredentials: true })
      expectError(await send(url, '/protected', { headers: { authorization: 'Basic dXNlcjpwYXNz' } }), 401, MISSING_BEARER, {
        noCredentials: true,
      })
      expectError(await send(url, '/protected', { headers: { authorization: `bearer ${token}` } }), 401, MISSING_BEARER, {
        noCredentials: true,
      })
      expectError(await send(url, '/protected', { headers: { authorization: `Bearer ${token}, Bearer ${token}` } }), 401, MISSING_BEARER, {
        noCredentials: true,
      })
      expectError(
        await send(url, '/protected', { headers: { authorization: 'Bearer' } }),
        422,
        "Bad Authorization header. Expected 'Authorization: Bearer <JWT>'",
      )
      expectError(
        await send(url, '/protected', { headers: { authorization: 'Bearer a b' } }),
        422,
        "Bad Authorization header. Expected 'Authorization: Bearer <JWT>'",
      )
      // A POST without cookies is an API call: no CSRF rule, the header answers.
      expectError(await send(url, '/protected', { method: 'POST' }), 401, NO_HEADER, { noCredentials: true })
      // With a Keycard cookie the request is a browser's: the cookie path and its CSRF rules apply.
      expectError(
        await send(url, '/protected', { cookies: BROWSER }),
        401,
        `Missing JWT in headers or cookies (${NO_HEADER}; ${NO_COOKIE})`,
        { noCredentials: true },
      )
      expectError(await send(url, '/protected', { method: 'POST', cookies: { access_token_cookie: token } }), 401, 'Missing CSRF token', {
        csrf: true,
      })
    })

    test('the combined message follows every configured subset and order', async (t) => {
      const reason = { headers: NO_HEADER, cookies: NO_COOKIE, query_string: NO_QUERY, json: BAD_TYPE }
      const cases: [TokenLocation[], string][] = [
        [['headers', 'cookies'], 'headers or cookies'],
        [['cookies', 'headers'], 'cookies or headers'],
        [['query_string', 'json'], 'query_string or json'],
        [['json', 'cookies', 'headers'], 'json, cookies or headers'],
        [['query_string', 'json', 'cookies', 'headers'], 'query_string, json, cookies or headers'],
        [['cookies', 'query_string'], 'cookies or query_string'],
      ]
      for (const [locations, listed] of cases) {
        const { url } = await start(t, adapter, { tokenLocation: locations })
        expectError(
          await send(url, '/protected', { cookies: BROWSER }),
          401,
          `Missing JWT in ${listed} (${locations.map((l) => reason[l]).join('; ')})`,
          { noCredentials: true },
        )
      }
    })

    test('a single location answers with its own message, without the "Missing JWT in" wrapper', async (t) => {
      const cases: [TokenLocation, string][] = [
        ['headers', NO_HEADER],
        ['cookies', NO_COOKIE],
        ['query_string', NO_QUERY],
        ['json', BAD_TYPE],
      ]
      for (const [location, msg] of cases) {
        const { url } = await start(t, adapter, { tokenLocation: location })
        expectError(await send(url, '/protected'), 401, msg, { noCredentials: true })
      }
      const { url } = await start(t, adapter, { tokenLocation: 'cookies' })
      expectError(await send(url, '/protected', { cookies: { access_token_cookie: '', refresh_token_cookie: 'x' } }), 401, NO_COOKIE, {
        noCredentials: true,
      })
    })

    test('on a refresh route the messages name the refresh cookie and the refresh_token key', async (t) => {
      const { url } = await start(t, adapter, { tokenLocation: ALL })
      expectError(
        await send(url, '/refresh', { cookies: { csrf_refresh_token: 'x' }, json: { access_token: 'x' } }),
        401,
        `Missing JWT in headers, cookies, query_string or json (${NO_HEADER}; Missing cookie "refresh_token_cookie"; ${NO_QUERY}; Missing "refresh_token" key in json data.)`,
        { noCredentials: true },
      )
    })

    test('the messages use the configured header, cookie, query and json names', async (t) => {
      const { url } = await start(t, adapter, {
        tokenLocation: ALL,
        headerName: 'X-Auth',
        headerType: '',
        accessCookieName: 'sid',
        queryStringName: 'token',
        jsonKey: 'tok',
      })
      expectError(
        await send(url, '/protected', { cookies: { sid: '' }, json: {} }),
        401,
        `Missing JWT in headers, cookies, query_string or json (Missing X-Auth Header; Missing cookie "sid"; Missing 'token' query paramater; Missing "tok" key in json data.)`,
        { noCredentials: true },
      )
    })

    test("a route's locations override tokenLocation", async (t) => {
      const { keycard, url } = await start(t, adapter, {}, [
        { path: '/protected', guard: {} },
        { path: '/cookie-only', guard: { locations: 'cookies' } },
        { path: '/query-or-cookie', guard: { locations: ['query_string', 'cookies'] } },
      ])
      const token = await keycard.createAccessToken('42')
      expectError(await send(url, '/protected', { cookies: { access_token_cookie: token } }), 401, NO_HEADER, { noCredentials: true })
      assert.deepEqual(ok(await send(url, '/cookie-only', { cookies: { access_token_cookie: token } })), {
        identity: '42',
        location: 'cookies',
        type: 'access',
      })
      expectError(await send(url, '/cookie-only', { bearer: token }), 401, NO_COOKIE, { noCredentials: true })
      assert.deepEqual(ok(await send(url, `/query-or-cookie?jwt=${token}`)), { identity: '42', location: 'query_string', type: 'access' })
      expectError(await send(url, '/query-or-cookie', { bearer: token }), 401, NO_QUERY, { noCredentials: true })
      expectError(
        await send(url, '/query-or-cookie', { bearer: token, cookies: BROWSER }),
        401,
        `Missing JWT in query_string or cookies (${NO_QUERY}; ${NO_COOKIE})`,
        { noCredentials: true },
      )
    })

    test('a route can narrow a multi-location keycard back to headers only', async (t) => {
      const { keycard, url } = await start(t, adapter, { tokenLocation: ALL }, [
        { path: '/header-only', guard: { locations: ['headers'] } },
      ])
      const token = await keycard.createAccessToken('42')
      expectError(await send(url, `/header-only?jwt=${token}`), 401, NO_HEADER, { noCredentials: true })
      assert.deepEqual(ok(await send(url, '/header-only', { bearer: token })), { identity: '42', location: 'headers', type: 'access' })
    })

    test('an unknown or empty route location is a KeycardOptionError when the guard is created', async () => {
      const keycard = await createKeycard({ secret: SECRET })
      const auth = ADAPTER_FACTORIES[adapter](keycard)
      for (const locations of [['header'], [], ['cookies', 'body']] as unknown as TokenLocation[][]) {
        assert.throws(
          () => auth.jwtRequired({ locations }),
          (err: unknown) =>
            err instanceof KeycardOptionError && err.code === 'KEYCARD_OPTION_INVALID' && err.option === 'jwtRequired.locations',
        )
      }
    })

    test('an unknown tokenLocation is a KeycardOptionError naming the option', async () => {
      await assert.rejects(
        createKeycard({ secret: SECRET, tokenLocation: ['headers', 'cookie' as TokenLocation] }),
        (err: unknown) =>
          err instanceof KeycardOptionError &&
          err.code === 'KEYCARD_OPTION_INVALID' &&
          err.option === 'tokenLocation' &&
          /"cookie"/.test(err.message),
      )
    })
  })

  describe(`${adapter}: the query_string location`, () => {
    test('the token is read from ?jwt= and a missing one is FJE\'s "paramater" message', async (t) => {
      const { keycard, url } = await start(t, adapter, { tokenLocation: 'query_string' })
      const token = await keycard.createAccessToken('42')
      assert.deepEqual(ok(await send(url, `/protected?other=1&jwt=${token}`)), { identity: '42', location: 'query_string', type: 'access' })
      expectError(await send(url, '/protected?jwt='), 401, NO_QUERY, { noCredentials: true })
      expectError(await send(url, '/protected?JWT=x'), 401, NO_QUERY, { noCredentials: true })
    })

    test('with a "Bearer " prefix the value must start with it, else 422 naming the prefix', async (t) => {
      const { keycard, url } = await start(t, adapter, { tokenLocation: 'query_string', queryStringValuePrefix: 'Bearer ' })
      const token = await keycard.createAccessToken('42')
      assert.deepEqual(ok(await send(url, `/protected?jwt=Bearer%20${token}`)), {
        identity: '42',
        location: 'query_string',
        type: 'access',
      })
      assert.deepEqual(ok(await send(url, `/protected?jwt=Bearer+${token}`)), { identity: '42', location: 'query_string', type: 'access' })
      expectError(
        await send(url, `/protected?jwt=${token}`),
        422,
        "Invalid value for query parameter 'jwt'. Expected the value to start with 'Bearer '",
      )
      expectError(
        await send(url, `/protected?jwt=bearer%20${token}`),
        422,
        "Invalid value for query parameter 'jwt'. Expected the value to start with 'Bearer '",
      )
    })

    test('a custom queryStringName is read and named in the messages', async (t) => {
      const { keycard, url } = await start(t, adapter, {
        tokenLocation: 'query_string',
        queryStringName: 'access',
        queryStringValuePrefix: 'JWT:',
      })
      const token = await keycard.createAccessToken('42')
      assert.deepEqual(ok(await send(url, `/protected?access=JWT:${token}`)), { identity: '42', location: 'query_string', type: 'access' })
      expectError(await send(url, `/protected?jwt=JWT:${token}`), 401, "Missing 'access' query paramater", { noCredentials: true })
      expectError(
        await send(url, `/protected?access=${token}`),
        422,
        "Invalid value for query parameter 'access'. Expected the value to start with 'JWT:'",
      )
    })

    test('a refresh route takes a refresh token from the query string and refuses an access token', async (t) => {
      const { keycard, url } = await start(t, adapter, { tokenLocation: 'query_string' })
      assert.deepEqual(ok(await send(url, `/refresh?jwt=${await keycard.createRefreshToken('42')}`)), {
        identity: '42',
        location: 'query_string',
        type: 'refresh',
      })
      expectError(await send(url, `/refresh?jwt=${await keycard.createAccessToken('42')}`), 422, 'Only refresh tokens are allowed')
    })
  })

  describe(`${adapter}: the json location`, () => {
    test("a JSON body's access_token is accepted, with or without a charset parameter", async (t) => {
      const { keycard, url } = await start(t, adapter, { tokenLocation: 'json' })
      const token = await keycard.createAccessToken('42')
      assert.deepEqual(ok(await send(url, '/protected', { json: { access_token: token } })), {
        identity: '42',
        location: 'json',
        type: 'access',
      })
      const withCharset = await send(url, '/protected', {
        method: 'PUT',
        headers: { 'content-type': 'application/json; charset=utf-8' },
        json: { access_token: token },
      })
      assert.deepEqual(ok(withCharset), { identity: '42', location: 'json', type: 'access' })
    })

    test('a GET or a non-JSON body gets the content-type message', async (t) => {
      const { keycard, url } = await start(t, adapter, { tokenLocation: 'json' })
      const token = await keycard.createAccessToken('42')
      expectError(await send(url, '/protected'), 401, BAD_TYPE, { noCredentials: true })
      expectError(await send(url, '/protected', { method: 'POST', headers: { 'content-type': 'text/plain' } }), 401, BAD_TYPE, {
        noCredentials: true,
      })
      expectError(await send(url, '/protected', { form: { access_token: token } }), 401, BAD_TYPE, { noCredentials: true })
    })

    test('a JSON body without the key, with an empty one, or not an object gets the missing-key message', async (t) => {
      const { url } = await start(t, adapter, { tokenLocation: 'json' })
      expectError(await send(url, '/protected', { json: {} }), 401, NO_KEY, { noCredentials: true })
      expectError(await send(url, '/protected', { json: { access_token: '' } }), 401, NO_KEY, { noCredentials: true })
      expectError(await send(url, '/protected', { json: { token: 'x' } }), 401, NO_KEY, { noCredentials: true })
      expectError(await send(url, '/protected', { json: ['access_token'] }), 401, NO_KEY, { noCredentials: true })
    })

    test('a refresh route reads refresh_token, not access_token', async (t) => {
      const { keycard, url } = await start(t, adapter, { tokenLocation: 'json' })
      const refresh = await keycard.createRefreshToken('42')
      assert.deepEqual(ok(await send(url, '/refresh', { json: { refresh_token: refresh } })), {
        identity: '42',
        location: 'json',
        type: 'refresh',
      })
      expectError(await send(url, '/refresh', { json: { access_token: refresh } }), 401, 'Missing "refresh_token" key in json data.', {
        noCredentials: true,
      })
      expectError(
        await send(url, '/refresh', { json: { refresh_token: await keycard.createAccessToken('42') } }),
        422,
        'Only refresh tokens are allowed',
      )
      expectError(await send(url, '/protected', { json: { access_token: refresh } }), 422, 'Only non-refresh tokens are allowed')
    })

    test('custom jsonKey and refreshJsonKey are read and named in the messages', async (t) => {
      const { keycard, url } = await start(t, adapter, { tokenLocation: 'json', jsonKey: 'jwt', refreshJsonKey: 'rt' })
      const access = await keycard.createAccessToken('42')
      const refresh = await keycard.createRefreshToken('42')
      assert.deepEqual(ok(await send(url, '/protected', { json: { jwt: access } })), { identity: '42', location: 'json', type: 'access' })
      assert.deepEqual(ok(await send(url, '/refresh', { json: { rt: refresh } })), { identity: '42', location: 'json', type: 'refresh' })
      expectError(await send(url, '/protected', { json: { access_token: access } }), 401, 'Missing "jwt" key in json data.', {
        noCredentials: true,
      })
      expectError(await send(url, '/refresh', { json: { refresh_token: refresh } }), 401, 'Missing "rt" key in json data.', {
        noCredentials: true,
      })
    })
  })
}
