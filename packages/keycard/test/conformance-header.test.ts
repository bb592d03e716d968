/**
 * Conformance, part 1: finding the token in the `Authorization` header and rendering the errors
 * (Flask-JWT-Extended 4.7 §1.7/§1.8), over real HTTP, for both adapters. Other parts:
 * conformance-decode.test.ts (token format, algorithms, keys) and conformance-claims.test.ts.
 */

import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { ADAPTERS, call, claims, expectError, expectOk, rawCall, SECRET, sign, startApp } from './harness.ts'

const MISSING_BEARER = "Missing 'Bearer' type in 'Authorization' header. Expected 'Authorization: Bearer <JWT>'"
const BAD_HEADER = "Bad Authorization header. Expected 'Authorization: Bearer <JWT>'"

for (const adapter of ADAPTERS) {
  describe(`${adapter}: the Authorization header`, () => {
    test('a request without an Authorization header gets 401 "Missing Authorization Header"', async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET })
      expectError(await call(url, '/protected'), 401, 'Missing Authorization Header', { noCredentials: true })
    })

    test('an empty Authorization header counts as missing', async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET })
      expectError(await call(url, '/protected', { authorization: '' }), 401, 'Missing Authorization Header', { noCredentials: true })
      expectError(await call(url, '/protected', { authorization: ' , ' }), 401, 'Missing Authorization Header', { noCredentials: true })
    })

    test('a valid Bearer token reaches the handler with identity, claims, header and location', async (t) => {
      const { url, keycard } = await startApp(t, adapter, { secret: SECRET })
      const token = await keycard.createAccessToken('42')
      const ctx = expectOk(await call(url, '/protected', { token }))
      assert.equal(ctx.identity, '42')
      assert.equal(ctx.location, 'headers')
      assert.equal(ctx.claims.type, 'access')
      assert.equal(ctx.claims.sub, '42')
      assert.deepEqual(ctx.header, { alg: 'HS256', typ: 'JWT' })
      assert.equal(ctx.user, null)
    })

    test('a Basic credential is 401 "Missing \'Bearer\' type"', async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET })
      expectError(await call(url, '/protected', { authorization: 'Basic dXNlcjpwYXNz' }), 401, MISSING_BEARER, { noCredentials: true })
    })

    test('a lowercase "bearer" scheme is not accepted (the type is case-sensitive)', async (t) => {
      const { url, keycard } = await startApp(t, adapter, { secret: SECRET })
      const token = await keycard.createAccessToken('42')
      expectError(await call(url, '/protected', { authorization: `bearer ${token}` }), 401, MISSING_BEARER, { noCredentials: true })
    })

    test('two Bearer entries in one header count as missing', async (t) => {
      const { url, keycard } = await startApp(t, adapter, { secret: SECRET })
      const token = await keycard.createAccessToken('42')
      expectError(await call(url, '/protected', { authorization: `Bearer ${token}, Bearer ${token}` }), 401, MISSING_BEARER, {
        noCredentials: true,
      })
    })

    test('"Bearer" with no token is 422 "Bad Authorization header"', async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET })
      expectError(await call(url, '/protected', { authorization: 'Bearer' }), 422, BAD_HEADER)
    })

    test('"Bearer a b" (two words after the type) is 422 "Bad Authorization header"', async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET })
      expectError(await call(url, '/protected', { authorization: 'Bearer a b' }), 422, BAD_HEADER)
    })

    test('"Basic x, Bearer <jwt>" picks the Bearer entry', async (t) => {
      const { url, keycard } = await startApp(t, adapter, { secret: SECRET })
      const token = await keycard.createAccessToken('42')
      assert.equal(expectOk(await call(url, '/protected', { authorization: `Basic dXNlcjpwYXNz, Bearer ${token}` })).identity, '42')
      assert.equal(expectOk(await call(url, '/protected', { authorization: `Bearer ${token}, Basic dXNlcjpwYXNz` })).identity, '42')
    })

    test('surrounding commas and spaces are stripped, as FJE does', async (t) => {
      const { url, keycard } = await startApp(t, adapter, { secret: SECRET })
      const token = await keycard.createAccessToken('42')
      assert.equal(expectOk(await call(url, '/protected', { authorization: `,Bearer ${token},` })).identity, '42')
    })

    test('two separate Authorization headers on the wire are 422, not "take the first"', async (t) => {
      const { url, keycard } = await startApp(t, adapter, { secret: SECRET })
      const token = await keycard.createAccessToken('42')
      const res = await rawCall(url, '/protected', ['Authorization', `Bearer ${token}`, 'Authorization', `Bearer ${token}`])
      expectError(res, 422, BAD_HEADER)
      // Also when only one of the two is a Bearer credential, and on an optional route.
      expectError(await rawCall(url, '/protected', ['Authorization', `Bearer ${token}`, 'authorization', 'Basic eDp5']), 422, BAD_HEADER)
      expectError(
        await rawCall(url, '/optional', ['Authorization', `Bearer ${token}`, 'Authorization', `Bearer ${token}`]),
        422,
        BAD_HEADER,
      )
      // Header names match whatever their case; a name of the same length is not a repetition.
      expectError(
        await rawCall(url, '/protected', ['AUTHORIZATION', `Bearer ${token}`, 'AuThOrIzAtIoN', `Bearer ${token}`]),
        422,
        BAD_HEADER,
      )
      // One header sent through the raw path works, so the 422 above is about the repetition.
      assert.equal(expectOk(await rawCall(url, '/protected', ['Authorization', `Bearer ${token}`])).identity, '42')
      assert.equal(
        expectOk(await rawCall(url, '/protected', ['Authorization', `Bearer ${token}`, 'Authorizatiom', 'x', 'X-Authorization', 'y']))
          .identity,
        '42',
      )
    })

    test('headerType "" accepts the bare token', async (t) => {
      const { url, keycard } = await startApp(t, adapter, { secret: SECRET, headerType: '' })
      const token = await keycard.createAccessToken('42')
      assert.equal(expectOk(await call(url, '/protected', { authorization: token })).identity, '42')
    })

    test('headerType "" with two words is 422 "Bad Authorization header. Expected \'Authorization: <JWT>\'"', async (t) => {
      const { url, keycard } = await startApp(t, adapter, { secret: SECRET, headerType: '' })
      const token = await keycard.createAccessToken('42')
      expectError(
        await call(url, '/protected', { authorization: `Bearer ${token}` }),
        422,
        "Bad Authorization header. Expected 'Authorization: <JWT>'",
      )
    })

    test('a custom header name and type are read and named in every message', async (t) => {
      const { url, keycard } = await startApp(t, adapter, { secret: SECRET, headerName: 'X-Api-Token', headerType: 'JWT' })
      const token = await keycard.createAccessToken('42')
      assert.equal(expectOk(await call(url, '/protected', { headers: { 'x-api-token': `JWT ${token}` } })).identity, '42')
      // The Authorization header is no longer read.
      const missing = await call(url, '/protected', { token })
      assert.equal(missing.status, 401)
      assert.deepEqual(missing.body, { msg: 'Missing X-Api-Token Header' })
      assert.equal(missing.headers.get('www-authenticate'), 'JWT')
      const wrongType = await call(url, '/protected', { headers: { 'x-api-token': `Bearer ${token}` } })
      assert.deepEqual(
        [wrongType.status, wrongType.body],
        [401, { msg: "Missing 'JWT' type in 'X-Api-Token' header. Expected 'X-Api-Token: JWT <JWT>'" }],
      )
      const bad = await call(url, '/protected', { headers: { 'x-api-token': 'JWT a b' } })
      assert.deepEqual([bad.status, bad.body], [422, { msg: "Bad X-Api-Token header. Expected 'X-Api-Token: JWT <JWT>'" }])
    })

    test('an OPTIONS request passes the guard without a token', async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET })
      const res = await call(url, '/protected', { method: 'OPTIONS' })
      assert.equal(res.status, 200)
      assert.deepEqual(res.body, { jwt: null })
      // Even with a broken token: OPTIONS is never checked.
      assert.deepEqual((await call(url, '/fresh', { method: 'OPTIONS', authorization: 'Bearer x' })).body, { jwt: null })
    })

    test('an optional route without a token answers 200 with jwt null', async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET })
      const res = await call(url, '/optional')
      assert.equal(res.status, 200)
      assert.deepEqual(res.body, { jwt: null })
    })

    test('an optional route with a non-Bearer header still counts as "no token"', async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET })
      const res = await call(url, '/optional', { authorization: 'Basic dXNlcjpwYXNz' })
      assert.deepEqual([res.status, res.body], [200, { jwt: null }])
    })

    test('an optional route with a bad token is 422, not anonymous', async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET })
      expectError(await call(url, '/optional', { authorization: 'Bearer xxx' }), 422, 'Not enough segments')
      expectError(await call(url, '/optional', { authorization: 'Bearer a b' }), 422, BAD_HEADER)
    })

    test('an optional route with an expired token is 401, with a valid one it sees the token', async (t) => {
      const { url, keycard } = await startApp(t, adapter, { secret: SECRET })
      expectError(await call(url, '/optional', { token: await sign(claims({ exp: 1000, iat: 900, nbf: 900 })) }), 401, 'Token has expired')
      assert.equal(expectOk(await call(url, '/optional', { token: await keycard.createAccessToken('7') })).identity, '7')
    })
  })

  describe(`${adapter}: error rendering`, () => {
    test('errorMessageKey renames the key of every default body', async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET, errorMessageKey: 'error' })
      expectError(await call(url, '/protected'), 401, 'Missing Authorization Header', { noCredentials: true, key: 'error' })
      expectError(await call(url, '/protected', { authorization: 'Bearer x' }), 422, 'Not enough segments', { key: 'error' })
      expectError(
        await call(url, '/protected', { token: await sign(claims({ exp: 1000, iat: 900, nbf: 900 })) }),
        401,
        'Token has expired',
        { key: 'error' },
      )
    })

    test('allErrorsAs401 answers 401 for the 422 errors, with the same message', async (t) => {
      const { url, keycard } = await startApp(t, adapter, { secret: SECRET, allErrorsAs401: true })
      expectError(await call(url, '/protected', { authorization: 'Bearer x' }), 401, 'Not enough segments')
      expectError(await call(url, '/protected', { authorization: 'Bearer a b' }), 401, BAD_HEADER)
      expectError(
        await call(url, '/protected', { token: await keycard.createRefreshToken('42') }),
        401,
        'Only non-refresh tokens are allowed',
      )
      expectError(await call(url, '/protected', { token: await sign(claims({ sub: 42 })) }), 401, 'Subject must be a string')
      // A double quote in the message is kept out of the quoted-string of WWW-Authenticate.
      const missingExp = await call(url, '/protected', { token: await sign(claims({ exp: undefined })) })
      expectError(missingExp, 401, 'Token is missing the "exp" claim')
      assert.equal(
        missingExp.headers.get('www-authenticate'),
        'Bearer error="invalid_token", error_description="Token is missing the ?exp? claim"',
      )
    })

    test('allErrorsAs401 answers 401 for the 400 claims-verification failure', async (t) => {
      const { url, keycard } = await startApp(t, adapter, { secret: SECRET, allErrorsAs401: true, tokenVerification: () => false })
      expectError(await call(url, '/protected', { token: await keycard.createAccessToken('42') }), 401, 'User claims verification failed')
    })

    test('without allErrorsAs401 the claims-verification failure is 400 with no WWW-Authenticate', async (t) => {
      const { url, keycard } = await startApp(t, adapter, { secret: SECRET, tokenVerification: () => false })
      expectError(await call(url, '/protected', { token: await keycard.createAccessToken('42') }), 400, 'User claims verification failed')
    })

    test('every 401 carries WWW-Authenticate, with the realm when one is configured', async (t) => {
      const { url, keycard } = await startApp(t, adapter, { secret: SECRET, realm: 'api' })
      const none = await call(url, '/protected')
      assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="api"')
      const notFresh = await call(url, '/fresh', { token: await keycard.createAccessToken('42') })
      assert.equal(notFresh.status, 401)
      assert.equal(
        notFresh.headers.get('www-authenticate'),
        'Bearer realm="api", error="invalid_token", error_description="Fresh token required"',
      )
      const expired = await call(url, '/protected', { token: await sign(claims({ exp: 1000, iat: 900, nbf: 900 })) })
      assert.equal(
        expired.headers.get('www-authenticate'),
        'Bearer realm="api", error="invalid_token", error_description="Token has expired"',
      )
    })

    test('custom response builders replace the default bodies and statuses', async (t) => {
      const { url, keycard } = await startApp(t, adapter, {
        secret: SECRET,
        tokenVerification: (_h, c) => c.role !== 'banned',
        userLookup: (_h, c) => (c.sub === 'ghost' ? null : { id: c.sub }),
        revocationStore: undefined,
        tokenInBlocklist: (_h, c) => c.revoked === true,
        responses: {
          unauthorized: (reason) => ({ status: 401, body: { error: 'unauthorized', reason } }),
          invalid: (reason, error) => ({ status: 400, body: { error: 'invalid', reason, code: error.code } }),
          expired: (_h, c) => ({ status: 419, headers: { 'x-expired-sub': String(c.sub) }, body: { error: 'expired' } }),
          needsFresh: () => ({ status: 403, body: { error: 'stale' } }),
          revoked: (_h, c) => ({ status: 401, headers: { 'WWW-Authenticate': 'Custom' }, body: { error: 'revoked', jti: c.jti } }),
          userLookup: (_h, c) => ({ status: 404, body: { error: 'no user', sub: c.sub } }),
          verificationFailed: () => ({ status: 403, body: { error: 'banned' } }),
        },
      })
      let res = await call(url, '/protected')
      assert.deepEqual([res.status, res.body], [401, { error: 'unauthorized', reason: 'Missing Authorization Header' }])
      assert.equal(res.headers.get('www-authenticate'), 'Bearer')
      res = await call(url, '/protected', { authorization: 'Bearer x' })
      assert.deepEqual([res.status, res.body], [400, { error: 'invalid', reason: 'Not enough segments', code: 'KEYCARD_JWT_MALFORMED' }])
      res = await call(url, '/protected', { token: await sign(claims({ exp: 1000, iat: 900, nbf: 900, sub: 'old' })) })
      assert.deepEqual([res.status, res.body, res.headers.get('x-expired-sub')], [419, { error: 'expired' }, 'old'])
      assert.equal(res.headers.get('www-authenticate'), null)
      res = await call(url, '/fresh', { token: await keycard.createAccessToken('42') })
      assert.deepEqual([res.status, res.body], [403, { error: 'stale' }])
      const revoked = claims({ revoked: true })
      res = await call(url, '/protected', { token: await sign(revoked) })
      assert.deepEqual([res.status, res.body, res.headers.get('www-authenticate')], [401, { error: 'revoked', jti: revoked.jti }, 'Custom'])
      res = await call(url, '/protected', { token: await keycard.createAccessToken('ghost') })
      assert.deepEqual([res.status, res.body], [404, { error: 'no user', sub: 'ghost' }])
      res = await call(url, '/protected', { token: await keycard.createAccessToken('42', { additionalClaims: { role: 'banned' } }) })
      assert.deepEqual([res.status, res.body], [403, { error: 'banned' }])
    })
  })
}
