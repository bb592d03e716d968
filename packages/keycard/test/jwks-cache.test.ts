/**
 * jwks mode against a real JWKS endpoint (node:http on port 0): the first fetch, Cache-Control max-age
 * (the clock is mock.timers' Date), ETag and 304, a refetch on an unknown kid and its cooldown, one
 * fetch for many concurrent requests, maxStale, the synchronous hot path, and the import rules.
 */

import assert from 'node:assert/strict'
import { generateKeyPairSync } from 'node:crypto'
import { mock, test, type TestContext } from 'node:test'
import { CompactSign } from 'jose'
import { createKeycard, type JwtContext, type KeyEntry, type Keycard, type RequestView } from 'keycard'
import { pollUntil, startKeySetServer } from './harness.ts'

const entry = (kid: string): KeyEntry => ({
  kid,
  algorithm: 'ES256',
  privateKey: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey,
})
const K1 = entry('k1')
const K2 = entry('k2')
const K3 = entry('k3')

/** Keys-mode keycards: the auth server's side, minting with `kid` and publishing `jwks()`. */
async function issuer(...entries: KeyEntry[]): Promise<Keycard> {
  return createKeycard({ keys: entries, signingKid: entries[0]!.kid })
}

async function tokenOf(e: KeyEntry, sub = '42'): Promise<string> {
  return (await issuer(e)).createAccessToken(sub)
}

function view(token: string): RequestView {
  return { method: 'GET', header: (name) => (name === 'authorization' ? `Bearer ${token}` : undefined) }
}

/** `checkRequest` for a token of a cached-set kid: asserts it answered without a promise. */
function checkSync(keycard: Keycard, token: string): JwtContext | null {
  const result = keycard.checkRequest(view(token))
  assert.ok(!(result instanceof Promise), 'a token of a cached-set kid never waits')
  return result
}

function freezeClock(t: TestContext): void {
  mock.timers.enable({ apis: ['Date'], now: Date.now() })
  t.after(() => mock.timers.reset())
}

async function refused(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, { code })
}

test('the first fetch: tokens of the set verify, and a known kid verifies synchronously, cached or not', async (t) => {
  const auth = await issuer(K1)
  const server = await startKeySetServer(t, auth.jwks())
  const keycard = await createKeycard({ jwks: server.url })
  // Before the first fetch has finished, verification waits for it (one fetch in all).
  const token = await auth.createAccessToken('42')
  assert.equal((await keycard.decodeToken(token)).sub, '42')
  assert.equal(server.requests.length, 1)
  assert.deepEqual(keycard.jwks(), auth.jwks())
  for (const sub of ['43', '44', '45']) {
    const result = keycard.checkRequest(view(await auth.createAccessToken(sub)))
    assert.ok(!(result instanceof Promise), 'a token of a cached-set kid never waits')
    assert.equal(result?.identity, sub)
  }
  const result = keycard.checkRequest(view(token))
  assert.ok(!(result instanceof Promise))
  assert.equal(result?.identity, '42')
  assert.equal(server.requests.length, 1)
})

test('Cache-Control max-age: no fetch before it ends; after, a known kid still verifies synchronously while ONE refetch runs', async (t) => {
  freezeClock(t)
  const auth = await issuer(K1)
  const server = await startKeySetServer(t, auth.jwks(), { 'cache-control': 'public, max-age=60' })
  const keycard = await createKeycard({ jwks: server.url, jwksOptions: { maxAge: '1h' } })
  const token = await auth.createAccessToken('42')
  await keycard.decodeToken(token)
  mock.timers.tick(59_000)
  assert.ok(!(keycard.checkRequest(view(token)) instanceof Promise))
  assert.equal(server.requests.length, 1, 'max-age=60 wins over maxAge: 1h and is not over yet')

  // The set changes at the server: k1 is dropped, k2 added.
  server.answer.body = (await issuer(K2)).jwks()
  mock.timers.tick(2_000)
  const answered = server.answered()
  const stale = keycard.checkRequest(view(token))
  assert.ok(!(stale instanceof Promise), 'a stale set still answers known kids synchronously')
  assert.equal(stale?.identity, '42')
  keycard.checkRequest(view(token))
  await answered
  await pollUntil(() => keycard.jwks().keys[0]?.kid === 'k2', 'the refetched set is in')
  assert.equal(server.requests.length, 2, 'one background refetch, however many verifications')
  // k1 is gone from the set: refused, its cached verification included.
  await refused(keycard.decodeToken(token), 'KEYCARD_JWT_KID_UNKNOWN')
  assert.equal((await keycard.decodeToken(await tokenOf(K2))).sub, '42')
})

