/**
 * Login throttling over real HTTP on both databases, with small limits and the throttle's clock
 * injected (AppDeps.throttleNow): the 429 and its Retry-After, unknown and known users answered alike,
 * no argon2 work on a refusal (counted on ARGON2_CHANNEL), counts shared by two instances, the window's
 * end, the burst bounding attempts in flight, registrations and password changes per address, device
 * tokens, one throttle.tripped event per key and window, the purge, and a 503 when the database fails.
 */

import assert from 'node:assert/strict'
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { type TestContext, test } from 'node:test'
import { Migrator, sql } from 'kysely'
import { migrateToLatest, migrations } from '../src/db/migrations/index.ts'
import { ARGON2_CHANNEL, type Argon2Event } from '../src/passwords.ts'
import { hashDeviceToken } from '../src/throttle/device.ts'
import { parseThrottle } from '../src/throttle/limits.ts'
import { purgeThrottle } from '../src/throttle/purge.ts'
import { THROTTLED_MESSAGE } from '../src/throttle/throttle.ts'
import {
  type Dialect,
  forEachDialect,
  openBeside,
  openTestDatabase,
  PASSWORD,
  type Reply,
  sharedDatabaseEnv,
  startServer,
  tempDir,
} from './helpers.ts'

const THROTTLED = { msg: THROTTLED_MESSAGE, code: 'TOO_MANY_ATTEMPTS' }
const WRONG = 'not the password at all'
/** 40 minutes into an hour: a 1h window ends in 1200 s, a 15m window (at :30) in 300 s. */
const T0 = 1_700_000_000 - (1_700_000_000 % 3600) + 2400

/** A clock the test moves; the server's throttle reads it. */
function clock(start = T0) {
  let now = start
  return {
    now: () => now,
    set: (to: number) => {
      now = to
    },
  }
}

/** Counts argon2 operations for the rest of the test. */
function argon2Ops(t: TestContext): { verify: () => number; hash: () => number } {
  const ops: string[] = []
  const listener = (event: unknown) => void ops.push((event as Argon2Event).op)
  subscribe(ARGON2_CHANNEL, listener)
  t.after(() => unsubscribe(ARGON2_CHANNEL, listener))
  return { verify: () => ops.filter((o) => o === 'verify').length, hash: () => ops.filter((o) => o === 'hash').length }
}

const login = (s: { api: (m: string, p: string, o?: object) => Promise<Reply> }, username: string, password: string, extra = {}) =>
  s.api('POST', '/auth/login', { body: { username, password, ...extra } })

function assertThrottled(res: Reply, retryAfter: number, what: string): void {
  assert.equal(res.status, 429, `${what}: ${res.text}`)
  assert.deepEqual(res.body, THROTTLED, what)
  assert.equal(res.headers.get('retry-after'), String(retryAfter), what)
}

async function trippedEvents(db: ReturnType<typeof openBeside>) {
  const rows = await db.selectFrom('audit_events').selectAll().where('type', '=', 'throttle.tripped').orderBy('id').execute()
  return rows.map((r) => ({ user_id: r.user_id, username: r.username, address: r.address, detail: JSON.parse(r.detail!) }))
}

