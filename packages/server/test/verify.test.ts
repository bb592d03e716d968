/** GET /auth/verify: forward-auth for nginx auth_request, Traefik ForwardAuth and Envoy ext_authz. */

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createPasswordHasher } from '../src/passwords.ts'
import { createUser } from '../src/users.ts'
import { claimsOf, openBeside, PASSWORD, signToken, startServer, forEachDialect } from './helpers.ts'

forEachDialect((dialect) => {
  test('a valid access token gets 200 with X-User-Id and X-User-Admin headers', async (t) => {
    const s = await startServer(t, {}, { dialect })
    const { access_token, user } = await s.register('alice')
    const res = await s.api('GET', '/auth/verify', { token: access_token })
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('x-user-id'), String(user.id))
    assert.equal(res.headers.get('x-user-admin'), 'false')
    assert.equal(res.headers.get('x-session-id'), claimsOf(access_token).sid)
    assert.deepEqual(res.body, { id: String(user.id), admin: false })

    const db = openBeside(t, s)
    await createUser(db, createPasswordHasher(s.config.argon2), { username: 'root', password: PASSWORD, admin: true })
    const admin = await s.login('root')
    const asAdmin = await s.api('GET', '/auth/verify', { token: admin.access_token })
    assert.equal(asAdmin.status, 200)
    assert.equal(asAdmin.headers.get('x-user-admin'), 'true')

    const head = await s.api('HEAD', '/auth/verify', { token: access_token })
    assert.equal(head.status, 200)
    assert.equal(head.headers.get('x-user-id'), String(user.id))
  })

  test('every token failure is a 401 with the token layer message (proxies only pass 401 through)', async (t) => {
    const s = await startServer(t, {}, { dialect })
    const { access_token, refresh_token } = await s.register('alice')
    const past = Math.floor(Date.now() / 1000) - 100
    const cases: [Record<string, string>, string, string][] = [
      [{}, 'Missing Authorization Header', 'KEYCARD_NO_AUTHORIZATION'],
      [
        { authorization: 'Basic abc' },
        "Missing 'Bearer' type in 'Authorization' header. Expected 'Authorization: Bearer <JWT>'",
        'KEYCARD_NO_AUTHORIZATION',
      ],
      [{ authorization: 'Bearer' }, "Bad Authorization header. Expected 'Authorization: Bearer <JWT>'", 'KEYCARD_INVALID_HEADER'],
      [{ authorization: 'Bearer abc' }, 'Not enough segments', 'KEYCARD_JWT_MALFORMED'],
      [{ authorization: `Bearer ${refresh_token}` }, 'Only non-refresh tokens are allowed', 'KEYCARD_WRONG_TOKEN_TYPE'],
      [
        { authorization: `Bearer ${signToken({ sid: claimsOf(access_token).sid }, 'x'.repeat(40))}` },
        'Signature verification failed',
        'KEYCARD_JWT_SIGNATURE_INVALID',
      ],
      [
        { authorization: `Bearer ${signToken({ sid: claimsOf(access_token).sid, iat: past - 5, nbf: past - 5, exp: past })}` },
        'Token has expired',
        'KEYCARD_JWT_EXPIRED',
      ],
    ]
    for (const [headers, msg, code] of cases) {
      const res = await s.api('GET', '/auth/verify', { headers })
      assert.equal(res.status, 401, msg)
      assert.deepEqual(res.body, { msg, code })
      assert.equal(res.headers.get('x-user-id'), null)
      assert.ok(res.headers.get('www-authenticate')?.startsWith('Bearer'))
    }
    await s.api('POST', '/auth/logout', { token: access_token })
    const revoked = await s.api('GET', '/auth/verify', { token: access_token })
    assert.equal(revoked.status, 401)
    assert.deepEqual(revoked.body, { msg: 'Token has been revoked', code: 'KEYCARD_TOKEN_REVOKED' })
    assert.equal(revoked.headers.get('x-user-id'), null)
  })
})