test('ETag: the refetch sends If-None-Match, a 304 keeps the keys and starts a new max-age', async (t) => {
  freezeClock(t)
  const auth = await issuer(K1)
  const server = await startKeySetServer(t, auth.jwks(), { 'cache-control': 'max-age=60', etag: '"v1"' })
  server.answer.honourEtag = true
  const keycard = await createKeycard({ jwks: server.url })
  const token = await auth.createAccessToken('42')
  await keycard.decodeToken(token)
  assert.equal(server.requests[0]!.ifNoneMatch, undefined)

  mock.timers.tick(61_000)
  const answered = server.answered()
  assert.equal(checkSync(keycard, token)?.identity, '42')
  await answered
  // An unknown kid waits for the fetch in flight (within the cooldown it starts none): a barrier.
  await refused(keycard.decodeToken(await tokenOf(K3)), 'KEYCARD_JWT_KID_UNKNOWN')
  assert.deepEqual(
    server.requests.map((r) => r.ifNoneMatch),
    [undefined, '"v1"'],
  )
  mock.timers.tick(59_000)
  assert.equal(checkSync(keycard, token)?.identity, '42')
  assert.equal(server.requests.length, 2, 'the 304 started a new max-age')
  assert.equal((await keycard.decodeToken(token)).sub, '42')
})

test('an unknown kid refetches, then is KID_UNKNOWN; within the cooldown a second unknown kid does not fetch', async (t) => {
  freezeClock(t)
  const server = await startKeySetServer(t, (await issuer(K1)).jwks())
  const keycard = await createKeycard({ jwks: server.url })
  await keycard.decodeToken(await tokenOf(K1))
  assert.equal(server.requests.length, 1)

  // A key published after the first fetch: its first token refetches (the cooldown is over).
  server.answer.body = (await issuer(K1, K2)).jwks()
  mock.timers.tick(31_000)
  assert.equal((await keycard.decodeToken(await tokenOf(K2, '7'))).sub, '7')
  assert.equal(server.requests.length, 2)

  mock.timers.tick(31_000)
  await refused(keycard.decodeToken(await tokenOf(K3)), 'KEYCARD_JWT_KID_UNKNOWN')
  assert.equal(server.requests.length, 3, 'the unknown kid refetched once')

  // Published now, but the last fetch was under 30 s ago: refused without fetching.
  server.answer.body = (await issuer(K1, K2, K3)).jwks()
  mock.timers.tick(29_000)
  await refused(keycard.decodeToken(await tokenOf(K3, '8')), 'KEYCARD_JWT_KID_UNKNOWN')
  assert.equal(server.requests.length, 3, 'cooldown: no fetch')
  mock.timers.tick(2_000)
  assert.equal((await keycard.decodeToken(await tokenOf(K3, '9'))).sub, '9')
  assert.equal(server.requests.length, 4)
})

test('N concurrent requests with a new kid make exactly one fetch, at startup and on a refetch', async (t) => {
  freezeClock(t)
  const server = await startKeySetServer(t, (await issuer(K1)).jwks())
  const keycard = await createKeycard({ jwks: server.url })
  const first = await Promise.all(Array.from({ length: 20 }, async (_, i) => keycard.decodeToken(await tokenOf(K1, `a${i}`))))
  assert.deepEqual(
    first.map((c) => c.sub),
    Array.from({ length: 20 }, (_, i) => `a${i}`),
  )
  assert.equal(server.requests.length, 1)

  server.answer.body = (await issuer(K1, K2)).jwks()
  mock.timers.tick(31_000)
  const tokens = await Promise.all(Array.from({ length: 25 }, (_, i) => tokenOf(K2, `b${i}`)))
  const results = await Promise.all(tokens.map((token) => keycard.checkRequest(view(token))))
  assert.deepEqual(
    results.map((c) => c?.identity),
    Array.from({ length: 25 }, (_, i) => `b${i}`),
  )
  assert.equal(server.requests.length, 2, 'one fetch shared by 25 requests')
})

