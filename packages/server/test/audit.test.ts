/**
 * The audit trail on both databases: AuditLog writes rows of audit_events (clipped, detail as JSON,
 * its own clock), GET /auth/events shows a user only their own events of the account-page types.
 */

import assert from 'node:assert/strict'
import { type TestContext, test } from 'node:test'
import { AuditLog, clip, requestContext } from '../src/audit/log.ts'
import { purgeAuditEvents } from '../src/audit/purge.ts'
import { ConfigError, loadConfig } from '../src/config.ts'
import { openDatabase } from '../src/db/database.ts'
import { DatabaseUnavailableError } from '../src/db/errors.ts'
import { migrateToLatest } from '../src/db/migrations/index.ts'
import type { Database } from '../src/db/schema.ts'
import { dataDir, forEachDialect, openBeside, openTestDatabase, startServer, testEnv, type Dialect } from './helpers.ts'
import type { Kysely } from 'kysely'
import { PUBLIC_EVENT_KEYS } from './audit-fixtures.ts'

const DAY = 86400

/** `count` login.failed events at `at`, inserted 500 rows per statement. */
async function insertEvents(db: Kysely<Database>, count: number, at: number): Promise<void> {
  for (let i = 0; i < count; i += 500) {
    const rows = Array.from({ length: Math.min(500, count - i) }, (_, j) => ({ at, type: 'login.failed', username: `u${i + j}` }))
    await db.insertInto('audit_events').values(rows).execute()
  }
}

/** A server with users alice and bob (registered over HTTP) and an AuditLog on its database. */
async function withTwoUsers(t: TestContext, dialect: Dialect) {
  const s = await startServer(t, {}, { dialect })
  const alice = await s.register('alice')
  const bob = await s.register('bob')
  const audit = new AuditLog(openBeside(t, s))
  return { s, audit, alice, bob }
}

