/** Expired sessions and revocations are purged, from memory and from the database. */

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Revocations } from '../src/revocations.ts'
import { freezeClock, openBeside, startServer, tempDir, forEachDialect, sharedDatabaseEnv } from './helpers.ts'

forEachDialect((dialect) => {
  test('the in-memory state drops a revoked session once its tokens have expired', () => {
    const state = new Revocations()
    state.add([
      { id: 'old', expires_at: 100 },
      { id: 'live', expires_at: 200 },
    ])
    assert.equal(state.isRevoked({ sid: 'old' }), true)
    assert.equal(state.isRevoked({ sid: 'other' }), false)
    assert.equal(state.isRevoked({}), true, 'a token without a session id is refused')
    assert.equal(state.purge(150), 1)
    assert.equal(state.size, 1)
    assert.equal(state.isRevoked({ sid: 'live' }), true)
  })

  test('expired sessions, revoked or not, are deleted from the database at start and on schedule', async (t) => {
    const dir = tempDir(t)
    const env = { ...(await sharedDatabaseEnv(t, dialect)), ACCESS_TOKEN_EXPIRES: '1', REFRESH_TOKEN_EXPIRES: '1' }
    const advance = freezeClock(t)
    const a = await startServer(t, env, { dialect, dir })
    const one = await a.register('alice')
    await a.login('alice')
    await a.api('POST', '/auth/logout', { token: one.access_token })
    await a.close()
    const db = openBeside(t, a)
    const count = async () =>
      Number(
        (
          await db
            .selectFrom('sessions')
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      )
    assert.equal(await count(), 2)
    advance(2_000)
    const b = await startServer(t, env, { dialect, dir })
    assert.equal(await count(), 0)
    assert.ok(b.logLines().some((l) => l.msg === 'purged expired sessions' && l.rows === 2))
  })
})
