/** /admin/users: 403 for non-admins, 404, and deleting a user revokes all their sessions (paging: admin-paging.test.ts). */

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createPasswordHasher } from '../src/passwords.ts'
import { createUser } from '../src/users.ts'
import { NO_TOKEN, openBeside, PASSWORD, startServer, type TestServer, forEachDialect } from './helpers.ts'
import type { TestContext } from 'node:test'

forEachDialect((dialect) => {
  /** A server with an admin (made as the CLI does, straight in the database) and its fresh login. */
  async function withAdmin(t: TestContext): Promise<{ s: TestServer; admin: string; db: ReturnType<typeof openBeside> }> {
    const s = await startServer(t, {}, { dialect })
    const db = openBeside(t, s)
    await createUser(db, createPasswordHasher(s.config.argon2), { username: 'root', password: PASSWORD, admin: true })
    return { s, db, admin: (await s.login('root')).access_token }
  }

  test('non-admins get 403 and no token gets 401, on both admin routes', async (t) => {
    const { s } = await withAdmin(t)
    const { access_token, refresh_token } = await s.register('alice')
    for (const [method, path] of [
      ['GET', '/admin/users'],
      ['DELETE', '/admin/users/1'],
      ['GET', '/admin/users?limit=abc'],
    ] as const) {
      const res = await s.api(method, path, { token: access_token })
      assert.equal(res.status, 403, path)
      assert.deepEqual(res.body, { msg: 'Admin access required', code: 'ADMIN_REQUIRED' })
      const none = await s.api(method, path)
      assert.equal(none.status, 401)
      assert.deepEqual(none.body, { msg: NO_TOKEN, code: 'KEYCARD_NO_AUTHORIZATION' })
      const refresh = await s.api(method, path, { token: refresh_token })
      assert.equal(refresh.status, 422)
    }
    assert.equal((await s.api('GET', '/auth/me', { token: access_token })).status, 200, 'alice was not deleted')
  })

  test('deleting a user revokes all their sessions; unknown users are 404', async (t) => {
    const { s, admin } = await withAdmin(t)
    const one = await s.register('alice')
    const two = await s.login('alice')
    const bob = await s.register('bob')
    const res = await s.api('DELETE', `/admin/users/${one.user.id}`, { token: admin })
    assert.equal(res.status, 200)
    assert.deepEqual(res.body, { msg: 'User deleted', revoked_sessions: 2 })
    for (const token of [one.access_token, two.access_token]) {
      const me = await s.api('GET', '/auth/me', { token })
      assert.equal(me.status, 401)
      assert.deepEqual(me.body, { msg: 'Token has been revoked', code: 'KEYCARD_TOKEN_REVOKED' })
    }
    const refresh = await s.api('POST', '/auth/refresh', { token: two.refresh_token })
    assert.equal(refresh.status, 401)
    assert.deepEqual(refresh.body, { msg: 'Token has been revoked', code: 'KEYCARD_TOKEN_REVOKED' })
    assert.equal((await s.api('GET', '/auth/me', { token: bob.access_token })).status, 200)
    const login = await s.api('POST', '/auth/login', { body: { username: 'alice', password: PASSWORD } })
    assert.equal(login.status, 401)
    for (const id of [String(one.user.id), '999', 'abc', '-1', '1e3', '99999999999999999999']) {
      const missing = await s.api('DELETE', `/admin/users/${id}`, { token: admin })
      assert.equal(missing.status, 404, id)
      assert.deepEqual(missing.body, { msg: 'User not found', code: 'USER_NOT_FOUND' })
    }
    const list = await s.api('GET', '/admin/users', { token: admin })
    assert.deepEqual(
      list.body.users.map((u: any) => u.username),
      ['root', 'bob'],
    )
    // A new user never gets the deleted user's id (old tokens name that id).
    const again = await s.register('alice')
    assert.notEqual(again.user.id, one.user.id)
  })

  test('admin rights are read from the database: a demoted admin gets 403 with an older token', async (t) => {
    const { s, admin, db } = await withAdmin(t)
    assert.equal((await s.api('GET', '/admin/users', { token: admin })).status, 200)
    await db.updateTable('users').set({ admin: 0 }).where('username', '=', 'root').execute()
    const res = await s.api('GET', '/admin/users', { token: admin })
    assert.equal(res.status, 403)
    assert.deepEqual(res.body, { msg: 'Admin access required', code: 'ADMIN_REQUIRED' })
  })
})
