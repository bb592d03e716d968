/**
 * ACCEPT_FLASK_TOKENS_UNTIL: tokens minted as Flask-JWT-Extended mints them (the real PyJWT, FJE's claim
 * layout: fixtures/fje_tokens.py) are accepted on guarded routes and /auth/verify until the date and
 * refused after it; logout blocklists their jti on every instance; a Flask refresh token becomes a
 * Keycard session once; logout-all and a password change refuse the user's older ones. Both dialects.
 */

import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { test, type TestContext } from 'node:test'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { loadConfig } from '../src/config.ts'
import { purgeFlaskTokens } from '../src/flask-tokens.ts'
import {
  claimsOf,
  configProblems,
  dataDir,
  forEachDialect,
  freezeClock,
  openBeside,
  PASSWORD,
  sharedDatabaseEnv,
  startServer,
  TEST_SECRET,
  type TestServer,
} from './helpers.ts'

const PYTHON = '/usr/bin/python3'
const SCRIPT = fileURLToPath(new URL('./fixtures/fje_tokens.py', import.meta.url))
const REVOKED = { msg: 'Token has been revoked', code: 'KEYCARD_TOKEN_REVOKED' }
const ENDED = {
  msg: 'Tokens issued by the Flask service are no longer accepted (ACCEPT_FLASK_TOKENS_UNTIL has passed): sign in again',
  code: 'FLASK_TOKENS_ENDED',
}
/** The window of these tests: a minute after the frozen start; Flask tokens live 15 minutes. */
const WINDOW_MS = 60_000

interface FjeItem {
  sub: string
  type?: 'access' | 'refresh'
  fresh?: boolean
  /** FJE's `fresh=timedelta(seconds=…)`: a float "fresh until" epoch. */
  fresh_for?: number
  /** iat, epoch seconds (default: the frozen now). */
  now?: number
  expires?: number
}

/** Tokens from fixtures/fje_tokens.py (PyJWT), signed with `secret`. */
function fjeTokens(items: FjeItem[], secret = TEST_SECRET): string[] {
  const now = Math.floor(Date.now() / 1000)
  const run = spawnSync(PYTHON, [SCRIPT], { input: JSON.stringify({ secret, items: items.map((i) => ({ now, ...i })) }), encoding: 'utf8' })
  if (run.error || run.status !== 0)
    assert.fail(`${PYTHON} ${SCRIPT} failed (${run.error?.message ?? run.stderr.trim()}); install PyJWT: apt-get install python3-jwt`)
  return (JSON.parse(run.stdout) as { tokens: string[] }).tokens
}

/** A Flask access token and refresh token of user `sub`. */
function fjePair(sub: string, fresh = false): { access: string; refresh: string } {
  const [access, refresh] = fjeTokens([
    { sub, type: 'access', fresh },
    { sub, type: 'refresh', expires: 30 * 86400 },
  ])
  return { access: access!, refresh: refresh! }
}

/** Freezes the clock and returns the window's end, as ACCEPT_FLASK_TOKENS_UNTIL, and how to move past it. */
function window(t: TestContext): { env: Record<string, string>; advance: (ms: number) => void } {
  const advance = freezeClock(t)
  const until = new Date(Date.now() + WINDOW_MS).toISOString()
  return { env: { ACCEPT_FLASK_TOKENS_UNTIL: until }, advance }
}

async function userId(s: TestServer, username: string): Promise<string> {
  const { access_token } = await s.login(username)
  return String(claimsOf(access_token).sub)
}

forEachDialect((dialect) => {
  test('Flask tokens work on guarded routes and /auth/verify until the date, and are refused after it', async (t) => {
    const { env, advance } = window(t)
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
    const { env } = window(t)
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
    const { env, advance } = window(t)
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
    const { env } = window(t)
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

  test('freshness is read as FJE wrote it: true, or a "fresh until" time still ahead', async (t) => {
    const { env, advance } = window(t)
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
    const { env } = window(t)
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
    const { env } = window(t)
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
    const { env, advance } = window(t)
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
    const { env } = window(t)
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
      const { env } = window(t)
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
    const { env } = window(t)
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

test('ACCEPT_FLASK_TOKENS_UNTIL takes a real date (through its end, UTC) or a date and time with its zone', () => {
  const base = { JWT_SECRET: TEST_SECRET, INIT_CWD: '/srv/app' }
  const until = (value: string) => loadConfig({ ...base, ACCEPT_FLASK_TOKENS_UNTIL: value }).acceptFlaskTokensUntil
  assert.equal(until('2027-03-31'), Date.UTC(2027, 3, 1) / 1000)
  assert.equal(until('2027-03-31T18:00:00Z'), Date.UTC(2027, 2, 31, 18) / 1000)
  assert.equal(until('2027-03-31T18:00+02:00'), Date.UTC(2027, 2, 31, 16) / 1000)
  assert.equal(until('2028-02-29'), Date.UTC(2028, 2, 1) / 1000)
  assert.equal(loadConfig(base).acceptFlaskTokensUntil, null)
  for (const bad of [
    '2027-02-30',
    '2027-02-29',
    '2027-13-01',
    'tomorrow',
    '2027-03-31T18:00:00',
    '2027-03-31T25:00Z',
    '31/03/2027',
    '1795349405',
  ]) {
    const problems = configProblems({ ...base, ACCEPT_FLASK_TOKENS_UNTIL: bad }).join('\n')
    assert.match(problems, /ACCEPT_FLASK_TOKENS_UNTIL: expected a real date or a date and time with its zone, such as 2027-03-31/, bad)
    assert.ok(problems.includes(JSON.stringify(bad)), `names the value ${bad}`)
  }
})

test('ACCEPT_FLASK_TOKENS_UNTIL needs HS256 with JWT_SECRET, the secret the Flask service signed with', () => {
  const keyring = configProblems({ JWT_ALGORITHM: 'ES256', ACCEPT_FLASK_TOKENS_UNTIL: '2027-03-31' }).join('\n')
  assert.match(keyring, /ACCEPT_FLASK_TOKENS_UNTIL: needs HS256 signing with JWT_SECRET, but JWT_ALGORITHM=ES256 signs with the keyring/)
  const generated = configProblems({ JWT_ALGORITHM: 'HS256', ACCEPT_FLASK_TOKENS_UNTIL: '2027-03-31' }).join('\n')
  assert.match(generated, /ACCEPT_FLASK_TOKENS_UNTIL: needs JWT_SECRET set to the Flask service's JWT_SECRET_KEY/)
})

test('a date already past starts the server with a warning, and every Flask token is refused', async (t) => {
  const s = await startServer(t, { ACCEPT_FLASK_TOKENS_UNTIL: '2020-01-01' })
  const warning = s.logLines().find((l) => l.level === 40 && String(l.msg).startsWith('ACCEPT_FLASK_TOKENS_UNTIL'))
  assert.ok(warning, s.logText())
  assert.match(String(warning.msg), /\(2020-01-02T00:00:00\.000Z\) has passed: tokens the Flask service signed are refused/)
  await s.register('alice')
  const [access] = fjeTokens([{ sub: await userId(s, 'alice') }])
  assert.deepEqual((await s.api('GET', '/auth/me', { token: access })).body, ENDED)
})
