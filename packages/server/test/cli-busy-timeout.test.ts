/**
 * The CLI opens the database with the server's DATABASE_BUSY_TIMEOUT_MS (it used to keep
 * better-sqlite3's 5000 ms whatever the variable said), refuses a bad value as the server does, and
 * reports a lock held past it as the busy message, not a stack trace.
 *
 * SQLite-only: the busy timeout is a SQLite setting (PostgreSQL has DATABASE_STATEMENT_TIMEOUT_MS:
 * faults-postgres.test.ts).
 */

import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { join, resolve } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { sql } from 'kysely'
import { openCliDatabase, withDatabase } from '../src/cli/command.ts'
import { loadConfig } from '../src/config.ts'
import { spawnWriter, within, WRITER_WAIT_MS } from './db-writer.ts'
import { startServer, tempDir, testEnv } from './helpers.ts'

const ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)))
const MAIN = join(ROOT, 'packages/server/src/cli/main.ts')

/** Runs `keycard <args>` on the data dir `dir` with `env` on top of the test environment; bounded. */
function keycard(
  dir: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const merged: NodeJS.ProcessEnv = { ...process.env, ...testEnv(dir), LOG_LEVEL: 'silent', ...env }
  delete merged.NODE_TEST_CONTEXT
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, env: merged })
  child.stdin.end('')
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (code) => resolve({ code, stdout, stderr }))
  })
  return within(done, WRITER_WAIT_MS, `keycard ${args.join(' ')} to exit`).finally(() => child.exitCode === null && child.kill('SIGKILL'))
}

test('the CLI database waits DATABASE_BUSY_TIMEOUT_MS for a lock, as the server does (default 5000)', async (t) => {
  const dir = tempDir(t)
  const busyTimeout = async (value?: string) => {
    const config = loadConfig(testEnv(dir, { DATABASE_BUSY_TIMEOUT_MS: value }))
    const db = await openCliDatabase(config)
    try {
      return (await sql<{ timeout: number }>`pragma busy_timeout`.execute(db)).rows[0]?.timeout
    } finally {
      await db.destroy()
    }
  }
  assert.equal(await busyTimeout('1234'), 1234)
  assert.equal(await busyTimeout('0'), 0)
  assert.equal(await busyTimeout(), 5000)
  // withDatabase (useradd, users) opens it the same way.
  const config = loadConfig(testEnv(dir, { DATABASE_BUSY_TIMEOUT_MS: '250' }))
  assert.equal(
    await withDatabase(config, async (db) => (await sql<{ timeout: number }>`pragma busy_timeout`.execute(db)).rows[0]?.timeout),
    250,
  )
})

test('keycard migrate and users refuse a bad DATABASE_BUSY_TIMEOUT_MS naming it, before touching the database', async (t) => {
  const dir = tempDir(t)
  for (const args of [['migrate'], ['users', 'list']]) {
    const r = await keycard(dir, args, { DATABASE_BUSY_TIMEOUT_MS: '5s' })
    assert.equal(r.code, 1, r.stderr)
    assert.equal(r.stderr, 'keycard: invalid configuration: DATABASE_BUSY_TIMEOUT_MS: expected an integer from 0 to 30000, got "5s"\n')
  }
})

test('keycard users delete beside a process holding the lock past DATABASE_BUSY_TIMEOUT_MS: the busy message, exit 1, nothing deleted', {
  timeout: 120_000,
}, async (t) => {
  const s = await startServer(t)
  await s.register('alice')
  const holder = spawnWriter(t, s.dbPath, 'hold')
  await holder.line(/^holding$/)

  const r = await keycard(s.dir, ['users', 'delete', 'alice', '--yes'], { DATABASE_BUSY_TIMEOUT_MS: '0' })
  assert.equal(r.code, 1)
  assert.equal(r.stderr, 'keycard users: The database is busy (another process holds its lock); retry in a moment\n')

  await holder.send('release', /^released$/)
  const list = await keycard(s.dir, ['users', 'list'])
  assert.equal(list.code, 0, list.stderr)
  assert.match(list.stdout, /alice/, 'the user is still there')
})