forEachDialect((dialect: Dialect) => {
  test('past THROTTLE_ACCOUNT failures: 429 with Retry-After, the same for a known and an unknown user, the right password too, and no argon2', async (t) => {
    const time = clock()
    const s = await startServer(t, { THROTTLE_ACCOUNT: '3/1h' }, { dialect, deps: { throttleNow: time.now } })
    await s.register('alice', { email: 'alice@example.com' })
    const ops = argon2Ops(t)
    // Known: by username and email alike (one counter, by user id). Unknown: by the typed name, any case.
    const known = [await login(s, 'alice', WRONG), await login(s, 'ALICE', WRONG), await login(s, 'alice@example.com', WRONG)]
    const unknown = [await login(s, 'mallory', WRONG), await login(s, 'Mallory', WRONG), await login(s, 'MALLORY', WRONG)]
    for (const res of [...known, ...unknown])
      assert.deepEqual([res.status, res.body], [401, { msg: 'Bad username or password', code: 'BAD_CREDENTIALS' }])
    assert.equal(ops.verify(), 6)

    time.set(T0 + 100)
    const refused = [
      await login(s, 'alice', WRONG),
      await login(s, 'alice', PASSWORD),
      await login(s, 'alice@example.com', PASSWORD),
      await login(s, 'mallory', WRONG),
      await login(s, 'mallory', PASSWORD),
    ]
    for (const [i, res] of refused.entries()) assertThrottled(res, 1100, `attempt ${i}`)
    // Byte for byte the same answer, whoever was asked for.
    assert.equal(new Set(refused.map((r) => r.text)).size, 1)
    assert.equal(ops.verify(), 6, 'a refusal costs no argon2 verification')
    // Fresh-login shares the counters.
    assertThrottled(await s.api('POST', '/auth/fresh-login', { body: { username: 'alice', password: PASSWORD } }), 1100, 'fresh-login')
    // Another account from the same address is not affected.
    await s.register('bob')
    assert.equal((await login(s, 'bob', PASSWORD)).status, 200)

    // The window ends: alice may try again, and the right password works.
    time.set(T0 + 1200)
    assert.equal((await login(s, 'alice', PASSWORD)).status, 200)
    assert.equal((await login(s, 'mallory', WRONG)).status, 401)
    const log = s.logText()
    assert.ok(!log.includes(WRONG) && !log.includes(PASSWORD), 'no password in the log')
  })

  test('THROTTLE_ADDRESS and THROTTLE_ACCOUNT_ADDRESS: spraying many accounts from one address is refused, with the pair limit first', async (t) => {
    const time = clock()
    const s = await startServer(
      t,
      { THROTTLE_ADDRESS: '4/1h', THROTTLE_ACCOUNT_ADDRESS: '2/15m' },
      { dialect, deps: { throttleNow: time.now } },
    )
    await s.register('alice')
    assert.equal((await login(s, 'alice', WRONG)).status, 401)
    assert.equal((await login(s, 'alice', WRONG)).status, 401)
    // The pair (alice, 127.0.0.1) is over its 15-minute limit: the window at :30 ends in 300 s.
    assertThrottled(await login(s, 'alice', PASSWORD), 300, 'pair')
    assert.equal((await login(s, 'u1', WRONG)).status, 401)
    assert.equal((await login(s, 'u2', WRONG)).status, 401)
    // Four failures from this address: every account is refused here, for the rest of the hour.
    assertThrottled(await login(s, 'u3', WRONG), 1200, 'address')
    time.set(T0 + 300)
    assertThrottled(await login(s, 'alice', PASSWORD), 900, 'the address still')
  })

  test('two instances on one database share the counts exactly', async (t) => {
    const time = clock()
    const dir = tempDir(t)
    const env = { ...(await sharedDatabaseEnv(t, dialect)), THROTTLE_ACCOUNT: '4/1h' }
    const a = await startServer(t, env, { dialect, dir, deps: { throttleNow: time.now } })
    const b = await startServer(t, env, { dialect, dir, deps: { throttleNow: time.now } })
    await a.register('alice')
    assert.equal((await login(a, 'alice', WRONG)).status, 401)
    assert.equal((await login(b, 'alice', WRONG)).status, 401)
    assert.equal((await login(a, 'alice', WRONG)).status, 401)
    assert.equal((await login(b, 'alice', WRONG)).status, 401)
    assertThrottled(await login(a, 'alice', PASSWORD), 1200, 'a')
    assertThrottled(await login(b, 'alice', PASSWORD), 1200, 'b')
    const db = openBeside(t, a)
    const row = await db.selectFrom('throttle_counters').selectAll().where('key', '=', 'account:u:1').executeTakeFirstOrThrow()
    assert.deepEqual([row.failures, row.pending, row.window_start], [4, 0, T0 - 2400])
  })

  test('THROTTLE_BURST bounds the attempts in flight: concurrent guesses never get more than limit + burst verifications', async (t) => {
    // argon2 slow enough (tens of ms) that all 20 are in flight before the first is settled.
    const env = { THROTTLE_ACCOUNT: '3/1h', THROTTLE_BURST: '2', ARGON2_MEMORY_COST: '8192', ARGON2_TIME_COST: '4' }
    const s = await startServer(t, env, { dialect, deps: { throttleNow: clock().now } })
    await s.register('alice')
    const ops = argon2Ops(t)
    const answers = await Promise.all(Array.from({ length: 20 }, () => login(s, 'alice', WRONG)))
    const statuses = answers.map((r) => r.status)
    assert.ok(
      statuses.every((x) => x === 401 || x === 429),
      statuses.join(),
    )
    const checked = statuses.filter((x) => x === 401).length
    assert.ok(checked >= 1 && checked <= 5, `${checked} of 20 reached argon2`)
    assert.equal(ops.verify(), checked)
    const row = await openBeside(t, s)
      .selectFrom('throttle_counters')
      .selectAll()
      .where('key', '=', 'account:u:1')
      .executeTakeFirstOrThrow()
    assert.deepEqual([row.failures, row.pending], [checked, 0], 'every reservation settled or released')
  })

  test('one throttle.tripped event per key and window, however many refusals, with the limit, Retry-After, user and typed name', async (t) => {
    const time = clock()
    const s = await startServer(t, { THROTTLE_ACCOUNT: '2/1h' }, { dialect, deps: { throttleNow: time.now } })
    const db = openBeside(t, s)
    await s.register('alice')
    for (let i = 0; i < 2; i++) assert.equal((await login(s, 'Alice', WRONG)).status, 401)
    const refused = await Promise.all(Array.from({ length: 8 }, () => login(s, 'Alice', PASSWORD)))
    assert.deepEqual(new Set(refused.map((r) => r.status)), new Set([429]))
    for (let i = 0; i < 2; i++) assert.equal((await login(s, 'ghost', WRONG)).status, 401)
    for (let i = 0; i < 3; i++) assert.equal((await login(s, 'ghost', WRONG)).status, 429)
    assert.deepEqual(await trippedEvents(db), [
      { user_id: 1, username: 'Alice', address: '127.0.0.1', detail: { limit: 'account', retry_after: 1200 } },
      { user_id: null, username: 'ghost', address: '127.0.0.1', detail: { limit: 'account', retry_after: 1200 } },
    ])
    // The next window trips afresh.
    time.set(T0 + 1200)
    for (let i = 0; i < 2; i++) assert.equal((await login(s, 'alice', WRONG)).status, 401)
    assert.equal((await login(s, 'alice', WRONG)).status, 429)
    assert.equal((await login(s, 'alice', WRONG)).status, 429)
    const events = await trippedEvents(db)
    assert.equal(events.length, 3)
    assert.deepEqual(events[2]!.detail, { limit: 'account', retry_after: 3600 })
  })

  test('registrations per address (THROTTLE_REGISTER) and password changes per address (THROTTLE_PASSWORD), refused before any hashing', async (t) => {
    const time = clock()
    const s = await startServer(t, { THROTTLE_REGISTER: '3/1h', THROTTLE_PASSWORD: '2/1h' }, { dialect, deps: { throttleNow: time.now } })
    const db = openBeside(t, s)
    const ops = argon2Ops(t)
    const alice = await s.register('alice')
    // A taken name and a refused one count too: every attempt does.
    assert.equal((await s.api('POST', '/auth/register', { body: { username: 'alice', password: PASSWORD } })).status, 409)
    assert.equal((await s.api('POST', '/auth/register', { body: { username: 'x', password: PASSWORD } })).status, 400)
    const hashes = ops.hash()
    assertThrottled(await s.api('POST', '/auth/register', { body: { username: 'bob', password: PASSWORD } }), 1200, 'register')
    assert.equal(ops.hash(), hashes, 'no hash for a refused registration')
    assert.equal(await db.selectFrom('users').select('id').where('username', '=', 'bob').executeTakeFirst(), undefined)

    const change = (to: string) => s.api('POST', '/auth/password', { token: alice.access_token, body: { new_password: to } })
    assert.equal((await change('a new password one')).status, 200)
    assert.equal((await change('a new password two')).status, 200)
    const before = ops.hash()
    assertThrottled(await change('a new password three'), 1200, 'password')
    assert.equal(ops.hash(), before, 'no hash for a refused password change')
    assert.equal((await login(s, 'alice', 'a new password two')).status, 200, 'the refused change changed nothing')
    assert.deepEqual(
      (await trippedEvents(db)).map((e) => [e.user_id, e.username, e.detail.limit]),
      [
        [null, 'bob', 'register'],
        [alice.user.id, null, 'password'],
      ],
    )
    time.set(T0 + 1200)
    assert.equal((await s.api('POST', '/auth/register', { body: { username: 'bob', password: PASSWORD } })).status, 201)
  })

  test('a device token: handed out at login, stored hashed, lets its holder in under its own allowance, only for its own account', async (t) => {
    const time = clock()
    const s = await startServer(t, { THROTTLE_ACCOUNT: '2/1h', THROTTLE_DEVICE: '2/15m' }, { dialect, deps: { throttleNow: time.now } })
    const db = openBeside(t, s)
    await s.register('alice')
    await s.register('bob')
    const first = await login(s, 'alice', PASSWORD)
    const token = first.body.device_token as string
    assert.match(token, /^[A-Za-z0-9_-]{43}$/)
    const bobToken = (await login(s, 'bob', PASSWORD)).body.device_token as string
    const rows = await db.selectFrom('device_tokens').selectAll().orderBy('user_id').execute()
    assert.deepEqual(
      rows.map((r) => [r.token_hash, r.user_id, r.created_at, r.last_used_at]),
      [
        [hashDeviceToken(token), 1, T0, T0],
        [hashDeviceToken(bobToken), 2, T0, T0],
      ],
    )
    assert.ok(!s.logText().includes(token), 'the token is not logged')

    // The account is throttled for everyone else.
    for (let i = 0; i < 2; i++) assert.equal((await login(s, 'alice', WRONG)).status, 401)
    assertThrottled(await login(s, 'alice', PASSWORD), 1200, 'no token')
    assertThrottled(await login(s, 'alice', PASSWORD, { device_token: bobToken }), 1200, "bob's token")
    assertThrottled(await login(s, 'alice', PASSWORD, { device_token: 'x'.repeat(43) }), 1200, 'a made-up token')
    // Its holder is not: a presented valid token gets no new one and is marked used.
    time.set(T0 + 60)
    const holder = await login(s, 'alice', PASSWORD, { device_token: token })
    assert.equal(holder.status, 200, holder.text)
    assert.deepEqual(Object.keys(holder.body).sort(), ['access_token', 'refresh_token'])
    const used = await db
      .selectFrom('device_tokens')
      .select('last_used_at')
      .where('token_hash', '=', hashDeviceToken(token))
      .executeTakeFirstOrThrow()
    assert.equal(used.last_used_at, T0 + 60)
    // Its own allowance is limited too, and is the only one its failures count on.
    for (let i = 0; i < 2; i++) assert.equal((await login(s, 'alice', WRONG, { device_token: token })).status, 401)
    assertThrottled(await login(s, 'alice', PASSWORD, { device_token: token }), 240, 'the device allowance')
    const account = await db.selectFrom('throttle_counters').select('failures').where('key', '=', 'account:u:1').executeTakeFirstOrThrow()
    assert.equal(account.failures, 2, 'device failures are not account failures')
    // A device_token that is not a string is a 400 naming it.
    const bad = await login(s, 'alice', PASSWORD, { device_token: 5 })
    assert.deepEqual(
      [bad.status, bad.body],
      [
        400,
        { msg: 'device_token must be a string (the device_token an earlier login returned)', code: 'INVALID_FIELD', field: 'device_token' },
      ],
    )
    // Deleting the user deletes its tokens.
    await db.deleteFrom('sessions').execute()
    await db.deleteFrom('users').where('id', '=', 2).execute()
    assert.equal((await db.selectFrom('device_tokens').select('user_id').where('user_id', '=', 2).execute()).length, 0)
  })

  test('the purge deletes counters whose window has ended and device tokens unused for 30 days, in batches', async (t) => {
    const time = clock()
    const s = await startServer(t, {}, { dialect, deps: { throttleNow: time.now } })
    const db = openBeside(t, s)
    await s.register('alice')
    const old = (await login(s, 'alice', PASSWORD)).body.device_token as string
    assert.equal((await login(s, 'ghost', WRONG)).status, 401)
    const rows = Array.from({ length: 1500 }, (_, i) => ({
      key: `address:10.0.${i >> 8}.${i & 255}`,
      window_start: T0 - 7200,
      failures: 1,
      pending: 0,
      tripped: 0,
    }))
    for (let i = 0; i < rows.length; i += 500)
      await db
        .insertInto('throttle_counters')
        .values(rows.slice(i, i + 500))
        .execute()
    const config = parseThrottle([], {})
    // Still in their windows: nothing but the 1500 old rows goes.
    assert.deepEqual(await purgeThrottle(db, config, T0), { counters: 1500, deviceTokens: 0 })
    const live = await db.selectFrom('throttle_counters').select('key').execute()
    assert.ok(live.length >= 3, 'the current windows stay')
    // An hour and a bit later they have ended; 30 days later the token is unused for too long.
    assert.deepEqual(await purgeThrottle(db, config, T0 + 3600 + 1), { counters: live.length, deviceTokens: 0 })
    time.set(T0 + 20 * 86400)
    const recent = (await login(s, 'alice', PASSWORD)).body.device_token as string
    const result = await purgeThrottle(db, config, T0 + 30 * 86400 + 1)
    assert.equal(result.deviceTokens, 1)
    const left = await db.selectFrom('device_tokens').select('token_hash').execute()
    assert.deepEqual(
      left.map((r) => r.token_hash),
      [hashDeviceToken(recent)],
    )
    assert.notEqual(hashDeviceToken(old), hashDeviceToken(recent))
  })

  test('a database that ran 0007-audit before 0006-throttle existed gets 0006 next', async (t) => {
    const { db } = await openTestDatabase(t, dialect)
    const { '0006-throttle': _later, ...before } = migrations
    const { error } = await new Migrator({ db, provider: { getMigrations: async () => before } }).migrateToLatest()
    assert.ifError(error)
    assert.deepEqual(await migrateToLatest(db, () => {}), ['0006-throttle'])
    assert.deepEqual(await db.selectFrom('throttle_counters').selectAll().execute(), [])
    assert.deepEqual(await migrateToLatest(db, () => {}), [])
  })

  test('a throttle that cannot reach its table answers 503 with a message: never a 500, never an unthrottled attempt', async (t) => {
    const s = await startServer(t, {}, { dialect })
    const db = openBeside(t, s)
    const alice = await s.register('alice')
    const ops = argon2Ops(t)
    await sql`drop table throttle_counters`.execute(db)
    for (const [path, body, token] of [
      ['/auth/login', { username: 'alice', password: PASSWORD }, undefined],
      ['/auth/fresh-login', { username: 'alice', password: PASSWORD }, undefined],
      ['/auth/register', { username: 'bob', password: PASSWORD }, undefined],
      ['/auth/password', { new_password: 'a new password here' }, alice.access_token],
    ] as const) {
      const res = await s.api('POST', path, { body, ...(token ? { token } : {}) })
      assert.equal(res.status, 503, `${path}: ${res.text}`)
      assert.deepEqual(res.body, {
        msg: 'The database is unavailable (the sign-in throttle could not be read or updated); retry in a moment',
        code: 'DATABASE_UNAVAILABLE',
      })
      assert.equal(res.headers.get('retry-after'), '1')
    }
    assert.deepEqual([ops.verify(), ops.hash()], [0, 0], 'nothing got through to argon2')
  })
})