forEachDialect((dialect) => {
  test('record writes one row per event: clipped fields, detail as JSON, the injected clock', async (t) => {
    const { db } = await openTestDatabase(t, dialect)
    await migrateToLatest(db)
    const audit = new AuditLog(db, { now: () => 1_700_000_000 })
    assert.equal(audit.now(), 1_700_000_000)
    await audit.record({
      type: 'login.failed',
      username: `${'ü'.repeat(300)}`,
      address: '2001:db8::1',
      userAgent: 'A'.repeat(600),
      detail: { mode: 'header', n: 3, ok: false, none: null },
    })
    await db.transaction().execute((trx) => audit.record({ type: 'logout', userId: 7, sessionId: 's1', actorId: 1 }, trx))
    const rows = await db.selectFrom('audit_events').selectAll().orderBy('id').execute()
    assert.equal(rows.length, 2)
    const [failed, logout] = rows
    assert.equal(failed!.at, 1_700_000_000)
    assert.equal(failed!.type, 'login.failed')
    assert.equal(failed!.username, 'ü'.repeat(254))
    assert.equal(failed!.user_agent, 'A'.repeat(512))
    assert.equal(failed!.address, '2001:db8::1')
    assert.equal(failed!.user_id, null)
    assert.deepEqual(JSON.parse(failed!.detail!), { mode: 'header', n: 3, ok: false, none: null })
    assert.deepEqual([logout!.type, logout!.user_id, logout!.session_id, logout!.actor_id, logout!.detail], ['logout', 7, 's1', 1, null])
    assert.ok(Number(logout!.id) > Number(failed!.id))
  })

  test('a write on a destroyed database throws the 503 DatabaseUnavailableError, not a bare error', async (t) => {
    const { db } = await openTestDatabase(t, dialect)
    await migrateToLatest(db)
    const audit = new AuditLog(db)
    await db.destroy()
    await assert.rejects(audit.record({ type: 'logout', userId: 1 }), (err: unknown) => {
      assert.ok(err instanceof DatabaseUnavailableError)
      assert.equal(err.status, 503)
      assert.match(err.message, /audit event could not be written/)
      return true
    })
  })

  test('GET /auth/events: the caller’s own events of the account-page types, newest first, limited, paged by key', async (t) => {
    const { s, audit, alice, bob } = await withTwoUsers(t, dialect)
    const aliceId = alice.user.id
    for (let i = 0; i < 3; i++) await audit.record({ type: 'login.succeeded', userId: aliceId, username: 'alice', detail: { n: i } })
    await audit.record({ type: 'login.failed', userId: aliceId, username: 'alice' })
    await audit.record({ type: 'password.changed', userId: aliceId, username: 'alice', address: '192.0.2.1', userAgent: 'UA' })
    await audit.record({ type: 'login.succeeded', userId: bob.user.id, username: 'bob' })

    const res = await s.api('GET', '/auth/events', { token: alice.access_token })
    assert.equal(res.status, 200, res.text)
    const types = res.body.events.map((e: any) => e.type)
    // Registration itself is recorded by routes/auth.ts; count only what this test wrote.
    const mine = types.filter((x: string) => x !== 'user.registered')
    assert.deepEqual(mine, ['password.changed', 'login.succeeded', 'login.succeeded', 'login.succeeded'])
    assert.ok(
      res.body.events.every((e: any) => e.user_id === aliceId),
      'only her own',
    )
    const first = res.body.events[0]
    assert.deepEqual(Object.keys(first).sort(), [...PUBLIC_EVENT_KEYS])
    assert.equal(first.address, '192.0.2.1')
    assert.equal(first.user_agent, 'UA')
    assert.ok(!Number.isNaN(Date.parse(first.at)) && first.at.endsWith('Z'))

    const two = await s.api('GET', '/auth/events?limit=2', { token: alice.access_token })
    assert.equal(two.status, 200)
    assert.equal(two.body.events.length, 2)
    assert.deepEqual(two.body.events[1].detail, { n: 2 })
    // Paging by key: each page's next is the following page's before, null on the last; no repeats.
    const paged: number[] = two.body.events.map((e: any) => e.id)
    let next = two.body.next
    while (next !== null) {
      const page = await s.api('GET', `/auth/events?limit=2&before=${next}`, { token: alice.access_token })
      assert.equal(page.status, 200, page.text)
      assert.ok(page.body.events.length > 0 && page.body.events.length <= 2)
      paged.push(...page.body.events.map((e: any) => e.id))
      next = page.body.next
    }
    assert.deepEqual(
      paged,
      res.body.events.map((e: any) => e.id),
    )
    assert.equal(res.body.next, null, 'one page of 20 holds them all')

    for (const [query, name] of [
      ['limit=0', 'limit'],
      ['limit=51', 'limit'],
      ['limit=x', 'limit'],
      ['limit=1&limit=2', 'limit'],
      ['before=x', 'before'],
      ['before=1&before=2', 'before'],
      ['type=login.failed', 'type'],
    ] as const) {
      const bad = await s.api('GET', `/auth/events?${query}`, { token: alice.access_token })
      assert.equal(bad.status, 400, query)
      assert.equal(bad.body.code, 'INVALID_QUERY')
      assert.equal(bad.body.field, name)
      assert.match(bad.body.msg, new RegExp(`Query parameter ${name}`))
    }
    const anonymous = await s.api('GET', '/auth/events')
    assert.equal(anonymous.status, 401)
  })

  test('the retention purge deletes what is older than AUDIT_RETENTION, a batch at a time, at the clock it is given', async (t) => {
    const { db } = await openTestDatabase(t, dialect)
    await migrateToLatest(db)
    const now = 1_700_000_000
    await insertEvents(db, 2500, now - 91 * DAY)
    await insertEvents(db, 3, now - 89 * DAY)
    assert.deepEqual(await purgeAuditEvents(db, 90 * DAY, now, 1000), { rows: 2500, batches: 3 })
    assert.equal((await db.selectFrom('audit_events').select('id').execute()).length, 3)
    // A day later the rest has aged out too; nothing to do after that.
    assert.deepEqual(await purgeAuditEvents(db, 90 * DAY, now + 2 * DAY, 1000), { rows: 3, batches: 1 })
    assert.deepEqual(await purgeAuditEvents(db, 90 * DAY, now + 2 * DAY, 1000), { rows: 0, batches: 0 })
    await insertEvents(db, 2, 0)
    assert.deepEqual(await purgeAuditEvents(db, Number.POSITIVE_INFINITY, now), { rows: 0, batches: 0 }, 'off keeps everything')
  })

  test('the server purges old audit events when it starts (and logs it); AUDIT_RETENTION=off keeps them', async (t) => {
    const dir = await dataDir(t, dialect)
    const db = openDatabase(testEnv(dir).DATABASE_URL!)
    t.after(() => db.destroy())
    await migrateToLatest(db)
    const now = Math.floor(Date.now() / 1000)
    await insertEvents(db, 1001, now - 31 * DAY)
    await insertEvents(db, 2, now - DAY)

    const kept = await startServer(t, { AUDIT_RETENTION: 'off' }, { dialect, dir })
    await kept.close()
    assert.equal((await db.selectFrom('audit_events').select('id').execute()).length, 1003)

    const s = await startServer(t, { AUDIT_RETENTION: '30d' }, { dialect, dir })
    const line = s.logLines().find((l) => l.msg === 'purged old audit events')
    assert.ok(line, s.logText())
    assert.deepEqual([line.rows, line.batches, line.retention], [1001, 2, 30 * DAY])
    assert.equal((await db.selectFrom('audit_events').select('id').execute()).length, 2)
  })
})

test('AUDIT_RETENTION: 90 days by default, a duration of at least a day, or off', () => {
  const env = testEnv('/tmp/keycard-audit-config')
  assert.equal(loadConfig(env).auditRetention, 90 * DAY)
  assert.equal(loadConfig({ ...env, AUDIT_RETENTION: '30d' }).auditRetention, 30 * DAY)
  assert.equal(loadConfig({ ...env, AUDIT_RETENTION: 'OFF' }).auditRetention, null)
  for (const [raw, pattern] of [
    ['90', /AUDIT_RETENTION: at least 1d \(or off to keep events forever\), got "90"/],
    ['soon', /AUDIT_RETENTION: expected a positive duration .* got "soon"/],
  ] as const) {
    assert.throws(
      () => loadConfig({ ...env, AUDIT_RETENTION: raw }),
      (err: unknown) => err instanceof ConfigError && err.problems.some((p) => pattern.test(p)),
    )
  }
})

test('clip never splits a surrogate pair, and requestContext reads ip and user agent', () => {
  assert.equal(clip('ab😀', 3), 'ab')
  assert.equal(clip('ab😀', 4), 'ab😀')
  const request = { ip: '203.0.113.5', headers: { 'user-agent': 'x'.repeat(700) } } as never
  assert.deepEqual(requestContext(request), { address: '203.0.113.5', userAgent: 'x'.repeat(512) })
  assert.deepEqual(requestContext({ ip: '::1', headers: {} } as never), { address: '::1', userAgent: null })
})
