/**
 * The server beside a second process writing the same SQLite file (the CLI does: `keycard users
 * delete`, `useradd`, `migrate`). A read-then-write transaction that began as a plain (deferred) BEGIN
 * fails with SQLITE_BUSY_SNAPSHOT when the other process commits between its read and its write; the
 * server's take the write lock first, so they wait (busy_timeout) instead of answering 500.
 *
 * Every wait here, on the writer or on the server, is bounded (db-writer.ts) and fails saying what it
 * waited for: under load the writer once lost the lock for its whole busy timeout to the server's
 * back-to-back transactions, crashed, and the test waited for its answer forever.
 *
 * SQLite-only: about two processes on one SQLite file (its write lock and snapshots); on PostgreSQL
 * the row locks of the multi-instance tests play this part.
 */

import assert from 'node:assert/strict'
import { once } from 'node:events'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { test } from 'node:test'
import SQLite from 'better-sqlite3'
import { tmpdir } from 'node:os'
import { type ConfigError, loadConfig } from '../src/config.ts'
import { spawnWriter, within, WRITER_WAIT_MS, type Writer } from './db-writer.ts'
import { startServer, testEnv, type TestServer } from './helpers.ts'

/** A server call, bounded: a request the server never answers fails the test instead of hanging it. */
function call(s: TestServer, ...args: Parameters<TestServer['api']>): ReturnType<TestServer['api']> {
  return within(s.api(...args), WRITER_WAIT_MS, `${args[0]} ${args[1]} to be answered`)
}

/** `stop`s a writer and returns how many rows it committed. */
async function stopWriter(writer: Writer): Promise<number> {
  return Number(/^wrote (\d+)/.exec(await writer.send('stop', /^wrote \d+ busy \d+$/))![1])
}

test('refreshes while another process writes the database: every one rotates, none answers 5xx', { timeout: 120_000 }, async (t) => {
  const s = await startServer(t)
  await s.register('alice')
  const chains = await Promise.all([1, 2, 3, 4].map(() => s.login('alice')))
  const writer = spawnWriter(t, s.dbPath)
  await writer.line(/^ready$/)
  const direct = new SQLite(s.dbPath, { readonly: true })
  t.after(() => direct.close())
  const ticks = direct.prepare('select count(*) as n from writer_ticks')
  const committed = () => (ticks.get() as { n: number }).n

  /**
   * Resolves once the writer has committed more than `since` rows. Each chain waits for this between
   * refreshes, so the other process's commits are interleaved with every one of them however the
   * machine schedules the two (under load the server's transactions used to starve the writer).
   */
  const writerPast = async (since: number): Promise<number> => {
    const deadline = Date.now() + WRITER_WAIT_MS
    for (let n = committed(); ; n = committed()) {
      if (n > since) return n
      if (Date.now() > deadline) throw new Error(`the writer committed nothing past row ${since} in ${WRITER_WAIT_MS} ms`)
      await nextTurn()
    }
  }

  const statuses: number[] = []
  await Promise.all(
    chains.map(async (tokens) => {
      let refresh = tokens.refresh_token
      let seen = committed()
      for (let i = 0; i < 40; i++) {
        seen = await writerPast(seen)
        const res = await call(s, 'POST', '/auth/refresh', { token: refresh })
        statuses.push(res.status)
        if (res.status !== 200) return
        refresh = res.body.refresh_token
      }
    }),
  )
  const wrote = await stopWriter(writer)

  assert.deepEqual(
    statuses.filter((x) => x !== 200),
    [],
    `non-200 answers: ${JSON.stringify(s.logLines().filter((l) => Number(l.level) >= 40))}`,
  )
  assert.equal(statuses.length, 160)
  assert.ok(wrote >= 20 + 40, `the writer committed between the refreshes (${wrote})`)
  // No chain forked or was revoked as reuse: one live session each.
  const rows = direct.prepare('select count(*) as n from sessions where revoked_at is null').get() as { n: number }
  assert.equal(rows.n, 5, 'the registration session and the four chains are all still live')
})

test('a lock held past DATABASE_BUSY_TIMEOUT_MS answers 503 with Retry-After, and the refresh token still works after', {
  timeout: 120_000,
}, async (t) => {
  const s = await startServer(t, { DATABASE_BUSY_TIMEOUT_MS: '20' })
  const { refresh_token } = await s.register('alice')
  const holder = spawnWriter(t, s.dbPath, 'hold')
  await holder.line(/^holding$/)

  const busy = await call(s, 'POST', '/auth/refresh', { token: refresh_token })
  assert.equal(busy.status, 503)
  assert.equal(busy.headers.get('retry-after'), '1')
  assert.deepEqual(busy.body, { msg: 'The database is busy (another process holds its lock); retry in a moment', code: 'DATABASE_BUSY' })
  assert.equal(
    s.logLines().some((l) => l.level === 50),
    false,
    'not logged as a server error',
  )
  const warning = s.logLines().find((l) => String(l.msg).startsWith('database busy'))
  assert.equal((warning?.err as { code?: string } | undefined)?.code, 'SQLITE_BUSY', 'a warning names the SQLite error')

  await holder.send('release', /^released$/)
  const after = await call(s, 'POST', '/auth/refresh', { token: refresh_token })
  assert.equal(after.status, 200, 'nothing rotated while the lock was held')
})

test('DATABASE_BUSY_TIMEOUT_MS: milliseconds from 0 to 30000, default 5000; anything else is refused at start', () => {
  const env = (v?: string) => testEnv(tmpdir(), { DATABASE_BUSY_TIMEOUT_MS: v })
  assert.equal(loadConfig(env()).databaseBusyTimeoutMs, 5000)
  assert.equal(loadConfig(env('0')).databaseBusyTimeoutMs, 0)
  for (const bad of ['5s', '-1', '30001']) {
    assert.throws(
      () => loadConfig(env(bad)),
      (err: ConfigError) =>
        err.problems.some((p) => p.startsWith(`DATABASE_BUSY_TIMEOUT_MS: expected an integer from 0 to 30000, got "${bad}"`)),
    )
  }
})

test('password changes while another process writes: each sets the hash and revokes the other sessions in one transaction', {
  timeout: 120_000,
}, async (t) => {
  const s = await startServer(t)
  await s.register('alice')
  const other = await s.login('alice')
  const writer = spawnWriter(t, s.dbPath)
  await writer.line(/^ready$/)
  let password = 'correct horse battery'
  for (let i = 0; i < 3; i++) {
    const fresh = await call(s, 'POST', '/auth/fresh-login', { body: { username: 'alice', password } })
    assert.equal(fresh.status, 200)
    password = `a new passphrase number ${i}`
    const change = await call(s, 'POST', '/auth/password', { token: fresh.body.access_token, body: { new_password: password } })
    assert.equal(change.status, 200, change.text)
  }
  await stopWriter(writer)
  assert.equal((await call(s, 'GET', '/auth/me', { token: other.access_token })).status, 401, 'the other session was revoked')
  assert.equal((await call(s, 'POST', '/auth/login', { body: { username: 'alice', password } })).status, 200)
})

test('a writer that died is reported with its stderr, even when asked after its exit, not waited for', { timeout: 120_000 }, async (t) => {
  // A directory is no database: the writer throws at start. Its exit has long been emitted when `line` is called.
  const writer = spawnWriter(t, tmpdir())
  await within(once(writer.child, 'close'), WRITER_WAIT_MS, 'the writer to fail')
  await assert.rejects(writer.line(/^ready$/), /writer exited with 1 before printing \/\^ready\$\/; stdout: ""; stderr: .*SqliteError/s)
})
