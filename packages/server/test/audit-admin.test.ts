/**
 * GET /admin/audit on both databases: admins only (403 ADMIN_REQUIRED), pages newest first by key
 * (`before=<next>`) that neither skip nor repeat an event while new ones arrive, the user/type/since
 * filters, and a 400 INVALID_QUERY naming the parameter. DELETE /admin/users/:id records user.deleted
 * (with the admin as actor), and an audit write that fails answers 503, not 500.
 */

import assert from 'node:assert/strict'
import { type TestContext, test } from 'node:test'
import { AuditLog } from '../src/audit/log.ts'
import { createPasswordHasher } from '../src/passwords.ts'
import { createUser } from '../src/users.ts'
import { claimsOf, type Dialect, forEachDialect, openBeside, PASSWORD, startServer } from './helpers.ts'
import { refuseAuditWrites } from './audit-fixtures.ts'

/** In the past, so `since` (from the real clock) can reach or exclude it. */
const NOW = 1_700_000_000

/** A server with an admin `root` (made as the CLI does) and a user `alice`, an AuditLog at NOW beside it. */
async function withAdmin(t: TestContext, dialect: Dialect) {
  const s = await startServer(t, {}, { dialect })
  const db = openBeside(t, s)
  await createUser(db, createPasswordHasher(s.config.argon2), { username: 'root', password: PASSWORD, admin: true })
  const alice = await s.register('alice')
  const admin = (await s.login('root')).access_token
  return { s, db, admin, alice, audit: new AuditLog(db, { now: () => NOW }) }
}

const types = (body: any) => body.events.map((e: any) => e.type)

