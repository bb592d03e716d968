/**
 * GET /.well-known/jwks.json and /.well-known/openid-configuration: in keyring mode, the public keys
 * only (every key decoded), cacheable with an ETag, and tokens that carry `kid` and `iss` and verify
 * against that JWKS with jose; in HMAC mode, 404s that say why, and HS256 tokens exactly as before.
 */

import assert from 'node:assert/strict'
import { createHash, createHmac } from 'node:crypto'
import { test } from 'node:test'
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose'
import { claimsOf, forEachDialect, startServer, TEST_SECRET } from './helpers.ts'
import { ISSUER, KEYS_SECRET, keyringEnv } from './keyring-env.ts'

/** Members of a JWK that would be private material (RFC 7517/7518): none may be published. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth']
const KTY: Record<string, string> = { ES256: 'EC', EdDSA: 'OKP', RS256: 'RSA', PS256: 'RSA' }

forEachDialect((dialect) => {
  test('the JWKS holds public keys only, each with kid, alg and use: sig, for every algorithm', async (t) => {
    for (const algorithm of ['ES256', 'EdDSA', 'RS256', 'PS256']) {
      const s = await startServer(t, keyringEnv(algorithm), { dialect })
      const res = await s.api('GET', '/.well-known/jwks.json')
      assert.equal(res.status, 200, `${algorithm}: ${res.text}`)
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/)
      const { keys } = res.body as JSONWebKeySet
      assert.equal(keys.length, 1, `${algorithm}: a new ring has one (current) key`)
      for (const key of keys) {
        for (const member of PRIVATE_MEMBERS) assert.ok(!(member in key), `${algorithm}: the JWKS key has a private member "${member}"`)
        assert.equal(key.kty, KTY[algorithm], algorithm)
        assert.equal(key.alg, algorithm)
        assert.equal(key.use, 'sig')
        assert.equal(typeof key.kid, 'string')
        assert.ok(key.kid!.length > 0)
      }
      // The raw text too: nothing private under another name, and never the HMAC test secret.
      assert.doesNotMatch(res.text, /"(d|p|q|dp|dq|qi|k|oth)":/)
      assert.ok(!res.text.includes(KEYS_SECRET))
      await s.close()
    }
  })

  test('the JWKS is cacheable for JWKS_MAX_AGE (default 600), with a strong ETag and 304 on If-None-Match', async (t) => {
    const s = await startServer(t, keyringEnv(), { dialect })
    const res = await s.api('GET', '/.well-known/jwks.json')
    assert.equal(res.headers.get('cache-control'), 'public, max-age=600')
    const etag = res.headers.get('etag')
    assert.equal(etag, `"${createHash('sha256').update(res.text).digest('base64url')}"`, 'the ETag is the hash of the body, strong (no W/)')

    for (const ifNoneMatch of [etag!, `W/${etag}`, `"other", ${etag}`, '*']) {
      const again = await s.api('GET', '/.well-known/jwks.json', { headers: { 'if-none-match': ifNoneMatch } })
      assert.equal(again.status, 304, `If-None-Match: ${ifNoneMatch}`)
      assert.equal(again.text, '')
      assert.equal(again.headers.get('etag'), etag)
      assert.equal(again.headers.get('cache-control'), 'public, max-age=600')
    }
    const changed = await s.api('GET', '/.well-known/jwks.json', { headers: { 'if-none-match': '"not-this-one"' } })
    assert.equal(changed.status, 200)
    assert.equal(changed.text, res.text)

    const short = await startServer(t, keyringEnv('ES256', { JWKS_MAX_AGE: '120' }), { dialect })
    const configured = await short.api('GET', '/.well-known/jwks.json')
    assert.equal(configured.headers.get('cache-control'), 'public, max-age=120')
    const discovery = await short.api('GET', '/.well-known/openid-configuration')
    assert.equal(discovery.headers.get('cache-control'), 'public, max-age=120')
  })

  test('openid-configuration names the issuer and the JWKS URL, and nothing it does not do', async (t) => {
    const s = await startServer(t, keyringEnv(), { dialect })
    const res = await s.api('GET', '/.well-known/openid-configuration')
    assert.equal(res.status, 200)
    assert.deepEqual(res.body, { issuer: ISSUER, jwks_uri: `${ISSUER}/.well-known/jwks.json` })

    const trailing = await startServer(t, keyringEnv('ES256', { ISSUER: 'https://id.example.test/tenant/' }), { dialect })
    const other = await trailing.api('GET', '/.well-known/openid-configuration')
    assert.deepEqual(other.body, {
      issuer: 'https://id.example.test/tenant',
      jwks_uri: 'https://id.example.test/tenant/.well-known/jwks.json',
    })
  })

  test("a login's tokens carry kid and iss, verify against the JWKS with jose, and pass every guard", async (t) => {
    const s = await startServer(t, keyringEnv(), { dialect })
    await s.register('alice')
    const { access_token, refresh_token } = await s.login('alice')
    const jwks = (await s.api('GET', '/.well-known/jwks.json')).body as JSONWebKeySet
    const keySet = createLocalJWKSet(jwks)
    for (const [type, token] of [
      ['access', access_token],
      ['refresh', refresh_token],
    ] as const) {
      const header = decodeProtectedHeader(token)
      assert.equal(header.alg, 'ES256', type)
      assert.equal(header.kid, jwks.keys[0]!.kid, `${type}: signed by the published key`)
      const { payload } = await jwtVerify(token, keySet, { issuer: ISSUER, algorithms: ['ES256'] })
      assert.equal(payload.type, type)
      assert.equal(payload.iss, ISSUER)
    }
    assert.equal((await s.api('GET', '/auth/me', { token: access_token })).status, 200)
    const verify = await s.api('GET', '/auth/verify', { token: access_token })
    assert.equal(verify.status, 200)
    assert.equal(verify.headers.get('x-user-id'), claimsOf(access_token).sub)
    const refreshed = await s.api('POST', '/auth/refresh', { token: refresh_token })
    assert.equal(refreshed.status, 200)
    assert.equal(decodeProtectedHeader(refreshed.body.access_token).kid, jwks.keys[0]!.kid)

    // A token naming no kid, or one no key has, is refused (the library's 422; /auth/verify's 401).
    const [h, p, sig] = access_token.split('.') as [string, string, string]
    const reheader = (header: object) => `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${p}.${sig}`
    for (const forged of [
      reheader({ alg: 'ES256', typ: 'JWT' }),
      reheader({ ...JSON.parse(Buffer.from(h, 'base64url').toString()), kid: 'nope' }),
    ]) {
      assert.equal((await s.api('GET', '/auth/me', { token: forged })).status, 422)
      assert.equal((await s.api('GET', '/auth/verify', { token: forged })).status, 401)
    }
    // An HS256 token signed with what would be the HMAC secret is refused too: no algorithm confusion.
    const input = `${Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid: jwks.keys[0]!.kid })).toString('base64url')}.${p}`
    const hs = `${input}.${createHmac('sha256', TEST_SECRET).update(input).digest('base64url')}`
    assert.equal((await s.api('GET', '/auth/verify', { token: hs })).status, 401)
  })

  test('HMAC mode: both routes answer 404 saying why, and HS256 tokens carry no kid and no iss', async (t) => {
    const s = await startServer(t, {}, { dialect })
    for (const path of ['/.well-known/jwks.json', '/.well-known/openid-configuration']) {
      const res = await s.api('GET', path)
      assert.equal(res.status, 404, path)
      assert.equal(res.body.code, 'NO_PUBLIC_KEYS')
      assert.match(res.body.msg, /HS256/)
      assert.match(res.body.msg, /JWT_ALGORITHM=ES256/)
      assert.ok(!res.text.includes(TEST_SECRET))
    }
    await s.register('bob')
    const { access_token } = await s.login('bob')
    assert.deepEqual(decodeProtectedHeader(access_token), { alg: 'HS256', typ: 'JWT' })
    const claims = claimsOf(access_token)
    assert.ok(!('iss' in claims), 'no iss in HMAC mode')
    const [h, p, sig] = access_token.split('.') as [string, string, string]
    assert.equal(createHmac('sha256', TEST_SECRET).update(`${h}.${p}`).digest('base64url'), sig, 'signed with JWT_SECRET')
    const line = s.logLines().find((l) => typeof l.msg === 'string' && (l.msg as string).includes('signing HS256'))
    assert.ok(line, 'the start-up log says HS256 is active')
  })

  test('the start-up log names the keyring mode, algorithm, current kid and issuer, and no key material', async (t) => {
    const s = await startServer(t, keyringEnv('EdDSA'), { dialect })
    const jwks = (await s.api('GET', '/.well-known/jwks.json')).body as JSONWebKeySet
    const line = s.logLines().find((l) => (l.signing as { mode?: string } | undefined)?.mode === 'keyring')
    assert.ok(line, 'a line names the keyring mode')
    assert.deepEqual(
      { ...(line.signing as object) },
      { mode: 'keyring', algorithm: 'EdDSA', source: 'JWT_ALGORITHM', kid: jwks.keys[0]!.kid, issuer: ISSUER },
    )
    assert.ok(!s.logText().includes(KEYS_SECRET), 'KEYS_SECRET is never logged')
    assert.doesNotMatch(s.logText(), /PRIVATE KEY|"d":/)
  })
})
