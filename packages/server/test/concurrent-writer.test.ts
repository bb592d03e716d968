/**
 * The server beside a second process writing the same SQLite file (the CLI does: `keycard users
 * delete`, `useradd`, `migrate`). A read-then-write transaction that began as a plain (deferred) BEGIN
 * fails with SQLITE_BUSY_SNAPSHOT when the other process commits between its read and its write; the
 * server's take the write lock first, so they wait (busy_timeout) instead of answering 500.
 */

import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { test, type TestContext } from 'node:test'
import SQLite from 'better-sqlite3'
import { tmpdir } from 'node:os'
import { type ConfigError, loadConfig } from '../src/config.ts'
import { startServer, testEnv } from './helpers.ts'

const WRITER = fileURLToPath(new URL('./fixtures/db-writer.mjs', import.meta.url))

/** Resolves with the first stdout line of `child` matching `pattern`; rejects if it exits first. */
function line(child: ChildProcess, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    // An 'exit' already emitted would never come again.
    if (child.exitCode !== null || child.signalCode !== null)
      return reject(new Error(`writer already exited (${child.exitCode ?? child.signalCode}) before printing ${pattern}`))
    let out = ''
    const onData = (d: string) => {
      out += d
      const match = out.split('\n').find((l) => pattern.test(l))
      if (match !== undefined) {
        child.stdout!.off('data', onData)
        child.off('exit', onExit)
        resolve(match)
      }
    }
    const onExit = (code: number | null) => reject(new Error(`writer exited with ${code} before printing ${pattern}; stdout: ${out}`))
    child.stdout!.setEncoding('utf8').on('data', onData)
    child.once('exit', onExit)
  })
}

function spawnWriter(t: TestContext, args: string[]): ChildProcess {
  const child = spawn(process.execPath, [WRITER, ...args], { stdio: ['pipe', 'pipe', 'inherit'] })
  t.after(() => {
    if (child.exitCode === null) child.kill()
  })
  return child
}

/** Starts the writer on `dbPath` and waits until it is committing; `stop()` ends it and returns how many it wrote. */
async function startWriter(t: TestContext, dbPath: string): Promise<{ stop(): Promise<number> }> {
  const child = spawnWriter(t, [dbPath])
  await line(child, /^ready$/)
  return {
    async stop() {
      const done = line(child, /^wrote \d+$/)
      child.stdin!.end('stop\n')
      const wrote = Number((await done).split(' ')[1])
      if (child.exitCode === null) await once(child, 'exit')
      return wrote
    },
  }
}

test('refreshes while another process writes the database: every one rotates, none answers 5xx', { timeout: 120_000 }, async (t) => {
  const s = await startServer(t)
  await s.register('alice')
  const chains = await Promise.all([1, 2, 3, 4].map(() => s.login('alice')))
  const writer = await startWriter(t, s.dbPath)

  const statuses: number[] = []
  const used: string[] = []
  await Promise.all(
    chains.map(async (tokens) => {
      let refresh = tokens.refresh_token
      for (let i = 0; i < 40; i++) {
        const res = await s.api('POST', '/auth/refresh', { token: refresh })
        statuses.push(res.status)
        if (res.status !== 200) return
        used.push(refresh)
        refresh = res.body.refresh_token
      }
    }),
  )
  const wrote = await writer.stop()

  assert.deepEqual(
    statuses.filter((x) => x !== 200),
    [],
    `non-200 answers: ${JSON.stringify(s.logLines().filter((l) => Number(l.level) >= 50))}`,
  )
  assert.equal(statuses.length, 160)
  assert.ok(wrote > 20, `the writer committed during the refreshes (${wrote})`)
  // No chain forked or was revoked as reuse: one live session each.
  const direct = new SQLite(s.dbPath, { readonly: true })
  t.after(() => direct.close())
  const rows = direct.prepare('select count(*) as n from sessions where revoked_at is null').get() as { n: number }
  assert.equal(rows.n, 5, 'the registration session and the four chains are all still live')
})

test('a lock held past DATABASE_BUSY_TIMEOUT_MS answers 503 with Retry-After, and the refresh token still works after', {
  timeout: 120_000,
}, async (t) => {
  const s = await startServer(t, { DATABASE_BUSY_TIMEOUT_MS: '20' })
  const { refresh_token } = await s.register('alice')
  const holder = spawnWriter(t, [s.dbPath, 'hold'])
  await line(holder, /^holding$/)

  const busy = await s.api('POST', '/auth/refresh', { token: refresh_token })
  assert.equal(busy.status, 503)
  assert.equal(busy.headers.get('retry-after'), '1')
  assert.deepEqual(busy.body, { msg: 'The database is busy (another process holds its lock); retry in a moment' })
  assert.equal(
    s.logLines().some((l) => l.level === 50),
    false,
    'not logged as a server error',
  )
  const warning = s.logLines().find((l) => String(l.msg).startsWith('database busy'))
  assert.equal((warning?.err as { code?: string } | undefined)?.code, 'SQLITE_BUSY', 'a warning names the SQLite error')

  const released = line(holder, /^released$/)
  holder.stdin!.end('release\n')
  await released
  const after = await s.api('POST', '/auth/refresh', { token: refresh_token })
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
  const writer = await startWriter(t, s.dbPath)
  let password = 'correct horse battery'
  for (let i = 0; i < 3; i++) {
    const fresh = await s.api('POST', '/auth/fresh-login', { body: { username: 'alice', password } })
    assert.equal(fresh.status, 200)
    password = `a new passphrase number ${i}`
    const change = await s.api('POST', '/auth/password', { token: fresh.body.access_token, body: { new_password: password } })
    assert.equal(change.status, 200, change.text)
  }
  await writer.stop()
  assert.equal((await s.api('GET', '/auth/me', { token: other.access_token })).status, 401, 'the other session was revoked')
  assert.equal((await s.api('POST', '/auth/login', { body: { username: 'alice', password } })).status, 200)
})
