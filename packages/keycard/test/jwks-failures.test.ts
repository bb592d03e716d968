/**
 * jwks mode when the key set cannot be had: the server down, a 500, garbage, no `keys`, a body over
 * 1 MB, no answer within the timeout. Each is a 503 JWKS_UNAVAILABLE naming the URL (never its
 * credentials or query) and the reason, with Retry-After, through decodeToken and through both
 * adapters over real HTTP; no token is ever accepted because a fetch failed.
 */

import assert from 'node:assert/strict'
import { generateKeyPairSync } from 'node:crypto'
import { test } from 'node:test'
import { createKeycard, isJwksUnavailable, JwksUnavailableError, type KeyEntry, type Keycard, type KeycardOptions } from 'keycard'
import { ADAPTERS, call, serve, startKeySetServer } from './harness.ts'

const K1: KeyEntry = { kid: 'k1', algorithm: 'ES256', privateKey: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey }
const auth = await createKeycard({ keys: [K1] })
const SET = auth.jwks()

async function unavailable(keycard: Keycard, url: string, reason: string | RegExp, token?: string): Promise<JwksUnavailableError> {
  let caught: unknown
  try {
    await keycard.decodeToken(token ?? (await auth.createAccessToken('42')))
  } catch (err) {
    caught = err
  }
  assert.ok(caught instanceof JwksUnavailableError, `expected JwksUnavailableError, got ${String(caught)}`)
  assert.ok(isJwksUnavailable(caught))
  assert.equal(caught.code, 'KEYCARD_JWKS_UNAVAILABLE')
  assert.equal(caught.status, 503)
  assert.equal(caught.statusCode, 503)
  assert.equal(caught.url, url)
  if (typeof reason === 'string') assert.equal(caught.message, `The key set ${url} is unavailable: ${reason}`)
  else assert.match(caught.reason, reason)
  assert.ok(caught.retryAfter >= 1 && caught.retryAfter <= 30, `Retry-After ${caught.retryAfter} is within the cooldown`)
  assert.deepEqual(caught.headers, { 'retry-after': String(caught.retryAfter) })
  return caught
}

const FAILURES: [string, (server: Awaited<ReturnType<typeof startKeySetServer>>) => void, string | RegExp, KeycardOptions?][] = [
  ['a 500', (s) => Object.assign(s.answer, { status: 500, body: 'oops' }), 'HTTP 500'],
  ['a 404', (s) => Object.assign(s.answer, { status: 404, body: {} }), 'HTTP 404'],
  ['a body that is not JSON', (s) => Object.assign(s.answer, { body: '<html>login</html>' }), 'the response is not JSON'],
  ['JSON without a keys array', (s) => Object.assign(s.answer, { body: { keys: 'none' } }), 'the response has no "keys" array'],
  ['a body over 1 MB (Content-Length)', (s) => Object.assign(s.answer, { body: 'x'.repeat(1024 * 1024 + 1) }), 'the response is over 1 MB'],
  [
    'a body over 1 MB (chunked)',
    (s) => Object.assign(s.answer, { body: JSON.stringify({ keys: [], pad: 'x'.repeat(2 * 1024 * 1024) }), chunked: true }),
    'the response is over 1 MB',
  ],
  [
    'no answer within the timeout',
    (s) => Object.assign(s.answer, { hang: true }),
    'no complete answer within 0.2 s',
    { jwksOptions: { timeout: '0.2s' } },
  ],
]

for (const [name, breakIt, reason, extra] of FAILURES) {
  test(`${name} → 503 JWKS_UNAVAILABLE naming the URL and the reason; no token is accepted`, async (t) => {
    const server = await startKeySetServer(t, SET)
    breakIt(server)
    const keycard = await createKeycard({ jwks: server.url, ...extra })
    await unavailable(keycard, server.url, reason)
    assert.deepEqual(keycard.jwks(), { keys: [] })
  })
}

test('the server down → 503 naming ECONNREFUSED', async (t) => {
  const server = await startKeySetServer(t, SET)
  await server.close()
  const keycard = await createKeycard({ jwks: server.url })
  await unavailable(keycard, server.url, 'the request failed (ECONNREFUSED)')
})

test('a known kid keeps verifying when a refetch fails; a new kid is then 503, not KID_UNKNOWN', async (t) => {
  const server = await startKeySetServer(t, SET)
  const keycard = await createKeycard({ jwks: server.url, jwksOptions: { cooldown: 0 } })
  const token = await auth.createAccessToken('42')
  await keycard.decodeToken(token)
  server.answer.status = 500
  const other = await createKeycard({ keys: [{ ...K1, kid: 'k2' }] })
  await unavailable(keycard, server.url, 'HTTP 500', await other.createAccessToken('1'))
  assert.equal(server.requests.length, 2, 'the new kid refetched')
  assert.equal((await keycard.decodeToken(token)).sub, '42')
})

test('credentials in the URL are sent as Basic auth and never printed, nor the query', async (t) => {
  const server = await startKeySetServer(t, SET)
  server.answer.status = 503
  const url = new URL(server.url)
  const withSecrets = `http://svc:p%40ss-w0rd@${url.host}${url.pathname}?api_key=query-secret`
  const keycard = await createKeycard({ jwks: withSecrets })
  const err = await unavailable(keycard, server.url, 'HTTP 503')
  assert.ok(!err.message.includes('p@ss') && !err.message.includes('query-secret') && !err.message.includes('svc'))
  assert.equal(server.requests[0]!.authorization, `Basic ${Buffer.from('svc:p@ss-w0rd').toString('base64')}`)
  assert.equal(server.requests[0]!.path, '/.well-known/jwks.json?api_key=query-secret')
})

for (const adapter of ADAPTERS) {
  test(`${adapter}: a key set failure is 503 + Retry-After + {msg} over HTTP, and the service recovers`, async (t) => {
    const server = await startKeySetServer(t, SET)
    server.answer.status = 500
    // No cooldown, so the recovery below needs no clock.
    const keycard = await createKeycard({ jwks: server.url, jwksOptions: { cooldown: 0 } })
    const url = await serve(t, adapter, keycard, [{ path: '/protected', guard: {} }])
    const token = await auth.createAccessToken('42')
    const res = await call(url, '/protected', { token })
    assert.equal(res.status, 503)
    assert.deepEqual(res.body, { msg: `The key set ${server.url} is unavailable: HTTP 500` })
    const retryAfter = Number(res.headers.get('retry-after'))
    assert.ok(retryAfter >= 1 && retryAfter <= 30, `Retry-After: ${res.headers.get('retry-after')}`)
    assert.equal(res.headers.get('www-authenticate'), null)

    server.answer.status = 200
    const okRes = await call(url, '/protected', { token })
    assert.equal(okRes.status, 200)
    assert.equal(okRes.body.identity, '42')
  })
}
