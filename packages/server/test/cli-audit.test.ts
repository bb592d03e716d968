/**
 * `keycard audit`, run as real processes (`node --import tsx src/cli/main.ts`) on a real data dir, on
 * both databases: the CLI's own admin actions (useradd, users rename, users delete, keys rotate, keys
 * retire) are in the trail it prints, as a table or as JSON lines shaped like GET /admin/audit's
 * events, filtered by --user, --type, --since and --limit; bad flags are one clear line and the usage.
 */

import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { join, resolve } from 'node:path'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { AuditLog } from '../src/audit/log.ts'
import { openDatabase } from '../src/db/database.ts'
import { KEYS_SECRET } from './keyring-env.ts'
import { dataDir, forEachDialect, tempDir, testEnv } from './helpers.ts'
import { PUBLIC_EVENT_KEYS } from './audit-fixtures.ts'

const ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)))
const MAIN = join(ROOT, 'packages/server/src/cli/main.ts')
const PASSWORD = 'correct horse battery'
const KEYRING = { JWT_SECRET: undefined, JWT_ALGORITHM: 'ES256', KEYS_SECRET }

interface Result {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs `keycard <args>` on the database of `dir`; `input` is written to stdin, which is then closed. */
function keycard(dir: string, args: string[], options: { input?: string; env?: Record<string, string | undefined> } = {}): Promise<Result> {
  const env: NodeJS.ProcessEnv = { ...process.env, ...testEnv(dir), LOG_LEVEL: 'silent', ...options.env }
  for (const name of ['NODE_ENV', 'INIT_CWD', 'HOST', 'NODE_TEST_CONTEXT']) delete env[name]
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k]
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, env })
  child.stdin.end(options.input ?? '')
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

async function ok(dir: string, args: string[], options: Parameters<typeof keycard>[2] = {}): Promise<string> {
  const r = await keycard(dir, args, options)
  assert.equal(r.code, 0, `keycard ${args.join(' ')}: ${r.stderr}`)
  assert.doesNotMatch(r.stdout + r.stderr, /^\s+at /m, 'no stack trace')
  return r.stdout
}

/** `keycard audit --json …` as parsed lines. */
async function events(dir: string, args: string[] = []): Promise<any[]> {
  const out = await ok(dir, ['audit', '--json', ...args])
  return out
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l))
}

describe('keycard audit: arguments', { concurrency: 4 }, () => {
  test('--help describes every flag and lists the event types', async (t) => {
    const out = await ok(tempDir(t), ['audit', '--help'])
    assert.match(out, /^Usage: keycard audit \[--user <name\|id>\] \[--since <duration>\]/)
    for (const flag of ['--user', '--since', '--type', '--limit', '--before', '--json']) assert.ok(out.includes(flag), flag)
    for (const type of ['login.failed', 'refresh.reused', 'key.retired']) assert.ok(out.includes(type), type)
    assert.match(await ok(tempDir(t), ['--help']), /^ {2}audit +Show the audit trail/m)
  })

  for (const [args, message] of [
    [['--limit', '0'], '--limit must be an integer from 1 to 1000, got "0"'],
    [['--type', 'login'], '--type must be one of user.registered, login.succeeded,'],
    [['--since', 'soon'], '--since must be a duration in seconds or with a unit (s, m, h, d, w), such as 24h; got "soon"'],
    [['--user', ''], '--user needs a username, email or user id'],
    [['--bogus'], "Unknown option '--bogus'"],
  ] as const) {
    test(`keycard audit ${args.join(' ')}: exit 1, one line naming the flag, then the usage`, async (t) => {
      const r = await keycard(tempDir(t), ['audit', ...args])
      assert.equal(r.code, 1)
      assert.equal(r.stdout, '')
      assert.ok(r.stderr.startsWith(`keycard audit: ${message}`), r.stderr)
      assert.match(r.stderr, /\n\nUsage: keycard audit /)
      assert.doesNotMatch(r.stderr, /^\s+at /m)
    })
  }
})