forEachDialect((dialect) => {
  test('admins walk every event newest first, page by page, none skipped or repeated as new ones arrive', async (t) => {
    const { s, admin, alice, audit, db } = await withAdmin(t, dialect)
    await db.deleteFrom('audit_events').execute()
    for (let i = 0; i < 7; i++) await audit.record({ type: 'login.failed', username: `guess${i}`, address: '198.51.100.7' })

    const user = await s.api('GET', '/admin/audit', { token: alice.access_token })
    assert.equal(user.status, 403)
    assert.deepEqual(user.body, { msg: 'Admin access required', code: 'ADMIN_REQUIRED' })
    assert.equal((await s.api('GET', '/admin/audit')).status, 401)

    const all = await s.api('GET', '/admin/audit', { token: admin })
    assert.equal(all.status, 200, all.text)
    assert.deepEqual(Object.keys(all.body).sort(), ['events', 'limit', 'next'])
    assert.deepEqual([all.body.limit, all.body.next, all.body.events.length], [50, null, 7])
    assert.deepEqual(
      all.body.events.map((e: any) => e.username),
      [6, 5, 4, 3, 2, 1, 0].map((i) => `guess${i}`),
    )
    assert.equal(all.body.events[0].at, new Date(NOW * 1000).toISOString())

    const seen: string[] = []
    let before: number | null | undefined
    let pages = 0
    do {
      const page = await s.api('GET', `/admin/audit?limit=3${before == null ? '' : `&before=${before}`}`, { token: admin })
      assert.equal(page.status, 200, page.text)
      assert.equal(page.body.limit, 3)
      const ids = page.body.events.map((e: any) => e.id)
      if (before != null)
        assert.ok(
          ids.every((id: number) => id < before!),
          'older than the cursor',
        )
      seen.push(...page.body.events.map((e: any) => e.username))
      // An event arriving mid-walk is newer than every cursor: it is on no later page.
      if (pages === 0) await audit.record({ type: 'login.failed', username: 'late' })
      before = page.body.next
      if (before !== null) assert.equal(before, ids.at(-1))
      pages++
    } while (before !== null)
    assert.equal(pages, 3)
    assert.deepEqual(
      seen,
      [6, 5, 4, 3, 2, 1, 0].map((i) => `guess${i}`),
    )
  })

  test('filters: user (by name, by id, a deleted user by the recorded name), type and since; combined', async (t) => {
    const { s, admin, alice, audit } = await withAdmin(t, dialect)
    const aliceId = alice.user.id
    await audit.record({ type: 'login.succeeded', userId: aliceId, username: 'alice' })
    await audit.record({ type: 'password.changed', userId: aliceId, username: 'alice' })
    await audit.record({ type: 'login.failed', username: 'nobody' })
    const old = new AuditLog(openBeside(t, s), { now: () => NOW - 3 * 86400 })
    await old.record({ type: 'login.succeeded', userId: aliceId, username: 'alice' })

    const get = async (query: string) => {
      const res = await s.api('GET', `/admin/audit?${query}`, { token: admin })
      assert.equal(res.status, 200, `${query}: ${res.text}`)
      return res.body
    }
    const byName = await get('user=ALICE')
    assert.ok(byName.events.length >= 3)
    assert.ok(byName.events.every((e: any) => e.user_id === aliceId))
    assert.deepEqual(types(await get(`user=${aliceId}&type=login.succeeded`)), ['login.succeeded', 'login.succeeded'])
    assert.deepEqual(types(await get('user=nobody')), ['login.failed'])
    assert.deepEqual(types(await get('type=password.changed')), ['password.changed'])
    assert.deepEqual((await get('user=2147483648')).events, [])

    // `since` counts back from the server's clock; recorded at NOW and NOW - 3 days, both are long past.
    // (Her sign-up, recorded by the route just now, is not one of them.)
    assert.deepEqual(types(await get('since=1h&user=alice&type=login.succeeded')), [])
    assert.deepEqual(types(await get('since=1h&user=alice')), ['user.registered'])
    const sinceStart = Math.floor(Date.now() / 1000) - NOW + 86400
    assert.deepEqual(types(await get(`since=${sinceStart}&user=alice&type=login.succeeded`)), ['login.succeeded'])
    assert.equal((await get(`since=${sinceStart + 3 * 86400}&user=alice&type=login.succeeded`)).events.length, 2)

    // A deleted user's events stay, found by the name they had.
    assert.equal((await s.api('DELETE', `/admin/users/${aliceId}`, { token: admin })).status, 200)
    const gone = await get('user=alice')
    assert.equal(types(gone)[0], 'user.deleted')
    assert.ok(gone.events.length >= 4 && gone.events.every((e: any) => e.username === 'alice'))
    assert.ok((await get(`user=${aliceId}`)).events.length >= 4, 'by id, all of them')
  })

  test('bad query parameters get 400 INVALID_QUERY naming the parameter', async (t) => {
    const { s, admin } = await withAdmin(t, dialect)
    for (const [query, field, pattern] of [
      ['limit=0', 'limit', /from 1 to 100/],
      ['limit=101', 'limit', /from 1 to 100/],
      ['limit=1e2', 'limit', /integer/],
      ['before=-1', 'before', /event id/],
      ['before=1234567890123456', 'before', /event id/],
      ['type=login', 'type', /event type/],
      ['type=login.failed&type=logout', 'type', /once/],
      ['since=yesterday', 'since', /duration/],
      ['since=9999999999d', 'since', /duration/],
      [`user=${'x'.repeat(255)}`, 'user', /at most 254/],
      ['after=3', 'after', /not known here/],
      ['offset=10', 'offset', /not known here/],
    ] as const) {
      const res = await s.api('GET', `/admin/audit?${query}`, { token: admin })
      assert.equal(res.status, 400, `${query}: ${res.text}`)
      assert.deepEqual([res.body.code, res.body.field], ['INVALID_QUERY', field], query)
      assert.match(res.body.msg, new RegExp(`^Query parameter ${field} `), query)
      assert.match(res.body.msg, pattern, query)
    }
  })

  test('DELETE /admin/users/:id records user.deleted: the name, the admin as actor, address and user agent', async (t) => {
    const { s, admin, alice } = await withAdmin(t, dialect)
    await s.login('alice')
    const res = await s.api('DELETE', `/admin/users/${alice.user.id}`, { token: admin, headers: { 'user-agent': 'AdminConsole/1' } })
    assert.equal(res.status, 200, res.text)
    const page = await s.api('GET', '/admin/audit?type=user.deleted', { token: admin })
    assert.equal(page.body.events.length, 1)
    const [event] = page.body.events
    const rootId = Number(claimsOf(admin).sub)
    assert.deepEqual(
      [event.user_id, event.username, event.actor_id, event.address, event.user_agent, event.session_id],
      [alice.user.id, 'alice', rootId, '127.0.0.1', 'AdminConsole/1', null],
    )
    assert.deepEqual(event.detail, { via: 'api', revoked_sessions: 2 })
    // A missing user is a 404 and no event.
    assert.equal((await s.api('DELETE', `/admin/users/${alice.user.id}`, { token: admin })).status, 404)
    assert.equal((await s.api('GET', '/admin/audit?type=user.deleted', { token: admin })).body.events.length, 1)
  })

  test('an audit write the database refuses answers 503 with a message, not 500', async (t) => {
    const { s, admin, alice, db } = await withAdmin(t, dialect)
    // A real failure of the insert alone: the database refuses audit rows from now on.
    await refuseAuditWrites(db, dialect)
    const res = await s.api('DELETE', `/admin/users/${alice.user.id}`, { token: admin })
    assert.equal(res.status, 503, res.text)
    assert.equal(res.body.code, 'DATABASE_UNAVAILABLE')
    assert.match(res.body.msg, /audit event could not be written/)
    assert.equal(res.headers.get('retry-after'), '1')
    assert.ok(!s.logText().includes('Internal Server Error'))
  })
})
