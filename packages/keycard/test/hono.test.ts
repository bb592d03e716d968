/**
 * What only the Hono adapter does (the shared cases run over it in the conformance suites): the body
 * read for the `json` location and the form CSRF field, a JSON body that does not parse, the handler
 * reading the body again, `context(c)` outside a guard, `sendError` as a Response, and errors that
 * are not the token's reaching `app.onError`. Real HTTP on @hono/node-server.
 */

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Hono } from 'hono'
import { createKeycard, KeycardError } from 'keycard'
import { honoKeycard, type KeycardEnv } from 'keycard/hono'
import { expectError, listenHono, loginJar, ok, SECRET, send } from './harness.ts'

async function app(t: Parameters<typeof listenHono>[0]) {
  const keycard = await createKeycard({
    secret: SECRET,
    tokenLocation: ['json', 'cookies'],
    csrfCheckForm: true,
    userLookup: async (_h, claims) => (claims.sub === 'db-down' ? Promise.reject(new Error('db down')) : { id: claims.sub }),
  })
  const auth = honoKeycard(keycard)
  const hono = new Hono<KeycardEnv>()
  const seen: unknown[] = []
  hono.onError((err, c) => {
    seen.push(err)
    return c.json({ error: err instanceof KeycardError ? err.code : 'app error handler' }, 500)
  })
  hono.post('/echo', auth.jwtRequired(), async (c) => c.json({ id: c.get('jwt')!.identity, body: await c.req.json() }))
  hono.post('/form', auth.jwtRequired(), async (c) => c.json({ id: auth.context(c).identity, form: await c.req.parseBody() }))
  hono.get('/unguarded', (c) => c.json({ id: auth.context(c).identity }))
  hono.get('/teapot', (c) => auth.sendError(c, { status: 418, headers: { 'x-why': 'tea' }, body: { msg: 'short and stout' } }))
  return { url: await listenHono(t, hono), keycard, seen }
}

test('the json location reads the body once; the handler reads it again', async (t) => {
  const { url, keycard } = await app(t)
  const token = await keycard.createAccessToken('42')
  assert.deepEqual(ok(await send(url, '/echo', { json: { access_token: token, extra: [1, 2] } })), {
    id: '42',
    body: { access_token: token, extra: [1, 2] },
  })
})

test('a JSON body that does not parse is a 400 naming it, not a 500 and not a missing token', async (t) => {
  const { url, seen } = await app(t)
  const res = await send(url, '/echo', { method: 'POST', headers: { 'content-type': 'application/json' } })
  // An empty JSON body is no body: the json location says what is missing.
  expectError(res, 401, 'Missing "access_token" key in json data.', { noCredentials: true })
  const bad = await fetch(`${url}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"access_token":' })
  assert.equal(bad.status, 400)
  assert.deepEqual(await bad.json(), { msg: 'Failed to decode JSON object: the request body is not valid JSON' })
  assert.deepEqual(seen, [])
})

test('a CSRF value sent as a form field is read from the form, which the handler reads again', async (t) => {
  const { url, keycard } = await app(t)
  const login = await loginJar(keycard)
  const res = await send(url, '/form', { cookies: login.cookies, form: { csrf_token: login.accessCsrf, note: 'hi' } })
  assert.deepEqual(ok(res), { id: '42', form: { csrf_token: login.accessCsrf, note: 'hi' } })
  expectError(
    await send(url, '/form', { cookies: login.cookies, form: { csrf_token: 'wrong' } }),
    401,
    'CSRF double submit tokens do not match',
    {
      csrf: true,
    },
  )
})

test('context(c) outside a guarded route throws KEYCARD_NO_CONTEXT, which reaches app.onError', async (t) => {
  const { url, seen } = await app(t)
  const res = await fetch(`${url}/unguarded`)
  assert.equal(res.status, 500)
  assert.deepEqual(await res.json(), { error: 'KEYCARD_NO_CONTEXT' })
  assert.equal(seen.length, 1)
  assert.match((seen[0] as Error).message, /c\.get\('jwt'\) is null/)
})

test('a loader that throws reaches app.onError; sendError answers with the response given', async (t) => {
  const { url, keycard, seen } = await app(t)
  const token = await keycard.createAccessToken('db-down')
  const res = await send(url, '/echo', { json: { access_token: token } })
  assert.deepEqual({ status: res.status, body: res.body }, { status: 500, body: { error: 'app error handler' } })
  assert.equal((seen[0] as Error).message, 'db down')
  const tea = await fetch(`${url}/teapot`)
  assert.deepEqual(
    { status: tea.status, why: tea.headers.get('x-why'), body: await tea.json() },
    { status: 418, why: 'tea', body: { msg: 'short and stout' } },
  )
})