forEachDialect((dialect) => {
  test('the CLI’s own admin actions and key changes are in the trail, as JSON lines or a table, filtered', async (t) => {
    const dir = await dataDir(t, dialect)
    // The first run migrates the new database; the others may then run side by side.
    await ok(dir, ['useradd', 'alice', '--admin'], { input: `${PASSWORD}\n` })
    await Promise.all([ok(dir, ['useradd', 'bob'], { input: `${PASSWORD}\n` }), ok(dir, ['keys', 'rotate'], { env: KEYRING })])
    const db = openDatabase(testEnv(dir).DATABASE_URL!)
    t.after(() => db.destroy())
    const current = await db.selectFrom('signing_keys').select('kid').where('state', '=', 'current').executeTakeFirstOrThrow()
    await Promise.all([ok(dir, ['users', 'rename', 'bob', 'robert']), ok(dir, ['keys', 'retire', current.kid], { env: KEYRING })])
    await ok(dir, ['users', 'delete', 'robert', '--yes'])
    // One event from long ago, for --since.
    await new AuditLog(db, { now: () => 1_600_000_000 }).record({ type: 'login.failed', username: 'mallory', address: '192.0.2.9' })

    const all = await events(dir)
    assert.deepEqual(all.map((e) => e.type).sort(), [
      'key.retired',
      'key.rotated',
      'key.rotated',
      'login.failed',
      'user.created',
      'user.created',
      'user.deleted',
      'user.renamed',
    ])
    const ids = all.map((e) => e.id)
    assert.deepEqual(
      ids,
      [...ids].sort((a, b) => b - a),
      'newest first',
    )
    const find = (type: string, pick: (e: any) => boolean = () => true) => all.find((e) => e.type === type && pick(e))
    assert.deepEqual(Object.keys(all[0]).sort(), [...PUBLIC_EVENT_KEYS])
    const [old, deleted, renamed, retired] = [find('login.failed'), find('user.deleted'), find('user.renamed'), find('key.retired')]
    const firstKey = find('key.rotated', (e) => e.detail.previous_kid === null)
    const promoted = find('key.rotated', (e) => e.detail.previous_kid !== null)
    const [alice, bob] = [find('user.created', (e) => e.username === 'alice'), find('user.created', (e) => e.username === 'bob')]
    // The hand-written old event was recorded last, and the delete before it.
    assert.deepEqual([all[0], all[1]], [old, deleted])
    assert.ok(promoted.id > retired.id && retired.id > firstKey.id, 'retire: the key retired, then the next one promoted')
    assert.deepEqual(firstKey.detail, { kid: current.kid, previous_kid: null, algorithm: 'ES256', via: 'cli' })
    assert.deepEqual(retired.detail, { kid: current.kid, state: 'current', via: 'cli' })
    // Retiring the current key made the next one (published by `keys rotate`) current at once.
    assert.notEqual(promoted.detail.kid, current.kid)
    assert.deepEqual(promoted.detail, { kid: promoted.detail.kid, previous_kid: current.kid, algorithm: 'ES256', via: 'cli' })
    assert.deepEqual([alice.username, alice.detail, alice.actor_id], ['alice', { admin: true, via: 'cli' }, null])
    assert.deepEqual([bob.username, bob.detail], ['bob', { admin: false, via: 'cli' }])
    assert.deepEqual([renamed.user_id, renamed.detail], [bob.user_id, { from: 'bob', to: 'robert', via: 'cli' }])
    assert.deepEqual([deleted.user_id, deleted.username, deleted.detail], [bob.user_id, 'robert', { via: 'cli', revoked_sessions: 0 }])
    assert.deepEqual([old.at, old.username, old.address], ['2020-09-13T12:26:40.000Z', 'mallory', '192.0.2.9'])

    // Read-only runs, side by side. --user: a deleted user by the name recorded; a live one by id, whatever the case typed.
    const [robert, byName, nobody, created, recent, older, table] = await Promise.all([
      events(dir, ['--user', 'robert']),
      events(dir, ['--user', 'ALICE']),
      ok(dir, ['audit', '--user', 'nobody', '--type', 'login.failed']),
      events(dir, ['--type', 'user.created', '--limit', '1']),
      events(dir, ['--since', '1h']),
      events(dir, ['--before', String(alice.id + 1), '--type', 'user.created']),
      ok(dir, ['audit', '--limit', '2']),
    ])
    assert.deepEqual(
      robert.map((e) => e.type),
      ['user.deleted', 'user.renamed'],
    )
    assert.deepEqual(byName, [alice])
    assert.equal(nobody, 'No audit events match.\n')
    assert.deepEqual(
      created.map((e) => e.username),
      ['bob'],
    )
    assert.equal(recent.length, 7)
    assert.deepEqual(older, [alice])

    const lines = table.split('\n')
    assert.match(lines[0]!, /^ID +AT +TYPE +USER +ADDRESS +DETAIL$/)
    assert.match(lines[1]!, /^\d+ +2020-09-13T12:26:40Z +login\.failed +mallory +192\.0\.2\.9 +-$/)
    assert.match(lines[2]!, /user\.deleted +robert \(#\d+\) +- +via=cli revoked_sessions=0$/)
    assert.match(table, new RegExp(`\\nOlder events: keycard audit --limit 2 --before ${all[1].id}\\n$`))
  })
})
