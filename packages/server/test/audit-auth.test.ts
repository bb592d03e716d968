/**
 * The auth routes write the audit trail (README "Audit trail"): one row per sign-up, sign-in, failed
 * sign-in, refresh-token reuse, logout, logout-all, revoked session and password change, with the user,
 * session, client address and user agent, and never a password or token.
 */

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { claimsOf, forEachDialect, openBeside, PASSWORD, startServer } from './helpers.ts'

const UA = 'audit-test/1.0'

forEachDialect((dialect) => {
  test('every auth route records its event, with user, session, address and user agent', async (t) => {
    // Every repeat of a spent refresh token is reuse.
    const s = await startServer(t, { REFRESH_REUSE_INTERVAL: '0' }, { dialect })
    const db = openBeside(t, s)
    const headers = { 'user-agent': UA }
    const alice = await s.register('alice')
    const aliceId = alice.user.id as number

    const wrong = await s.api('POST', '/auth/login', { body: { username: 'alice', password: 'not her password' }, headers })
    assert.equal(wrong.status, 401)
    const nobody = await s.api('POST', '/auth/login', { body: { username: 'mallory', password: PASSWORD }, headers })
    assert.equal(nobody.status, 401)
    const login = await s.api('POST', '/auth/login', { body: { username: 'alice', password: PASSWORD }, headers })
    assert.equal(login.status, 200, login.text)
    const cookie = await s.api('POST', '/auth/login', {
      body: { username: 'alice', password: PASSWORD },
      headers: { ...headers, 'x-token-mode': 'cookie' },
    })
    assert.equal(cookie.status, 200, cookie.text)
    const fresh = await s.api('POST', '/auth/fresh-login', { body: { username: 'alice', password: PASSWORD }, headers })
    assert.equal(fresh.status, 200, fresh.text)

    // Refresh once (rotates), then present the spent token again: reuse detected.
    const rotated = await s.api('POST', '/auth/refresh', { token: login.body.refresh_token, headers })
    assert.equal(rotated.status, 200, rotated.text)
    const reused = await s.api('POST', '/auth/refresh', { token: login.body.refresh_token, headers })
    assert.equal(reused.status, 401, reused.text)

    const otherSid = claimsOf((await s.login('alice', PASSWORD, UA)).access_token).sid as string
    assert.equal((await s.api('DELETE', `/auth/tokens/${otherSid}`, { token: alice.access_token, headers })).status, 200)
    const changed = await s.api('POST', '/auth/password', {
      token: fresh.body.access_token,
      body: { new_password: 'a new password, long' },
      headers,
    })
    assert.equal(changed.status, 200, changed.text)
    const again = await s.login('alice', 'a new password, long', UA)
    assert.equal((await s.api('POST', '/auth/logout', { token: again.access_token, headers })).status, 200)
    const last = await s.login('alice', 'a new password, long', UA)
    const all = await s.api('POST', '/auth/logout-all', { token: last.access_token, headers })
    assert.equal(all.status, 200, all.text)

    const rows = await db.selectFrom('audit_events').selectAll().orderBy('id').execute()
    const types = rows.map((r) => r.type)
    assert.deepEqual(types, [
      'user.registered',
      'login.failed',
      'login.failed',
      'login.succeeded',
      'login.succeeded',
      'login.succeeded',
      'refresh.reused',
      'login.succeeded',
      'session.revoked',
      'password.changed',
      'login.succeeded',
      'logout',
      'login.succeeded',
      'logout.all',
    ])
    const byType = (type: string) => rows.filter((r) => r.type === type)
    const [failedKnown, failedUnknown] = byType('login.failed')
    assert.deepEqual([failedKnown!.user_id, failedKnown!.username], [aliceId, 'alice'])
    assert.deepEqual([failedUnknown!.user_id, failedUnknown!.username], [null, 'mallory'], 'the typed name of a user that does not exist')
    const succeeded = byType('login.succeeded')
    assert.deepEqual(
      succeeded.slice(0, 3).map((r) => JSON.parse(r.detail!)),
      [{ mode: 'header' }, { mode: 'cookie' }, { mode: 'header', fresh: true }],
    )
    assert.ok(succeeded.every((r) => r.user_id === aliceId && typeof r.session_id === 'string' && r.session_id.length > 0))
    assert.equal(byType('refresh.reused')[0]!.session_id, succeeded[0]!.session_id, 'the session the stolen token belonged to')
    assert.equal(byType('session.revoked')[0]!.session_id, otherSid)
    assert.ok(Number(JSON.parse(byType('password.changed')[0]!.detail!).revoked_sessions) >= 1)
    assert.ok(Number(JSON.parse(byType('logout.all')[0]!.detail!).revoked_sessions) >= 1)
    assert.equal(byType('user.registered')[0]!.session_id !== null, true)
    for (const row of rows.slice(1)) {
      assert.equal(row.address, '127.0.0.1', row.type)
      assert.equal(row.user_agent, UA, row.type)
    }
    // Nothing secret in any column: no password, no token.
    const dump = JSON.stringify(rows)
    for (const secret of [PASSWORD, 'not her password', 'a new password, long', login.body.refresh_token, login.body.access_token]) {
      assert.ok(!dump.includes(secret), 'no secret recorded')
    }

    // The owner sees her own events of the account-page types (not the failed guesses).
    const own = await s.api('GET', '/auth/events', { token: (await s.login('alice', 'a new password, long', UA)).access_token })
    assert.equal(own.status, 200, own.text)
    const ownTypes: string[] = own.body.events.map((e: any) => e.type)
    assert.ok(!ownTypes.includes('login.failed') && !ownTypes.includes('logout'))
    assert.deepEqual(ownTypes.slice(0, 3), ['login.succeeded', 'logout.all', 'login.succeeded'])
    assert.ok(ownTypes.includes('refresh.reused') && ownTypes.includes('password.changed') && ownTypes.includes('session.revoked'))
  })
})
