/**
 * GET /auth/verify with validly signed tokens whose `sub` or `sid` are not what this server issues
 * (characters a header cannot carry, or no user id at all): a 401, never a 500 from Node refusing the
 * header. And its `X-User-Admin` follows the database, not the token's claim: a promotion, demotion or
 * deletion by another process reaches it on the same poll that carries revocations.
 */

import assert from 'node:assert/strict'
import { test, type TestContext } from 'node:test'
import { createKeycard } from 'keycard'
import { buildApp } from '../src/app.ts'
import { loadConfig } from '../src/config.ts'
import { INVALID_IDENTITY } from '../src/routes/verify.ts'
import { deleteUser } from '../src/users.ts'
import {
  claimsOf,
  openBeside,
  signToken,
  startServer,
  tempDir,
  TEST_SECRET,
  testEnv,
  forEachDialect,
  sharedDatabaseEnv,
} from './helpers.ts'

forEachDialect((dialect) => {
  const HOSTILE = [
    '1\r\nSet-Cookie: stolen=1',
    '1\n',
    '1\r',
    '\u0000',
    'caf\u00e9',
    '\u2603',
    ' 1',
    '1 ',
    '01',
    '-1',
    '1.5',
    'x'.repeat(65),
    '9'.repeat(17),
  ]

  test('validly signed tokens with a hostile sub or sid get a 401 naming the claims, never a 5xx', async (t) => {
    const s = await startServer(t, {}, { dialect })
    const { access_token } = await s.register('alice')
    const { sid, dbid } = claimsOf(access_token)
    const keycard = await createKeycard({ secret: TEST_SECRET })
    const tokens: [string, string][] = []
    for (const value of HOSTILE) {
      tokens.push([`sub ${JSON.stringify(value)}`, await keycard.createAccessToken(value, { additionalClaims: { sid, dbid } })])
      if (value.length <= 64 && /^[0-9A-Za-z-]+$/.test(value)) continue // a well-formed session id, just not one of ours: revocation's business
      tokens.push([`sid ${JSON.stringify(value)}`, await keycard.createAccessToken('1', { additionalClaims: { sid: value, dbid } })])
    }
    // Not strings at all (keycard refuses to mint those, and its own check answers them; a forger would not).
    tokens.push(['sub 1 (a number)', signToken({ sub: 1, sid, dbid })], ['sid as an object', signToken({ sid: { a: 1 }, dbid })])

    for (const [what, token] of tokens) {
      for (const method of ['GET', 'HEAD']) {
        const res = await s.api(method, '/auth/verify', { token })
        assert.equal(res.status, 401, `${method} ${what}: ${res.status} ${res.text}`)
        assert.equal(res.headers.get('x-user-id'), null, what)
        assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer error="invalid_token"/, what)
        if (method === 'GET' && !what.includes('number') && !what.includes('object')) {
          assert.deepEqual(res.body, { msg: INVALID_IDENTITY, code: 'KEYCARD_JWT_CLAIM_INVALID' }, what)
          assert.equal(res.headers.get('www-authenticate'), `Bearer error="invalid_token", error_description="${INVALID_IDENTITY}"`)
        }
      }
    }
    assert.equal(s.logLines().filter((l) => Number(l.level) >= 50).length, 0, 'nothing logged as a server error')
    // The server's own token still passes.
    assert.equal((await s.api('GET', '/auth/verify', { token: access_token })).status, 200)
  })

  /** The app on a fresh dir, polling other processes' writes every few ms; `syncs(n)` resolves after n more polls have completed. */
  async function pollingServer(t: TestContext) {
    const dir = tempDir(t)
    const env = testEnv(dir, await sharedDatabaseEnv(t, dialect))
    let waiters: { left: number; resolve: () => void }[] = []
    const onSync = () => {
      for (const w of waiters) if (--w.left === 0) w.resolve()
      waiters = waiters.filter((w) => w.left > 0)
    }
    const app = await buildApp(loadConfig(env), { logStream: { write: () => true }, revocationSyncMs: 5, onSync })
    const url = await app.listen({ port: 0, host: '127.0.0.1' })
    t.after(() => app.close())
    const server = { dbPath: loadConfig(env).databasePath }
    /** Two polls: the second one began after whatever the caller just wrote. */
    const syncs = (left = 2) => new Promise<void>((resolve) => waiters.push({ left, resolve }))
    const verify = async (token: string) => {
      const res = await fetch(`${url}/auth/verify`, { headers: { authorization: `Bearer ${token}` } })
      return { status: res.status, admin: res.headers.get('x-user-admin'), body: await res.json() }
    }
    const register = async (username: string) => {
      const res = await fetch(`${url}/auth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username, password: 'correct horse battery' }),
      })
      return (await res.json()) as { user: { id: number }; access_token: string }
    }
    return { app, server, syncs, verify, register }
  }

  test('X-User-Admin follows the database: a promotion and a demotion by another process reach it, the token claim does not matter', async (t) => {
    const s = await pollingServer(t)
    const alice = await s.register('alice')
    assert.equal(claimsOf(alice.access_token).admin, false)
    assert.deepEqual(await s.verify(alice.access_token), { status: 200, admin: 'false', body: { id: String(alice.user.id), admin: false } })

    const beside = openBeside(t, s.server)
    await beside.updateTable('users').set({ admin: 1 }).where('id', '=', alice.user.id).execute()
    await s.syncs()
    assert.deepEqual(
      await s.verify(alice.access_token),
      { status: 200, admin: 'true', body: { id: String(alice.user.id), admin: true } },
      'promoted, though the token says admin: false',
    )

    await beside.updateTable('users').set({ admin: 0 }).where('id', '=', alice.user.id).execute()
    await s.syncs()
    assert.equal((await s.verify(alice.access_token)).admin, 'false', 'demoted')
  })

  test('a user deleted by another process (keycard users delete) is refused by /auth/verify on the next poll', async (t) => {
    const s = await pollingServer(t)
    const bob = await s.register('bob')
    const beside = openBeside(t, s.server)
    await beside.updateTable('users').set({ admin: 1 }).where('id', '=', bob.user.id).execute()
    await s.syncs()
    assert.equal((await s.verify(bob.access_token)).admin, 'true')

    assert.notEqual(await deleteUser(beside, bob.user.id), null)
    await s.syncs()
    const res = await s.verify(bob.access_token)
    assert.equal(res.status, 401)
    assert.deepEqual(res.body, { msg: 'Token has been revoked', code: 'KEYCARD_TOKEN_REVOKED' })
  })
})
