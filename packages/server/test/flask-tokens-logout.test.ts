/**
 * The Flask token window (ACCEPT_FLASK_TOKENS_UNTIL), revoking: logout blocklists the jti of Flask
 * tokens on every instance; logout-all, a password change and deleting the user end the user's older
 * ones; freshness and cookie mode as FJE wrote them; a database that cannot answer is a 503; the purge.
 * Both dialects.
 */

import assert from 'node:assert/strict'
import { test } from 'node:test'
import pg from 'pg'
import { purgeFlaskTokens } from '../src/flask-tokens.ts'
import { claimsOf, dataDir, forEachDialect, openBeside, PASSWORD, sharedDatabaseEnv, startServer } from './helpers.ts'
import { fjePair, fjeTokens, flaskWindow, REVOKED, userId } from './flask-fixtures.ts'

forEachDialect((dialect) => {
  test('freshness is read as FJE wrote it: true, or a "fresh until" time still ahead', async (t) => {
    const { env, advance } = flaskWindow(t)
    const s = await startServer(t, env, { dialect })
    await s.register('alice')
    const sub = await userId(s, 'alice')
    const [stale, until] = fjeTokens([{ sub }, { sub, fresh_for: 10 }])
    assert.equal(typeof claimsOf(until!).fresh, 'number')
    const body = { new_password: `${PASSWORD} 2` }
    const refused = await s.api('POST', '/auth/password', { token: stale, body })
    assert.equal(refused.status, 401)
    assert.equal(refused.body.code, 'KEYCARD_FRESH_TOKEN_REQUIRED')
    advance(11_000)
    const late = await s.api('POST', '/auth/password', { token: until, body })
    assert.equal(late.body.code, 'KEYCARD_FRESH_TOKEN_REQUIRED', 'no longer fresh')
    const [again] = fjeTokens([{ sub, fresh_for: 10 }])
    assert.equal((await s.api('POST', '/auth/password', { token: again, body })).status, 200)
  })

  test('logout blocklists the Flask access token and the refresh token sent with it, on every instance', async (t) => {
    const { env } = flaskWindow(t)
    const dir = await dataDir(t, dialect)
    const shared = { ...env, ...(await sharedDatabaseEnv(t, dialect)) }
    const a = await startServer(t, shared, { dialect, dir })
    const b = await startServer(t, shared, { dialect, dir })
    await a.register('alice')
    const sub = await userId(a, 'alice')
    const { access, refresh } = fjePair(sub)
    const other = fjePair(sub)
    assert.equal((await b.api('GET', '/auth/me', { token: access })).status, 200)

    const out = await a.api('POST', '/auth/logout', { token: access, body: { refresh_token: refresh } })
    assert.equal(out.status, 200, out.text)
    assert.deepEqual(out.body, { msg: 'Successfully logged out' })
    for (const s of [a, b]) {
      const me = await s.api('GET', '/auth/me', { token: access })
      assert.equal(me.status, 401)
      assert.deepEqual(me.body, REVOKED)
      assert.equal((await s.api('GET', '/auth/verify', { token: access })).status, 401)
      assert.equal((await s.api('POST', '/auth/refresh', { token: refresh })).status, 401)
    }
    // Another Flask login of the same user is not affected.
    assert.equal((await b.api('GET', '/auth/me', { token: other.access })).status, 200)
    // Logging out with the refresh token itself blocklists it.
    assert.equal((await b.api('POST', '/auth/logout', { token: other.refresh })).status, 200)
    assert.equal((await a.api('POST', '/auth/refresh', { token: other.refresh })).status, 401)
    const db = openBeside(t, a)
    const rows = await db.selectFrom('flask_token_blocklist').select(['jti', 'user_id']).execute()
    assert.deepEqual(rows.map((r) => r.jti).sort(), [access, refresh, other.refresh].map((x) => claimsOf(x).jti as string).sort())
    assert.ok(rows.every((r) => String(r.user_id) === sub))
  })

  test('logout refuses a refresh_token that is not this user’s Flask refresh token, naming the field', async (t) => {
    const { env } = flaskWindow(t)
    const s = await startServer(t, env, { dialect })
    await s.register('alice')
    await s.register('bob')
    const alice = fjePair(await userId(s, 'alice'))
    const bob = fjePair(await userId(s, 'bob'))
    for (const refresh_token of [bob.refresh, alice.access, 'not-a-token', 42]) {
      const res = await s.api('POST', '/auth/logout', { token: alice.access, body: { refresh_token } })
      assert.equal(res.status, 400, String(refresh_token))
      assert.equal(res.body.field, 'refresh_token')
      assert.equal(res.body.code, 'INVALID_FIELD')
    }
    // Nothing was blocklisted by the refused logouts.
    assert.equal((await s.api('GET', '/auth/me', { token: alice.access })).status, 200)
    assert.equal((await s.api('POST', '/auth/refresh', { token: bob.refresh })).status, 200)
  })

  test('logout-all, a password change and deleting the user refuse the user’s older Flask tokens', async (t) => {
    const { env, advance } = flaskWindow(t)
    const s = await startServer(t, env, { dialect })
    await s.register('alice')
    await s.register('bob')
    const alice = await s.login('alice')
    const sub = String(claimsOf(alice.access_token).sub)
    const before = fjePair(sub)
    const bobs = fjePair(await userId(s, 'bob'))
    assert.equal((await s.api('POST', '/auth/logout-all', { token: alice.access_token })).status, 200)
    assert.deepEqual((await s.api('GET', '/auth/me', { token: before.access })).body, REVOKED)
    assert.equal((await s.api('POST', '/auth/refresh', { token: before.refresh })).status, 401)
    assert.equal((await s.api('GET', '/auth/me', { token: bobs.access })).status, 200, 'only that user’s')

    // A Flask token issued later (the Flask service still running beside) is accepted; a fresh one changes the password.
    advance(2_000)
    const fresh = fjeTokens([{ sub, fresh: true }])[0]!
    const later = fjePair(sub)
    const changed = await s.api('POST', '/auth/password', { token: fresh, body: { new_password: `${PASSWORD} 2` } })
    assert.equal(changed.status, 200, changed.text)
    for (const token of [fresh, later.access]) assert.deepEqual((await s.api('GET', '/auth/me', { token })).body, REVOKED)

    const db = openBeside(t, s)
    await db.updateTable('users').set({ admin: 1 }).where('username', '=', 'alice').execute()
    const admin = await s.login('alice', `${PASSWORD} 2`)
    const bobId = claimsOf(bobs.access).sub
    assert.equal((await s.api('DELETE', `/admin/users/${bobId}`, { token: admin.access_token })).status, 200)
    assert.equal((await s.api('GET', '/auth/me', { token: bobs.access })).body.code, 'FLASK_TOKEN_USER_UNKNOWN')
  })

  test('a Flask token in FJE’s cookies works with the X-CSRF-TOKEN header, and refresh moves the client to Keycard cookies', async (t) => {
    const { env } = flaskWindow(t)
    const s = await startServer(t, env, { dialect })
    await s.register('alice')
    const { access, refresh } = fjePair(await userId(s, 'alice'))
    const csrf = String(claimsOf(access).csrf)
    const cookie = { cookie: `access_token_cookie=${access}` }
    assert.equal((await s.api('GET', '/auth/me', { headers: cookie })).status, 200)
    const noCsrf = await s.api('POST', '/auth/logout-all', { headers: cookie })
    assert.equal(noCsrf.status, 401)
    assert.equal(noCsrf.body.code, 'KEYCARD_CSRF')

    const refreshCookie = { cookie: `refresh_token_cookie=${refresh}`, 'x-csrf-token': String(claimsOf(refresh).csrf) }
    const swapped = await s.api('POST', '/auth/refresh', { headers: refreshCookie })
    assert.equal(swapped.status, 200, swapped.text)
    assert.deepEqual(swapped.body, { refresh: true })
    const set = swapped.headers.getSetCookie()
    assert.ok(set.some((c) => c.startsWith('access_token_cookie=ey')))
    assert.ok(set.some((c) => /^refresh_token_cookie=ey.*Path=\/auth\/refresh/.test(c)))
    assert.ok(
      set.some((c) => /^refresh_token_cookie=;.*Path=\/;/.test(c)),
      'the Flask refresh cookie at / is dropped',
    )

    // Within IMPLICIT_REFRESH_WINDOW a Keycard cookie would be re-issued; a Flask one has no session to extend.
    const [soon] = fjeTokens([{ sub: String(claimsOf(access).sub), expires: 60 }])
    const near = await s.api('GET', '/auth/me', { headers: { cookie: `access_token_cookie=${soon}` } })
    assert.equal(near.status, 200)
    assert.deepEqual(near.headers.getSetCookie(), [])
    const out = await s.api('POST', '/auth/logout', { headers: { ...cookie, 'x-csrf-token': csrf } })
    assert.equal(out.status, 200)
    assert.deepEqual((await s.api('GET', '/auth/me', { headers: cookie })).body, REVOKED)
  })

  if (dialect === 'postgres')
    test('a Flask token check the database cannot answer is a 503 with a message, never a 500', async (t) => {
      const { env } = flaskWindow(t)
      const s = await startServer(t, { ...env, DATABASE_STATEMENT_TIMEOUT_MS: '500' }, { dialect })
      await s.register('alice')
      const { access } = fjePair(await userId(s, 'alice'))
      // A connection of the test's own holds the blocklist locked: the check waits out the statement timeout.
      const client = new pg.Client({ connectionString: s.dbPath })
      client.on('error', () => undefined)
      await client.connect()
      t.after(() => client.end().catch(() => undefined))
      await client.query('begin')
      await client.query('lock table flask_token_blocklist in access exclusive mode')
      const me = await s.api('GET', '/auth/me', { token: access })
      assert.equal(me.status, 503, me.text)
      assert.equal(me.headers.get('retry-after'), '1')
      assert.equal(me.body.code, 'DATABASE_UNAVAILABLE')
      assert.equal(typeof me.body.msg, 'string')
      const verify = await s.api('GET', '/auth/verify', { token: access })
      assert.equal(verify.status, 503, verify.text)
      await client.query('rollback')
      assert.equal((await s.api('GET', '/auth/me', { token: access })).status, 200)
    })

  test('the purge drops blocklist rows once their token has expired, and every row once the window is over', async (t) => {
    const { env } = flaskWindow(t)
    const s = await startServer(t, env, { dialect })
    const db = openBeside(t, s)
    const now = Math.floor(Date.now() / 1000)
    await db
      .insertInto('flask_token_blocklist')
      .values([
        { jti: 'expired', user_id: 1, expires_at: now - 1, revoked_at: now - 10 },
        { jti: 'live', user_id: 1, expires_at: now + 600, revoked_at: now - 10 },
      ])
      .execute()
    await db
      .insertInto('flask_token_cutoffs')
      .values({ user_id: 1, not_before: now - 5 })
      .execute()
    const until = s.config.acceptFlaskTokensUntil!
    assert.equal(await purgeFlaskTokens(db, until, now), 1)
    assert.deepEqual(
      (await db.selectFrom('flask_token_blocklist').select('jti').execute()).map((r) => r.jti),
      ['live'],
    )
    assert.equal(await purgeFlaskTokens(db, until, until), 2)
    assert.equal((await db.selectFrom('flask_token_blocklist').select('jti').execute()).length, 0)
    assert.equal((await db.selectFrom('flask_token_cutoffs').select('user_id').execute()).length, 0)
  })
})
