/** POST /auth/password, and the password store: fresh tokens, other sessions revoked, rehash, dummy verify. */

import assert from 'node:assert/strict'
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { test } from 'node:test'
import { ARGON2_CHANNEL, type Argon2Event } from '../src/passwords.ts'
import { claimsOf, openBeside, PASSWORD, startServer, tempDir, forEachDialect, sharedDatabaseEnv } from './helpers.ts'
import { codeOf } from './field-errors.ts'

forEachDialect((dialect) => {
  const NEW = 'a brand new password'

  test('changing the password needs a fresh token, keeps my session and revokes the others', async (t) => {
    const s = await startServer(t, {}, { dialect })
    const current = await s.register('alice')
    const other = await s.login('alice')
    const bob = await s.register('bob')
    const res = await s.api('POST', '/auth/password', { token: current.access_token, body: { new_password: NEW } })
    assert.equal(res.status, 200)
    assert.deepEqual(res.body, { msg: 'Password changed', revoked_sessions: 1 })
    assert.equal((await s.api('GET', '/auth/me', { token: current.access_token })).status, 200)
    assert.equal((await s.api('POST', '/auth/refresh', { token: current.refresh_token })).status, 200)
    for (const token of [other.access_token, other.refresh_token]) {
      const path = claimsOf(token).type === 'refresh' ? '/auth/refresh' : '/auth/me'
      const revoked = await s.api(path === '/auth/me' ? 'GET' : 'POST', path, { token })
      assert.equal(revoked.status, 401)
      assert.deepEqual(revoked.body, { msg: 'Token has been revoked', code: 'KEYCARD_TOKEN_REVOKED' })
    }
    assert.equal((await s.api('GET', '/auth/me', { token: bob.access_token })).status, 200)
    const old = await s.api('POST', '/auth/login', { body: { username: 'alice', password: PASSWORD } })
    assert.equal(old.status, 401)
    assert.deepEqual(old.body, { msg: 'Bad username or password', code: 'BAD_CREDENTIALS' })
    assert.equal((await s.api('POST', '/auth/login', { body: { username: 'alice', password: NEW } })).status, 200)
  })

  test('a non-fresh token gets 401 "Fresh token required"; a fresh-login token works', async (t) => {
    const s = await startServer(t, {}, { dialect })
    const first = await s.register('alice')
    const refreshed = (await s.api('POST', '/auth/refresh', { token: first.refresh_token })).body
    const stale = await s.api('POST', '/auth/password', { token: refreshed.access_token, body: { new_password: NEW } })
    assert.equal(stale.status, 401)
    assert.deepEqual(stale.body, { msg: 'Fresh token required', code: 'KEYCARD_FRESH_TOKEN_REQUIRED' })
    const refreshToken = await s.api('POST', '/auth/password', { token: refreshed.refresh_token, body: { new_password: NEW } })
    assert.equal(refreshToken.status, 422)
    assert.deepEqual(refreshToken.body, { msg: 'Only non-refresh tokens are allowed', code: 'KEYCARD_WRONG_TOKEN_TYPE' })
    const fresh = (await s.api('POST', '/auth/fresh-login', { body: { username: 'alice', password: PASSWORD } })).body
    const ok = await s.api('POST', '/auth/password', { token: fresh.access_token, body: { new_password: NEW } })
    assert.equal(ok.status, 200)
    assert.deepEqual(ok.body, { msg: 'Password changed', revoked_sessions: 1 })
  })

  test('a missing or rule-breaking new_password is a 400 naming new_password', async (t) => {
    const s = await startServer(t, {}, { dialect })
    const { access_token } = await s.register('alice')
    const cases: [unknown, string][] = [
      [{}, 'Missing field: new_password'],
      [{ password: NEW }, 'Missing field: new_password'],
      [{ new_password: '' }, 'Missing field: new_password'],
      [{ new_password: 12345678 }, 'Field new_password must be a string'],
      [{ new_password: 'short' }, 'new_password must be at least 8 characters'],
      [{ new_password: 'x'.repeat(1025) }, 'new_password must be at most 1024 bytes'],
      [[NEW], 'Request body must be a JSON object'],
    ]
    for (const [body, msg] of cases) {
      const res = await s.api('POST', '/auth/password', { token: access_token, body })
      assert.equal(res.status, 400, JSON.stringify(body))
      assert.deepEqual(res.body, { msg, ...codeOf(msg) })
    }
    const none = await s.api('POST', '/auth/password', { token: access_token })
    assert.equal(none.status, 400)
    assert.deepEqual(none.body, { msg: 'Request body must be a JSON object', code: 'BODY_NOT_OBJECT' })
    assert.equal((await s.api('POST', '/auth/login', { body: { username: 'alice', password: PASSWORD } })).status, 200, 'unchanged')
  })

  test('hashes are argon2id with the configured parameters and are upgraded on the next login when they change', async (t) => {
    const dir = tempDir(t)
    const shared = await sharedDatabaseEnv(t, dialect)
    const first = await startServer(t, { ...shared, ARGON2_MEMORY_COST: '256', ARGON2_TIME_COST: '1' }, { dialect, dir })
    await first.register('alice')
    await first.close()
    const db = openBeside(t, first)
    const hashOf = async () =>
      (await db.selectFrom('users').select('password_hash').where('username', '=', 'alice').executeTakeFirstOrThrow()).password_hash
    assert.match(await hashOf(), /^\$argon2id\$v=19\$m=256,t=1,p=1\$/)

    const second = await startServer(t, { ...shared, ARGON2_MEMORY_COST: '512', ARGON2_TIME_COST: '2' }, { dialect, dir })
    await second.login('alice')
    assert.match(await hashOf(), /^\$argon2id\$v=19\$m=512,t=2,p=1\$/)
    await second.login('alice')
    const wrong = await second.api('POST', '/auth/login', { body: { username: 'alice', password: 'not the password' } })
    assert.equal(wrong.status, 401)
  })

  test('an unknown user costs exactly one argon2 verification, as a wrong password does, so timing does not reveal which usernames exist', async (t) => {
    const s = await startServer(t, {}, { dialect })
    await s.register('alice')
    const ops: string[] = []
    const record = (event: unknown) => void ops.push((event as Argon2Event).op)
    subscribe(ARGON2_CHANNEL, record)
    t.after(() => unsubscribe(ARGON2_CHANNEL, record))
    const argon2Of = async (username: string, password: string, status: number) => {
      ops.length = 0
      const res = await s.api('POST', '/auth/login', { body: { username, password } })
      assert.equal(res.status, status, res.text)
      return [...ops]
    }
    assert.deepEqual(await argon2Of('nobody', 'wrong password', 401), ['verify'], 'an unknown user')
    assert.deepEqual(await argon2Of('alice', 'wrong password', 401), ['verify'], 'a known user, wrong password')
    assert.deepEqual(await argon2Of('alice', PASSWORD, 200), ['verify'], 'the right password')
    // Over-long inputs are refused the same way, at the same cost.
    assert.deepEqual(await argon2Of('nobody', 'x'.repeat(2000), 401), ['verify'], 'an unknown user, over-long password')
    assert.deepEqual(await argon2Of('alice', 'x'.repeat(2000), 401), ['verify'], 'a known user, over-long password')
    assert.deepEqual(await argon2Of('n'.repeat(2000), 'wrong password', 401), ['verify'], 'an over-long username')
  })
})
