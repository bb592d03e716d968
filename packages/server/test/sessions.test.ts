/** Login sessions: refresh rotation, reuse detection and its grace interval, logout, logout-all, /auth/tokens. */

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { claimsOf, freezeClock, NO_REFRESH_TOKEN, NO_TOKEN, startServer, type TestServer, forEachDialect } from './helpers.ts'

forEachDialect((dialect) => {
  const REVOKED = { msg: 'Token has been revoked', code: 'KEYCARD_TOKEN_REVOKED' }

  async function assertRevoked(s: TestServer, tokens: { access_token?: string; refresh_token?: string }) {
    if (tokens.access_token) {
      const me = await s.api('GET', '/auth/me', { token: tokens.access_token })
      assert.equal(me.status, 401)
      assert.deepEqual(me.body, REVOKED)
    }
    if (tokens.refresh_token) {
      const refresh = await s.api('POST', '/auth/refresh', { token: tokens.refresh_token })
      assert.equal(refresh.status, 401)
      assert.deepEqual(refresh.body, REVOKED)
    }
  }

  async function assertAlive(s: TestServer, access_token: string) {
    assert.equal((await s.api('GET', '/auth/me', { token: access_token })).status, 200)
  }

  test('refresh rotates: new non-fresh access token and a new refresh token of the same session', async (t) => {
    const s = await startServer(t, { REFRESH_REUSE_INTERVAL: '0' }, { dialect })
    const first = await s.register('alice')
    const res = await s.api('POST', '/auth/refresh', { token: first.refresh_token })
    assert.equal(res.status, 200)
    assert.deepEqual(Object.keys(res.body).sort(), ['access_token', 'refresh_token'])
    const access = claimsOf(res.body.access_token)
    const refresh = claimsOf(res.body.refresh_token)
    assert.equal(access.fresh, false)
    assert.equal(access.type, 'access')
    assert.equal(refresh.type, 'refresh')
    assert.equal(access.sid, claimsOf(first.access_token).sid)
    assert.equal(refresh.sid, access.sid)
    assert.notEqual(refresh.jti, claimsOf(first.refresh_token).jti)
    await assertAlive(s, res.body.access_token)
    const again = await s.api('POST', '/auth/refresh', { token: res.body.refresh_token })
    assert.equal(again.status, 200)
  })

  test('refresh needs a refresh token', async (t) => {
    const s = await startServer(t, {}, { dialect })
    const { access_token } = await s.register('alice')
    const none = await s.api('POST', '/auth/refresh')
    assert.equal(none.status, 401)
    assert.deepEqual(none.body, { msg: NO_REFRESH_TOKEN, code: 'KEYCARD_NO_AUTHORIZATION' })
    const access = await s.api('POST', '/auth/refresh', { token: access_token })
    assert.equal(access.status, 422)
    assert.deepEqual(access.body, { msg: 'Only refresh tokens are allowed', code: 'KEYCARD_WRONG_TOKEN_TYPE' })
  })

  test('a used refresh token presented again is reuse: 401 and the whole session is revoked, other sessions live on', async (t) => {
    const s = await startServer(t, { REFRESH_REUSE_INTERVAL: '0' }, { dialect })
    const first = await s.register('alice')
    const other = await s.login('alice')
    const rotated = (await s.api('POST', '/auth/refresh', { token: first.refresh_token })).body
    const reuse = await s.api('POST', '/auth/refresh', { token: first.refresh_token })
    assert.equal(reuse.status, 401)
    assert.deepEqual(reuse.body, REVOKED)
    await assertRevoked(s, rotated)
    await assertRevoked(s, { access_token: first.access_token })
    await assertAlive(s, other.access_token)
    assert.equal((await s.api('POST', '/auth/refresh', { token: other.refresh_token })).status, 200)
    assert.ok(s.logLines().some((l) => l.msg === 'refresh token reused: session revoked'))
  })

  test('two concurrent refreshes within REFRESH_REUSE_INTERVAL get the same successor and keep the session', async (t) => {
    freezeClock(t) // both answers are made in the same second, so the successor's exp is exactly the same
    const s = await startServer(t, { REFRESH_REUSE_INTERVAL: '10' }, { dialect })
    const first = await s.register('alice')
    const [a, b] = await Promise.all([
      s.api('POST', '/auth/refresh', { token: first.refresh_token }),
      s.api('POST', '/auth/refresh', { token: first.refresh_token }),
    ])
    assert.equal(a.status, 200)
    assert.equal(b.status, 200)
    const ra = claimsOf(a.body.refresh_token)
    const rb = claimsOf(b.body.refresh_token)
    assert.equal(ra.jti, rb.jti, 'the same successor')
    assert.equal(ra.sid, rb.sid)
    assert.equal(ra.exp, rb.exp)
    await assertAlive(s, a.body.access_token)
    await assertAlive(s, b.body.access_token)
    const sessions = await s.api('GET', '/auth/tokens', { token: a.body.access_token })
    assert.equal(sessions.body.sessions.length, 1, 'no fork')
    // Either copy of the successor rotates on; the other copy is then the grace repeat.
    const next = await s.api('POST', '/auth/refresh', { token: b.body.refresh_token })
    assert.equal(next.status, 200)
    const repeat = await s.api('POST', '/auth/refresh', { token: a.body.refresh_token })
    assert.equal(repeat.status, 200)
    assert.equal(claimsOf(repeat.body.refresh_token).jti, claimsOf(next.body.refresh_token).jti)
  })

  test('a repeat after the reuse interval is reuse and revokes the session', async (t) => {
    const advance = freezeClock(t)
    const s = await startServer(t, { REFRESH_REUSE_INTERVAL: '1' }, { dialect })
    const first = await s.register('alice')
    const rotated = await s.api('POST', '/auth/refresh', { token: first.refresh_token })
    assert.equal(rotated.status, 200)
    advance(2_000)
    const late = await s.api('POST', '/auth/refresh', { token: first.refresh_token })
    assert.equal(late.status, 401)
    assert.deepEqual(late.body, REVOKED)
    await assertRevoked(s, rotated.body)
  })

  test('logout with the access token revokes every token of that session', async (t) => {
    const s = await startServer(t, {}, { dialect })
    const session = await s.register('alice')
    const other = await s.login('alice')
    const rotated = (await s.api('POST', '/auth/refresh', { token: session.refresh_token })).body
    const res = await s.api('POST', '/auth/logout', { token: rotated.access_token })
    assert.equal(res.status, 200)
    assert.deepEqual(res.body, { msg: 'Successfully logged out' })
    await assertRevoked(s, session)
    await assertRevoked(s, rotated)
    await assertAlive(s, other.access_token)
    const twice = await s.api('POST', '/auth/logout', { token: rotated.access_token })
    assert.equal(twice.status, 401)
    assert.deepEqual(twice.body, REVOKED)
  })

  test('logout with the refresh token revokes the session too', async (t) => {
    const s = await startServer(t, {}, { dialect })
    const session = await s.register('alice')
    const res = await s.api('POST', '/auth/logout', { token: session.refresh_token })
    assert.equal(res.status, 200)
    assert.deepEqual(res.body, { msg: 'Successfully logged out' })
    await assertRevoked(s, session)
    const none = await s.api('POST', '/auth/logout')
    assert.equal(none.status, 401)
    assert.deepEqual(none.body, { msg: NO_TOKEN, code: 'KEYCARD_NO_AUTHORIZATION' })
  })

  test("logout-all revokes every session of mine and no one else's", async (t) => {
    const s = await startServer(t, {}, { dialect })
    const one = await s.register('alice')
    const two = await s.login('alice')
    const fresh = (await s.api('POST', '/auth/fresh-login', { body: { username: 'alice', password: 'correct horse battery' } })).body
    const bob = await s.register('bob')
    const refreshOnly = await s.api('POST', '/auth/logout-all', { token: two.refresh_token })
    assert.equal(refreshOnly.status, 422)
    assert.deepEqual(refreshOnly.body, { msg: 'Only non-refresh tokens are allowed', code: 'KEYCARD_WRONG_TOKEN_TYPE' })
    const res = await s.api('POST', '/auth/logout-all', { token: two.access_token })
    assert.equal(res.status, 200)
    assert.deepEqual(res.body, { msg: 'Successfully logged out of every session', revoked_sessions: 3 })
    await assertRevoked(s, one)
    await assertRevoked(s, two)
    await assertRevoked(s, fresh)
    await assertAlive(s, bob.access_token)
    assert.equal((await s.api('POST', '/auth/logout-all')).status, 401)
  })

  test('GET /auth/tokens lists my live sessions with the current one marked', async (t) => {
    const s = await startServer(t, {}, { dialect })
    await s.register('alice')
    const phone = await s.login('alice', undefined, 'Phone/1.0')
    const laptop = await s.login('alice', undefined, 'Laptop/2.0')
    await s.api('POST', '/auth/logout', { token: phone.access_token })
    await s.register('bob')
    const res = await s.api('GET', '/auth/tokens', { token: laptop.access_token })
    assert.equal(res.status, 200)
    assert.deepEqual(Object.keys(res.body), ['sessions'])
    assert.equal(res.body.sessions.length, 2, 'register + laptop; the phone logged out; bob is not mine')
    for (const session of res.body.sessions) {
      assert.deepEqual(Object.keys(session).sort(), ['created_at', 'current', 'expires_at', 'id', 'last_used_at', 'user_agent'])
      assert.ok(Date.parse(session.expires_at) > Date.parse(session.created_at))
    }
    const current = res.body.sessions.filter((x: any) => x.current)
    assert.equal(current.length, 1)
    assert.equal(current[0].id, claimsOf(laptop.access_token).sid)
    assert.equal(current[0].user_agent, 'Laptop/2.0')
    const refreshToken = await s.api('GET', '/auth/tokens', { token: laptop.refresh_token })
    assert.equal(refreshToken.status, 422)
    assert.equal((await s.api('GET', '/auth/tokens')).status, 401)
  })

  test("DELETE /auth/tokens/:id revokes that session; 404 for another user's, an unknown or a revoked one", async (t) => {
    const s = await startServer(t, {}, { dialect })
    const mine = await s.register('alice')
    const target = await s.login('alice')
    const bob = await s.register('bob')
    const targetId = claimsOf(target.access_token).sid
    const res = await s.api('DELETE', `/auth/tokens/${targetId}`, { token: mine.access_token })
    assert.equal(res.status, 200)
    assert.deepEqual(res.body, { msg: 'Session revoked' })
    await assertRevoked(s, target)
    await assertAlive(s, mine.access_token)

    for (const id of [claimsOf(bob.access_token).sid, 'no-such-session', targetId, 'x'.repeat(100)]) {
      const missing = await s.api('DELETE', `/auth/tokens/${id}`, { token: mine.access_token })
      assert.equal(missing.status, 404, id)
      assert.deepEqual(missing.body, { msg: 'Session not found', code: 'SESSION_NOT_FOUND' })
    }
    await assertAlive(s, bob.access_token)
    const self = await s.api('DELETE', `/auth/tokens/${claimsOf(mine.access_token).sid}`, { token: mine.access_token })
    assert.equal(self.status, 200)
    await assertRevoked(s, mine)
  })
})
