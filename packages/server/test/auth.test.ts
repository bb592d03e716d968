/** Register, login, fresh-login and /auth/me: every success and failure of the contract. */

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { claimsOf, NO_TOKEN, PASSWORD, signToken, startServer, forEachDialect } from './helpers.ts'
import { codeOf } from './field-errors.ts'

forEachDialect((dialect) => {
  const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/

  test('register answers 201 with the user and a fresh access token and a refresh token of one session', async (t) => {
    const s = await startServer(t, {}, { dialect })
    const res = await s.api('POST', '/auth/register', { body: { username: 'Alice', password: PASSWORD, email: 'Alice@Example.com' } })
    assert.equal(res.status, 201)
    assert.deepEqual(Object.keys(res.body).sort(), ['access_token', 'refresh_token', 'user'])
    assert.deepEqual(
      { ...res.body.user, registered_on: 'x' },
      { id: 1, username: 'Alice', email: 'Alice@example.com', admin: false, registered_on: 'x' },
    )
    assert.match(res.body.user.registered_on, ISO)
    const access = claimsOf(res.body.access_token)
    const refresh = claimsOf(res.body.refresh_token)
    assert.equal(access.type, 'access')
    assert.equal(access.fresh, true)
    assert.equal(access.sub, '1')
    assert.equal(refresh.type, 'refresh')
    assert.equal(refresh.sub, '1')
    assert.equal(typeof access.sid, 'string')
    assert.equal(access.sid, refresh.sid)
    const me = await s.api('GET', '/auth/me', { token: res.body.access_token })
    assert.equal(me.status, 200)
  })

  test('register refuses a taken username or email with 409, case-insensitively', async (t) => {
    const s = await startServer(t, {}, { dialect })
    await s.register('alice', { email: 'alice@example.com' })
    const sameName = await s.api('POST', '/auth/register', { body: { username: 'ALICE', password: PASSWORD } })
    assert.equal(sameName.status, 409)
    assert.deepEqual(sameName.body, { msg: 'Username is already taken', code: 'USER_EXISTS', field: 'username' })
    const sameEmail = await s.api('POST', '/auth/register', { body: { username: 'bob', password: PASSWORD, email: 'ALICE@example.com' } })
    assert.equal(sameEmail.status, 409)
    assert.deepEqual(sameEmail.body, { msg: 'Email is already registered', code: 'USER_EXISTS', field: 'email' })
  })

  test('register answers 400 naming the missing or invalid field', async (t) => {
    const s = await startServer(t, {}, { dialect })
    const cases: [unknown, string][] = [
      [{ password: PASSWORD }, 'Missing field: username'],
      [{ username: 'alice' }, 'Missing field: password'],
      [{ username: '', password: PASSWORD }, 'Missing field: username'],
      [{ username: 5, password: PASSWORD }, 'Field username must be a string'],
      [{ username: 'alice', password: ['x'] }, 'Field password must be a string'],
      [{ username: 'alice', password: PASSWORD, email: 7 }, 'Field email must be a string'],
      [{ username: 'al', password: PASSWORD }, 'username must be 3 to 32 characters long (it has 2)'],
      [{ username: 'a'.repeat(33), password: PASSWORD }, 'username must be 3 to 32 characters long (it has 33)'],
      [
        { username: 'al@ce', password: PASSWORD },
        "username may hold only letters, digits, '_', '.' and '-' (any script): '@' (U+0040) is not allowed",
      ],
      [{ username: '_alice', password: PASSWORD }, 'username must start with a letter or digit'],
      [{ username: 'alice', password: PASSWORD, email: 'not-an-email' }, 'email must be an email address such as name@example.com'],
      [{ username: 'alice', password: PASSWORD, email: '' }, 'email must be an email address such as name@example.com'],
      [{ username: 'alice', password: 'short77' }, 'password must be at least 8 characters'],
      [{ username: 'alice', password: 'é'.repeat(513) }, 'password must be at most 1024 bytes'],
      [['alice', PASSWORD], 'Request body must be a JSON object'],
      ['alice', 'Request body must be a JSON object'],
      [null, 'Request body must be a JSON object'],
    ]
    for (const [body, msg] of cases) {
      const res = await s.api('POST', '/auth/register', { body })
      assert.equal(res.status, 400, JSON.stringify(body))
      assert.deepEqual(res.body, { msg, ...codeOf(msg) }, JSON.stringify(body))
    }
    const none = await s.api('POST', '/auth/register')
    assert.equal(none.status, 400)
    assert.deepEqual(none.body, { msg: 'Request body must be a JSON object', code: 'BODY_NOT_OBJECT' })
    // The rules' edges are accepted: 8 characters (not bytes), 1024 bytes, an email set to null.
    assert.equal((await s.api('POST', '/auth/register', { body: { username: 'eight', password: 'éééééééé' } })).status, 201)
    assert.equal((await s.api('POST', '/auth/register', { body: { username: 'long', password: 'x'.repeat(1024) } })).status, 201)
    assert.equal((await s.api('POST', '/auth/register', { body: { username: 'nomail', password: PASSWORD, email: null } })).status, 201)
  })

  test('login answers 200 with a fresh access token and a refresh token, by username or email, any case', async (t) => {
    const s = await startServer(t, {}, { dialect })
    await s.register('alice', { email: 'alice@example.com' })
    for (const username of ['alice', 'ALICE', 'alice@example.com', 'Alice@Example.COM']) {
      const res = await s.api('POST', '/auth/login', { body: { username, password: PASSWORD } })
      assert.equal(res.status, 200, username)
      // No device token was sent: the login hands out one (test/throttle.test.ts covers what it is for).
      assert.deepEqual(Object.keys(res.body).sort(), ['access_token', 'device_token', 'refresh_token'])
      assert.match(res.body.device_token, /^[A-Za-z0-9_-]{43}$/)
      assert.equal(claimsOf(res.body.access_token).fresh, true)
      assert.equal(claimsOf(res.body.refresh_token).type, 'refresh')
      assert.equal(claimsOf(res.body.refresh_token).sid, claimsOf(res.body.access_token).sid)
    }
  })

  test('login and fresh-login answer the same 401 for an unknown user and a wrong password', async (t) => {
    const s = await startServer(t, {}, { dialect })
    await s.register('alice', { email: 'alice@example.com' })
    for (const path of ['/auth/login', '/auth/fresh-login']) {
      for (const body of [
        { username: 'nobody', password: PASSWORD },
        { username: 'alice', password: 'wrong password' },
        { username: 'nobody@example.com', password: PASSWORD },
        { username: 'alice', password: 'x'.repeat(2000) },
        { username: 'a'.repeat(300), password: PASSWORD },
      ]) {
        const res = await s.api('POST', path, { body })
        assert.equal(res.status, 401, `${path} ${body.username}`)
        assert.deepEqual(res.body, { msg: 'Bad username or password', code: 'BAD_CREDENTIALS' })
        assert.equal(res.headers.get('www-authenticate'), null)
      }
      const missing = await s.api('POST', path, { body: { username: 'alice' } })
      assert.equal(missing.status, 400)
      assert.deepEqual(missing.body, { msg: 'Missing field: password', code: 'MISSING_FIELD', field: 'password' })
      const wrongType = await s.api('POST', path, { body: { username: 1, password: PASSWORD } })
      assert.equal(wrongType.status, 400)
      assert.deepEqual(wrongType.body, { msg: 'Field username must be a string', code: 'INVALID_FIELD', field: 'username' })
    }
  })

  test('fresh-login answers 200 with a fresh access token only', async (t) => {
    const s = await startServer(t, {}, { dialect })
    await s.register('alice')
    const res = await s.api('POST', '/auth/fresh-login', { body: { username: 'alice', password: PASSWORD } })
    assert.equal(res.status, 200)
    assert.deepEqual(Object.keys(res.body), ['access_token', 'device_token'])
    const claims = claimsOf(res.body.access_token)
    assert.equal(claims.fresh, true)
    assert.equal(claims.type, 'access')
    assert.equal(typeof claims.sid, 'string')
    assert.equal((await s.api('GET', '/auth/me', { token: res.body.access_token })).status, 200)
  })

  test('GET /auth/me answers the user, and the library token errors without a valid access token', async (t) => {
    const s = await startServer(t, {}, { dialect })
    const { access_token, refresh_token } = await s.register('alice', { email: 'alice@example.com' })
    const me = await s.api('GET', '/auth/me', { token: access_token })
    assert.equal(me.status, 200)
    assert.deepEqual(Object.keys(me.body).sort(), ['admin', 'email', 'id', 'registered_on', 'username'])
    assert.equal(me.body.username, 'alice')
    assert.equal(me.body.email, 'alice@example.com')
    assert.equal(me.body.admin, false)

    const none = await s.api('GET', '/auth/me')
    assert.equal(none.status, 401)
    assert.deepEqual(none.body, { msg: NO_TOKEN, code: 'KEYCARD_NO_AUTHORIZATION' })
    const basic = await s.api('GET', '/auth/me', { headers: { authorization: 'Basic abc' } })
    assert.equal(basic.status, 401)
    assert.deepEqual(basic.body, {
      msg: "Missing 'Bearer' type in 'Authorization' header. Expected 'Authorization: Bearer <JWT>'",
      code: 'KEYCARD_NO_AUTHORIZATION',
    })
    const lower = await s.api('GET', '/auth/me', { headers: { authorization: `bearer ${access_token}` } })
    assert.equal(lower.status, 401)
    assert.deepEqual(lower.body, {
      msg: "Missing 'Bearer' type in 'Authorization' header. Expected 'Authorization: Bearer <JWT>'",
      code: 'KEYCARD_NO_AUTHORIZATION',
    })
    const bare = await s.api('GET', '/auth/me', { headers: { authorization: 'Bearer' } })
    assert.equal(bare.status, 422)
    assert.deepEqual(bare.body, { msg: "Bad Authorization header. Expected 'Authorization: Bearer <JWT>'", code: 'KEYCARD_INVALID_HEADER' })
    const garbage = await s.api('GET', '/auth/me', { token: 'garbage' })
    assert.equal(garbage.status, 422)
    assert.deepEqual(garbage.body, { msg: 'Not enough segments', code: 'KEYCARD_JWT_MALFORMED' })
    const refresh = await s.api('GET', '/auth/me', { token: refresh_token })
    assert.equal(refresh.status, 422)
    assert.deepEqual(refresh.body, { msg: 'Only non-refresh tokens are allowed', code: 'KEYCARD_WRONG_TOKEN_TYPE' })
    const forged = await s.api('GET', '/auth/me', {
      token: signToken({ sid: claimsOf(access_token).sid }, 'another-secret-another-secret-another-secret'),
    })
    assert.equal(forged.status, 422)
    assert.deepEqual(forged.body, { msg: 'Signature verification failed', code: 'KEYCARD_JWT_SIGNATURE_INVALID' })
    const past = Math.floor(Date.now() / 1000) - 100
    const expired = await s.api('GET', '/auth/me', {
      token: signToken({ sid: claimsOf(access_token).sid, iat: past - 10, nbf: past - 10, exp: past }),
    })
    assert.equal(expired.status, 401)
    assert.deepEqual(expired.body, { msg: 'Token has expired', code: 'KEYCARD_JWT_EXPIRED' })
    const noSession = await s.api('GET', '/auth/me', { token: signToken({}) })
    assert.equal(noSession.status, 401)
    assert.deepEqual(noSession.body, { msg: 'Token has been revoked', code: 'KEYCARD_TOKEN_REVOKED' })
  })

  test('authentication runs before body validation: no token means the token error, never a 400', async (t) => {
    const s = await startServer(t, {}, { dialect })
    const cases = [
      { raw: '{"new_password":', contentType: 'application/json' },
      { raw: 'new_password=x', contentType: 'text/plain' },
      { body: {} },
      { raw: JSON.stringify({ new_password: 'x'.repeat(70_000) }), contentType: 'application/json' },
    ]
    for (const c of cases) {
      const res = await s.api('POST', '/auth/password', c)
      assert.equal(res.status, 401, JSON.stringify(c).slice(0, 60))
      assert.deepEqual(res.body, { msg: NO_TOKEN, code: 'KEYCARD_NO_AUTHORIZATION' })
    }
    const bad = await s.api('POST', '/auth/password', { token: 'x.y', raw: '{', contentType: 'application/json' })
    assert.equal(bad.status, 422)
    assert.deepEqual(bad.body, { msg: 'Not enough segments', code: 'KEYCARD_JWT_MALFORMED' })
    const adminQuery = await s.api('GET', '/admin/users?limit=abc')
    assert.equal(adminQuery.status, 401)
    const del = await s.api('DELETE', '/auth/tokens/whatever')
    assert.equal(del.status, 401)
    assert.deepEqual(del.body, { msg: NO_TOKEN, code: 'KEYCARD_NO_AUTHORIZATION' })
  })
})
