/**
 * One server on a SQLite file that fails under it: the disk full, the file deleted, the file read-only.
 * Clients get 503 `{"msg","code"}` with Retry-After (never a 500), /healthz notices a database it
 * cannot write, and the server recovers by itself when the cause goes away.
 *
 * SQLite-only by nature (PostgreSQL's faults are in faults-postgres.test.ts). The tests run as root in
 * CI, where file modes do not stop a write: the disk is "full" by `PRAGMA max_page_count` and the file
 * read-only by `PRAGMA query_only`, on the server's own connection (passed in as `db`), which fail the
 * writes with SQLite's real SQLITE_FULL and SQLITE_READONLY.
 */

import assert from 'node:assert/strict'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { test, type TestContext } from 'node:test'
import { sql } from 'kysely'
import { openDatabase } from '../src/db/database.ts'
import { PASSWORD, type Reply, startServer, type TestServer, tempDir } from './helpers.ts'

function assertUnavailable(res: Reply, what: string, reason: RegExp): void {
  assert.equal(res.status, 503, `${what}: ${res.text}`)
  assert.equal(res.headers.get('retry-after'), '1', what)
  assert.deepEqual(Object.keys(res.body).sort(), ['code', 'msg'], what)
  assert.equal(res.body.code, 'DATABASE_UNAVAILABLE', what)
  assert.match(res.body.msg, reason, what)
}

/** No request was answered 500 (each logs "request failed"). */
function assertNo500(s: TestServer): void {
  assert.deepEqual(
    s.logLines().filter((l) => l.msg === 'request failed'),
    [],
  )
}

/** The server on a SQLite file whose connection the test keeps, to set pragmas on it. */
async function serverWithConnection(t: TestContext) {
  const dir = tempDir(t)
  const db = openDatabase(join(dir, 'keycard.db'))
  t.after(() => db.destroy())
  const s = await startServer(t, {}, { db, dir })
  return { s, db, file: join(dir, 'keycard.db') }
}

test('a full disk is 503 "the disk is full" on every write and on /healthz, then registrations work again once there is room', async (t) => {
  const { s, db } = await serverWithConnection(t)
  await s.register('alice')
  // No page may be added from now on: the first write that needs one fails with SQLITE_FULL.
  const { rows } = await sql<{ page_count: number }>`pragma page_count`.execute(db)
  await sql.raw(`pragma max_page_count = ${rows[0]!.page_count}`).execute(db)

  let full: Reply | undefined
  const long = 'x'.repeat(200)
  for (let i = 0; i < 500 && !full; i++) {
    const res = await s.api('POST', '/auth/register', {
      body: { username: `user${i}`, password: PASSWORD, email: `${long}${i}@example.com` },
    })
    if (res.status !== 201) full = res
  }
  assert.ok(full, 'the database filled up')
  assertUnavailable(full, 'the registration that found the disk full', /the disk is full/)
  assertUnavailable(await s.api('GET', '/healthz'), 'healthz', /the disk is full/)
  // Logins write a session: refused the same way, and the user made before is intact.
  let login: Reply | undefined
  for (let i = 0; i < 500 && login?.status !== 503; i++)
    login = await s.api('POST', '/auth/login', { body: { username: 'alice', password: PASSWORD } })
  assertUnavailable(login!, 'a login on the full disk', /the disk is full/)

  await sql.raw('pragma max_page_count = 1073741823').execute(db)
  assert.equal((await s.api('POST', '/auth/register', { body: { username: 'after', password: PASSWORD } })).status, 201)
  assert.equal((await s.api('POST', '/auth/login', { body: { username: 'alice', password: PASSWORD } })).status, 200)
  assert.equal((await s.api('GET', '/healthz')).status, 200)
  assertNo500(s)
})

test('the database file deleted under the server: /healthz answers 503 naming it', async (t) => {
  const s = await startServer(t)
  await s.register('alice')
  assert.equal((await s.api('GET', '/healthz')).status, 200)
  for (const suffix of ['', '-wal', '-shm']) rmSync(s.dbPath + suffix, { force: true })
  const res = await s.api('GET', '/healthz')
  assertUnavailable(res, 'healthz', /the database file was deleted/)
  assertNo500(s)
})

test('a read-only database is 503 on writes and on /healthz, and both recover when it can be written again', async (t) => {
  const { s, db } = await serverWithConnection(t)
  await s.register('alice')
  await sql`pragma query_only = on`.execute(db)

  assertUnavailable(await s.api('GET', '/healthz'), 'healthz', /cannot be written/)
  assertUnavailable(
    await s.api('POST', '/auth/register', { body: { username: 'bob', password: PASSWORD } }),
    'register',
    /cannot be written/,
  )
  assertUnavailable(await s.api('POST', '/auth/login', { body: { username: 'alice', password: PASSWORD } }), 'login', /cannot be written/)

  await sql`pragma query_only = off`.execute(db)
  assert.equal((await s.api('GET', '/healthz')).status, 200)
  assert.equal(
    (await s.api('POST', '/auth/register', { body: { username: 'bob', password: PASSWORD } })).status,
    201,
    'bob was not half-made',
  )
  assertNo500(s)
})