test('maxStale: known kids verify from the stale set while refetches fail, until maxStale; then 503, and recovery', async (t) => {
  freezeClock(t)
  const auth = await issuer(K1)
  const good = auth.jwks()
  const server = await startKeySetServer(t, good, { 'cache-control': 'max-age=60' })
  const keycard = await createKeycard({ jwks: server.url, jwksOptions: { maxStale: '5m' } })
  const token = await auth.createAccessToken('42')
  await keycard.decodeToken(token)

  server.answer = { status: 500, body: 'down', headers: {} }
  mock.timers.tick(61_000)
  let answered = server.answered()
  assert.equal(checkSync(keycard, token)?.identity, '42')
  await answered
  // A new kid now: the refetch it needs failed (in flight or within the cooldown), so 503, never KID_UNKNOWN.
  await assert.rejects(keycard.decodeToken(await tokenOf(K2)), {
    code: 'KEYCARD_JWKS_UNAVAILABLE',
    message: `The key set ${server.url} is unavailable: HTTP 500`,
  })
  mock.timers.tick(238_000) // 299 s past the fetch: 239 s past expiry, under maxStale
  answered = server.answered()
  assert.equal(checkSync(keycard, token)?.identity, '42')
  await answered
  assert.equal(server.requests.length, 3, 'one retry per cooldown')

  mock.timers.tick(62_000) // past expiry + maxStale: the cached set no longer vouches for anything
  await assert.rejects(keycard.decodeToken(token), { code: 'KEYCARD_JWKS_UNAVAILABLE', status: 503 })
  server.answer = { status: 200, body: good, headers: {} }
  mock.timers.tick(31_000)
  assert.equal((await keycard.decodeToken(token)).sub, '42', 'the server is back: the next fetch recovers')
})

test('import rules: keys without kid, with use enc, of kty oct, RSA without alg, or with private members are handled', async (t) => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const ecJwk = ec.publicKey.export({ format: 'jwk' })
  const rsaJwk = rsa.publicKey.export({ format: 'jwk' })
  const withPrivate = ec.privateKey.export({ format: 'jwk' })
  const set = {
    keys: [
      { ...ecJwk, alg: 'ES256', use: 'sig' }, // no kid
      { ...ecJwk, kid: 'enc', alg: 'ES256', use: 'enc' },
      { kty: 'oct', kid: 'oct', alg: 'HS256', k: Buffer.from('keycard-jwks-oct-secret-0123456789ab').toString('base64url') },
      { ...rsaJwk, kid: 'rsa-no-alg' },
      { ...ecJwk, kid: 'es384-on-p256', alg: 'ES384' },
      { ...ecJwk, kid: 'ec-derived' }, // no alg: P-256 pins ES256
      { ...rsaJwk, kid: 'rsa', alg: 'RS256' },
      { ...withPrivate, kid: 'leaked', alg: 'ES256' }, // only its public members are read
      'not a key',
    ],
  }
  const server = await startKeySetServer(t, set)
  const keycard = await createKeycard({ jwks: server.url })
  const signEs = async (kid: string, alg = 'ES256') =>
    new CompactSign(new TextEncoder().encode(JSON.stringify(claims())))
      .setProtectedHeader({ alg, kid, typ: 'JWT' })
      .sign(alg.startsWith('HS') ? Buffer.from('keycard-jwks-oct-secret-0123456789ab') : ec.privateKey)
  assert.equal((await keycard.decodeToken(await signEs('ec-derived'))).sub, '42')
  assert.equal((await keycard.decodeToken(await signEs('leaked'))).sub, '42')
  for (const kid of ['enc', 'rsa-no-alg', 'es384-on-p256']) await refused(keycard.decodeToken(await signEs(kid)), 'KEYCARD_JWT_KID_UNKNOWN')
  await refused(keycard.decodeToken(await signEs('oct', 'HS256')), 'KEYCARD_JWT_ALG_NOT_ALLOWED')
  const published = keycard.jwks().keys
  assert.deepEqual(
    published.map((k) => k.kid),
    ['ec-derived', 'rsa', 'leaked'],
  )
  assert.equal(published[2]!.d, undefined, 'a private member served by mistake is never kept')
  assert.equal(published[0]!.alg, 'ES256')
})

test('jwksOptions.fetch replaces the global fetch', async (t) => {
  const auth = await issuer(K1)
  const server = await startKeySetServer(t, auth.jwks())
  const seen: string[] = []
  const custom: typeof fetch = (input, init) => {
    seen.push(String(input))
    return fetch(input, init)
  }
  const keycard = await createKeycard({ jwks: server.url, jwksOptions: { fetch: custom } })
  assert.equal((await keycard.decodeToken(await auth.createAccessToken('42'))).sub, '42')
  assert.deepEqual(seen, [server.url])
})

test('a key set object: verify-only from the keys given, no fetch', async () => {
  const auth = await issuer(K1)
  const keycard = await createKeycard({ jwks: auth.jwks() })
  assert.equal((await keycard.decodeToken(await auth.createAccessToken('42'))).sub, '42')
  await refused(keycard.decodeToken(await tokenOf(K2)), 'KEYCARD_JWT_KID_UNKNOWN')
  await assert.rejects(keycard.createAccessToken('42'), { code: 'KEYCARD_OPTION_INVALID', option: 'jwks' })
  assert.throws(() => keycard.removeKey('k1'), { option: 'keys' })
})

function claims(): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000)
  return { fresh: false, iat: now, jti: 'j', type: 'access', sub: '42', nbf: now, exp: now + 600 }
}
