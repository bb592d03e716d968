/**
 * ACCEPT_FLASK_TOKENS_UNTIL: tokens minted as Flask-JWT-Extended mints them (the real PyJWT, FJE's claim
 * layout: fixtures/fje_tokens.py) are accepted on guarded routes and /auth/verify until the date and
 * refused after it; a Flask refresh token becomes a Keycard session once, also when two instances are
 * asked at once. Both dialects. Logout and revocation: flask-tokens-logout.test.ts; configuration:
 * flask-tokens-config.test.ts.
 */

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { claimsOf, dataDir, forEachDialect, openBeside, sharedDatabaseEnv, startServer } from './helpers.ts'
import { ENDED, fjePair, fjeTokens, flaskWindow, REVOKED, userId, WINDOW_MS } from './flask-fixtures.ts'

forEachDialect((dialect) => {
  test('Flask tokens work on guarded routes and /auth/verify until the date, and are refused after it', async (t) => {
    const { env, advance } = flaskWindow(t)
    const s = await startServer(t, env, { dialect })
    await s.register('alice')
    const sub = await userId(s, 'alice')
    const { access } = fjePair(sub)
    assert.equal(claimsOf(access).sid, undefined, 'a Flask token has no session id')

    const me = await s.api('GET', '/auth/me', { token: access })
    assert.equal(me.status, 200, me.text)
    assert.equal(me.body.username, 'alice')
    const tokens = await s.api('GET', '/auth/tokens', { token: access })
    assert.equal(tokens.status, 200)
    assert.ok(
      tokens.body.sessions.every((x: { current: boolean }) => !x.current),
      'no session is the Flask token one',
    )
    const verify = await s.api('GET', '/auth/verify', { token: access })
    assert.equal(verify.status, 200)
    assert.equal(verify.headers.get('x-user-id'), sub)
    assert.equal(verify.headers.get('x-user-admin'), 'false')
    assert.equal(verify.headers.get('x-session-id'), null, 'no X-Session-Id for a token without a session')

    advance(WINDOW_MS)
    const late = await s.api('GET', '/auth/me', { token: access })
    assert.equal(late.status, 401)
    assert.deepEqual(late.body, ENDED)
    const lateVerify = await s.api('GET', '/auth/verify', { token: access })
    assert.equal(lateVerify.status, 401)
    assert.deepEqual(lateVerify.body, ENDED)
    // Keycard's own tokens are untouched by the window's end.
    const own = await s.login('alice')
    assert.equal((await s.api('GET', '/auth/me', { token: own.access_token })).status, 200)
  })

  test('without ACCEPT_FLASK_TOKENS_UNTIL a Flask token is refused as before', async (t) => {
    const s = await startServer(t, {}, { dialect })
    await s.register('alice')
    const { access, refresh } = fjePair(await userId(s, 'alice'))
    const me = await s.api('GET', '/auth/me', { token: access })
    assert.equal(me.status, 401)
    assert.deepEqual(me.body, REVOKED)
    assert.equal((await s.api('GET', '/auth/verify', { token: access })).status, 401)
    assert.equal((await s.api('POST', '/auth/refresh', { token: refresh })).status, 401)
  })

  test('a Flask token whose sub names no user, or signed with another secret, is refused', async (t) => {
    const { env } = flaskWindow(t)
    const s = await startServer(t, env, { dialect })
    await s.register('alice')
    const [ghost, huge] = fjeTokens([{ sub: '999' }, { sub: '99999999999999' }])
    for (const token of [ghost!, huge!]) {
      const me = await s.api('GET', '/auth/me', { token })
      assert.equal(me.status, 401)
      assert.equal(me.body.code, 'FLASK_TOKEN_USER_UNKNOWN')
      assert.equal((await s.api('GET', '/auth/verify', { token })).status, 401)
    }
    // The tutorials' integer `sub` (PyJWT 2.10 refuses it too) is not an identity.
    const intSub = await s.api('GET', '/auth/me', { token: fjeTokens([{ sub: 1 as unknown as string }])[0] })
    assert.equal(intSub.status, 422)
    assert.equal(intSub.body.code, 'KEYCARD_JWT_CLAIM_INVALID')
    const [forged] = fjeTokens([{ sub: '1' }], 'another-secret-that-is-at-least-32-bytes!')
    const bad = await s.api('GET', '/auth/me', { token: forged })
    assert.equal(bad.status, 422)
    assert.equal(bad.body.code, 'KEYCARD_JWT_SIGNATURE_INVALID')
  })

  test('a Flask refresh token becomes a Keycard session once; its reuse is refused', async (t) => {
    const { env, advance } = flaskWindow(t)
    const s = await startServer(t, env, { dialect })
    await s.register('alice')
    const sub = await userId(s, 'alice')
    const { refresh } = fjePair(sub)
    const swapped = await s.api('POST', '/auth/refresh', { token: refresh })
    assert.equal(swapped.status, 200, swapped.text)
    const access = claimsOf(swapped.body.access_token)
    assert.equal(access.sub, sub)
    assert.equal(typeof access.sid, 'string', 'a Keycard session')
    assert.equal(access.fresh, false)
    assert.equal(claimsOf(swapped.body.refresh_token).sid, access.sid)

    const again = await s.api('POST', '/auth/refresh', { token: refresh })
    assert.equal(again.status, 401)
    assert.deepEqual(again.body, REVOKED)
    // The new session is an ordinary one: it rotates, and outlives the window.
    advance(WINDOW_MS)
    const rotated = await s.api('POST', '/auth/refresh', { token: swapped.body.refresh_token })
    assert.equal(rotated.status, 200)
    assert.equal((await s.api('GET', '/auth/me', { token: rotated.body.access_token })).status, 200)
    const sessions = await s.api('GET', '/auth/tokens', { token: rotated.body.access_token })
    assert.ok(sessions.body.sessions.some((x: { id: string; current: boolean }) => x.id === access.sid && x.current))
    // An access token is not a refresh token, Flask's or not (FJE's 422).
    const [flaskAccess] = fjeTokens([{ sub, type: 'access' }])
    const wrongType = await s.api('POST', '/auth/refresh', { token: flaskAccess })
    assert.equal(wrongType.status, 422)
    assert.equal(wrongType.body.code, 'KEYCARD_WRONG_TOKEN_TYPE')
  })

  // PostgreSQL: two instances. SQLite: one (two in one process would deadlock on better-sqlite3's
  // synchronous busy wait; several instances are a PostgreSQL deployment).
  const where = dialect === 'postgres' ? 'two instances' : 'one instance'
  test(`one Flask refresh token presented four times at once to ${where} becomes one session`, async (t) => {
    const { env } = flaskWindow(t)
    const dir = await dataDir(t, dialect)
    const shared = { ...env, ...(await sharedDatabaseEnv(t, dialect)) }
    const a = await startServer(t, shared, { dialect, dir })
    const b = dialect === 'postgres' ? await startServer(t, shared, { dialect, dir }) : a
    await a.register('alice')
    const sub = await userId(a, 'alice')
    const tokens = fjeTokens(Array.from({ length: 3 }, () => ({ sub, type: 'refresh' as const, expires: 86400 })))
    for (const refresh of tokens) {
      const answers = await Promise.all([a, b, a, b].map((s) => s.api('POST', '/auth/refresh', { token: refresh })))
      assert.deepEqual(answers.map((r) => r.status).sort(), [200, 401, 401, 401], answers.map((r) => r.text).join('\n'))
    }
    const db = openBeside(t, a)
    const logins = await db
      .selectFrom('audit_events')
      .select(['detail', 'session_id'])
      .where('type', '=', 'login.succeeded')
      .where('detail', 'like', '%flask-refresh%')
      .execute()
    assert.equal(logins.length, tokens.length, 'one login.succeeded event per exchanged token')
    assert.ok(logins.every((e) => typeof e.session_id === 'string'))
  })
})
