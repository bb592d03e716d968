/**
 * Every route called on a real server over HTTP, with good and bad requests, and each answer checked
 * against GET /openapi.json: its status must be documented for the route, and its Content-Type, body
 * and headers must match what the document says. Then every documented operation must have been met.
 */

import assert from 'node:assert/strict'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { sql } from 'kysely'
import { type OpenApiDocument, responseChecker } from './openapi-check.ts'
import { forEachDialect, openBeside, PASSWORD, type RequestOptions, startServer, tempDir, type TestServer } from './helpers.ts'
import { keyringEnv } from './keyring-env.ts'

/** `name=value` pairs of a reply's Set-Cookie headers. */
function cookiesOf(headers: Headers): Record<string, string> {
  return Object.fromEntries(headers.getSetCookie().map((c) => c.split(';')[0]!.split('=') as [string, string]))
}

/** A minimal built account page: index.html and one hashed asset. */
function webDir(t: Parameters<typeof tempDir>[0]): string {
  const dir = tempDir(t)
  mkdirSync(join(dir, 'assets'))
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>Keycard</title>')
  writeFileSync(join(dir, 'assets', 'index-AbCdEf12.js'), 'export {}')
  return dir
}

forEachDialect((dialect) => {
  test('every route answers as the document says, for good and bad requests', async (t) => {
    const metricsToken = 'metrics-token-0123456789'
    const s = await startServer(t, { METRICS_TOKEN: metricsToken }, { dialect, webDir: webDir(t) })
    const doc = (await s.api('GET', '/openapi.json')).body as OpenApiDocument
    const { check, covered } = responseChecker(doc)
    const call = async (method: string, template: string, path: string, options?: RequestOptions) =>
      check(method, template, await s.api(method, path, options))
    const is = (reply: { status: number; text: string }, status: number) => assert.equal(reply.status, status, reply.text)

    is(await call('GET', '/openapi.json', '/openapi.json'), 200)
    is(await call('GET', '/healthz', '/healthz'), 200)
    is(await call('GET', '/health/live', '/health/live'), 200)
    is(await call('GET', '/health/ready', '/health/ready'), 200)
    is(await call('GET', '/metrics', '/metrics', { headers: { authorization: `Bearer ${metricsToken}` } }), 200)
    is(await call('GET', '/metrics', '/metrics'), 401)
    is(await call('GET', '/', '/'), 200)
    is(await call('GET', '/assets/*', '/assets/index-AbCdEf12.js'), 200)
    is(await call('GET', '/assets/*', '/assets/missing.js'), 404)
    is(await call('GET', '/.well-known/jwks.json', '/.well-known/jwks.json'), 404)
    is(await call('GET', '/.well-known/openid-configuration', '/.well-known/openid-configuration'), 404)

    // Register: header mode, cookie mode, and what is refused.
    const reg = '/auth/register'
    const alice = await call('POST', reg, reg, { body: { username: 'alice', password: PASSWORD, email: 'alice@example.test' } })
    is(alice, 201)
    is(await call('POST', reg, reg, { body: { username: 'bob', password: PASSWORD }, headers: { 'x-token-mode': 'cookie' } }), 201)
    is(await call('POST', reg, reg, { body: { username: 'alice', password: PASSWORD } }), 409)
    is(await call('POST', reg, reg, { body: { username: 'carol' } }), 400)
    is(await call('POST', reg, reg, { body: { username: 'carol', password: 'short' } }), 400)
    is(await call('POST', reg, reg, { body: [] }), 400)
    is(await call('POST', reg, reg, { raw: '{"username":', contentType: 'application/json' }), 400)
    is(await call('POST', reg, reg, { raw: 'username=carol', contentType: 'text/plain' }), 415)
    is(await call('POST', reg, reg, { raw: JSON.stringify({ username: 'x'.repeat(70_000) }), contentType: 'application/json' }), 413)
    is(await call('POST', reg, reg, { body: { username: 'carol', password: PASSWORD }, headers: { 'x-token-mode': 'both' } }), 400)

    // Login and fresh-login, both modes.
    const login = '/auth/login'
    const tokens = await call('POST', login, login, { body: { username: 'alice', password: PASSWORD } })
    is(tokens, 200)
    const { access_token: access, refresh_token: refresh } = tokens.body
    const browser = await call('POST', login, login, {
      body: { username: 'bob', password: PASSWORD },
      headers: { 'x-token-mode': 'cookie' },
    })
    is(browser, 200)
    is(await call('POST', login, login, { body: { username: 'alice', password: 'wrong password here' } }), 401)
    is(await call('POST', login, login, { body: { username: 'alice' } }), 400)
    const fresh = '/auth/fresh-login'
    const freshTokens = await call('POST', fresh, fresh, { body: { username: 'alice', password: PASSWORD } })
    is(freshTokens, 200)
    is(await call('POST', fresh, fresh, { body: { username: 'bob', password: PASSWORD }, headers: { 'x-token-mode': 'cookie' } }), 200)
    is(await call('POST', fresh, fresh, { body: { username: 'alice', password: 'wrong password here' } }), 401)

    // The cookie mode's requests: the access or refresh cookie and its CSRF value.
    const jar = cookiesOf(browser.headers)
    const cookie = (names: string[]) => ({ cookie: names.map((n) => `${n}=${jar[n]}`).join('; ') })
    const withAccess = { ...cookie(['access_token_cookie', 'csrf_access_token']), 'x-csrf-token': jar.csrf_access_token! }
    is(await call('GET', '/auth/me', '/auth/me', { headers: cookie(['access_token_cookie']) }), 200)
    is(await call('POST', '/auth/logout-all', '/auth/logout-all', { headers: cookie(['access_token_cookie']) }), 401) // no CSRF header
    const rotated = await call('POST', '/auth/refresh', '/auth/refresh', {
      headers: { ...cookie(['refresh_token_cookie', 'csrf_refresh_token']), 'x-csrf-token': jar.csrf_refresh_token! },
    })
    is(rotated, 200)

    // Token routes, bearer.
    is(await call('GET', '/auth/me', '/auth/me', { token: access }), 200)
    is(await call('GET', '/auth/me', '/auth/me'), 401)
    is(await call('GET', '/auth/me', '/auth/me', { token: 'not-a-jwt' }), 422)
    is(await call('GET', '/auth/me', '/auth/me', { token: refresh }), 422)
    const sessions = await call('GET', '/auth/tokens', '/auth/tokens', { token: access })
    is(sessions, 200)
    is(await call('GET', '/auth/events', '/auth/events?limit=5', { token: access }), 200)
    is(await call('GET', '/auth/events', '/auth/events?limit=500', { token: access }), 400)
    is(await call('GET', '/auth/events', '/auth/events?types=login', { token: access }), 400)
    is(await call('GET', '/auth/verify', '/auth/verify', { token: access }), 200)
    is(await call('HEAD', '/auth/verify', '/auth/verify', { token: access }), 200)
    is(await call('GET', '/auth/verify', '/auth/verify'), 401)
    is(await call('GET', '/auth/verify', '/auth/verify', { token: 'not-a-jwt' }), 401)
    is(await call('POST', '/auth/refresh', '/auth/refresh', { token: access }), 422)
    is(await call('POST', '/auth/refresh', '/auth/refresh'), 401)
    const refreshed = await call('POST', '/auth/refresh', '/auth/refresh', { token: refresh })
    is(refreshed, 200)

    // Password: a fresh token only, and the password rules.
    const password = '/auth/password'
    is(await call('POST', password, password, { token: refreshed.body.access_token, body: { new_password: 'another good password' } }), 401)
    is(await call('POST', password, password, { token: freshTokens.body.access_token, body: { new_password: 'short' } }), 400)
    is(await call('POST', password, password, { token: freshTokens.body.access_token, body: {} }), 400)
    const changed = await call('POST', password, password, {
      token: freshTokens.body.access_token,
      body: { new_password: 'another good password' },
    })
    is(changed, 200)

    // Admin routes: refused to a user, then allowed once the database says admin.
    const again = await s.login('alice', 'another good password')
    is(await call('GET', '/admin/users', '/admin/users', { token: again.access_token }), 403)
    is(await call('DELETE', '/admin/users/:id', '/admin/users/2', { token: again.access_token }), 403)
    is(await call('GET', '/admin/audit', '/admin/audit', { token: again.access_token }), 403)
    const db = openBeside(t, s)
    await sql`UPDATE users SET admin = 1 WHERE username = 'alice'`.execute(db)
    is(await call('GET', '/admin/users', '/admin/users?limit=1', { token: again.access_token }), 200)
    is(await call('GET', '/admin/users', '/admin/users?limit=0', { token: again.access_token }), 400)
    is(await call('GET', '/admin/audit', '/admin/audit?type=login.failed&since=1h', { token: again.access_token }), 200)
    is(await call('GET', '/admin/audit', '/admin/audit?type=nope', { token: again.access_token }), 400)
    is(await call('DELETE', '/admin/users/:id', '/admin/users/999', { token: again.access_token }), 404)
    is(await call('DELETE', '/admin/users/:id', `/admin/users/${(await s.register('dave')).user.id}`, { token: again.access_token }), 200)

    // Sessions: revoke one, then sign out and out everywhere.
    const other = await s.login('alice', 'another good password')
    const list = await call('GET', '/auth/tokens', '/auth/tokens', { token: other.access_token })
    const victim = list.body.sessions.find((x: { current: boolean }) => !x.current).id
    is(await call('DELETE', '/auth/tokens/:id', `/auth/tokens/${victim}`, { token: other.access_token }), 200)
    is(await call('DELETE', '/auth/tokens/:id', '/auth/tokens/nope', { token: other.access_token }), 404)
    // Refused by the router before the guard: a segment over 100 characters, a bad percent-encoding.
    is(await call('DELETE', '/auth/tokens/:id', `/auth/tokens/${'a'.repeat(150)}`, { token: other.access_token }), 414)
    is(await call('DELETE', '/auth/tokens/:id', '/auth/tokens/%zz', { token: other.access_token }), 400)
    is(await call('POST', '/auth/logout', '/auth/logout', { token: other.refresh_token }), 200)
    is(await call('POST', '/auth/logout', '/auth/logout'), 401)
    is(await call('POST', '/auth/logout-all', '/auth/logout-all', { headers: withAccess }), 200)
    is(await call('GET', '/auth/me', '/auth/me', { token: other.access_token }), 401) // revoked

    // Every operation of the document met at least once.
    const operations = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`))
    const met = new Set(
      [...covered].map((c) =>
        c
          .split(' ')
          .slice(0, 2)
          .join(' ')
          .replace(/^HEAD /, 'GET '),
      ),
    )
    assert.deepEqual(
      operations.filter((op) => !met.has(op)),
      [],
    )
  })
})

test('keyring mode: the JWKS (200, then 304) and the discovery document as documented', async (t) => {
  const s: TestServer = await startServer(t, keyringEnv('ES256'))
  const { check } = responseChecker((await s.api('GET', '/openapi.json')).body as OpenApiDocument)
  const jwks = check('GET', '/.well-known/jwks.json', await s.api('GET', '/.well-known/jwks.json'))
  assert.equal(jwks.status, 200)
  const etag = jwks.headers.get('etag')!
  const same = check('GET', '/.well-known/jwks.json', await s.api('GET', '/.well-known/jwks.json', { headers: { 'if-none-match': etag } }))
  assert.equal(same.status, 304)
  assert.equal(check('GET', '/.well-known/openid-configuration', await s.api('GET', '/.well-known/openid-configuration')).status, 200)
})

test('throttled sign-ins (429 with Retry-After) and an unbuilt page (503) as documented', async (t) => {
  const s = await startServer(t, { THROTTLE_REGISTER: '2/1h', THROTTLE_BURST: '0' }, { webDir: tempDir(t) })
  const { check } = responseChecker((await s.api('GET', '/openapi.json')).body as OpenApiDocument)
  let status = 0
  for (let i = 0; i < 10 && status !== 429; i++)
    status = check(
      'POST',
      '/auth/register',
      await s.api('POST', '/auth/register', { body: { username: `u${i}`, password: PASSWORD } }),
    ).status
  assert.equal(status, 429)
  assert.equal(check('GET', '/', await s.api('GET', '/')).status, 503)
})

test('the checker refuses an answer the document does not describe (it can fail)', async (t) => {
  const s = await startServer(t)
  const { check } = responseChecker((await s.api('GET', '/openapi.json')).body as OpenApiDocument)
  const me = await s.api('GET', '/auth/me')
  assert.throws(() => check('GET', '/auth/me', { ...me, status: 418 }), /status 418 is not documented/)
  assert.throws(() => check('GET', '/auth/me', { ...me, text: JSON.stringify({ msg: 'x', code: 'NOT_A_CODE' }) }), /does not match/)
  assert.throws(() => check('GET', '/auth/me', { ...me, headers: new Headers({ 'content-type': 'text/plain' }) }), /Content-Type/)
  assert.throws(() => check('GET', '/nope', me), /not in the document/)
})
