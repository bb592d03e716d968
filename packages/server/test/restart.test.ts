/** Stop the server and start it again on the same file: users, sessions and revocations survive. */

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createPasswordHasher } from '../src/passwords.ts'
import { createUser } from '../src/users.ts'
import { claimsOf, openBeside, PASSWORD, startServer, tempDir, forEachDialect, sharedDatabaseEnv } from './helpers.ts'

forEachDialect((dialect) => {
  test('users, sessions and revocations survive a restart', async (t) => {
    const dir = tempDir(t)
    const env = { ...(await sharedDatabaseEnv(t, dialect)), REFRESH_REUSE_INTERVAL: '0' }
    const a = await startServer(t, env, { dialect, dir })
    const db = openBeside(t, a)
    await createUser(db, createPasswordHasher(a.config.argon2), { username: 'root', password: PASSWORD, admin: true })
    const admin = (await a.login('root')).access_token
    const kept = await a.register('alice', { email: 'alice@example.com' })
    const loggedOut = await a.login('alice')
    await a.api('POST', '/auth/logout', { token: loggedOut.access_token })
    const rotatedFrom = await a.login('alice')
    const rotated = (await a.api('POST', '/auth/refresh', { token: rotatedFrom.refresh_token })).body
    const gone = await a.register('bob')
    assert.equal((await a.api('DELETE', `/admin/users/${gone.user.id}`, { token: admin })).status, 200)
    await a.close()

    const b = await startServer(t, env, { dialect, dir })
    // Sessions: the live ones still work, and list as before.
    assert.equal((await b.api('GET', '/auth/me', { token: kept.access_token })).status, 200)
    assert.equal((await b.api('GET', '/auth/me', { token: rotated.access_token })).status, 200)
    const list = await b.api('GET', '/auth/tokens', { token: kept.access_token })
    assert.deepEqual(
      list.body.sessions.map((s: any) => s.id).sort(),
      [claimsOf(kept.access_token).sid, claimsOf(rotated.access_token).sid].sort(),
    )
    // Revocations: the logged-out session and the deleted user's tokens stay refused.
    for (const token of [loggedOut.access_token, gone.access_token]) {
      const res = await b.api('GET', '/auth/me', { token })
      assert.equal(res.status, 401)
      assert.deepEqual(res.body, { msg: 'Token has been revoked', code: 'KEYCARD_TOKEN_REVOKED' })
    }
    assert.equal((await b.api('POST', '/auth/refresh', { token: loggedOut.refresh_token })).status, 401)
    // Rotation state too: the replaced refresh token is still detected as reuse, and kills its session.
    const reuse = await b.api('POST', '/auth/refresh', { token: rotatedFrom.refresh_token })
    assert.equal(reuse.status, 401)
    assert.equal((await b.api('GET', '/auth/me', { token: rotated.access_token })).status, 401)
    assert.equal((await b.api('POST', '/auth/refresh', { token: kept.refresh_token })).status, 200)
    // Users: alice logs in by name and by email; bob is still gone.
    await b.login('alice')
    await b.login('alice@example.com')
    assert.equal((await b.api('POST', '/auth/login', { body: { username: 'bob', password: PASSWORD } })).status, 401)
  })
})
