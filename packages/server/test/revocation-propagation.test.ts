/**
 * PostgreSQL: a revocation or admin change written by anyone (another instance, the CLI, hand-written
 * SQL) reaches every instance through LISTEN/NOTIFY. Each instance here polls once an hour, so what
 * reaches it between polls came by NOTIFY; the tests check that no poll ran meanwhile.
 */

import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { join, resolve } from 'node:path'
import { test, type TestContext } from 'node:test'
import { fileURLToPath } from 'node:url'
import { claimsOf, postgresDatabase, startServer, TEST_SECRET, type TestServer } from './helpers.ts'
import { connect, type EventRecorder, recordEvents } from './revocation-events.ts'

const HOUR = 3_600_000
const ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)))
const MAIN = join(ROOT, 'packages/server/src/cli/main.ts')

/** Two instances on one new database, polling hourly; resolves once both listen. */
async function twoInstances(t: TestContext): Promise<{ url: string; a: TestServer; b: TestServer; eventsB: EventRecorder }> {
  const url = await postgresDatabase(t)
  const a = await startServer(t, { DATABASE_URL: url }, { revocationSyncMs: HOUR })
  const eventsB = recordEvents()
  const b = await startServer(t, { DATABASE_URL: url }, { revocationSyncMs: HOUR, deps: eventsB.deps })
  assert.ok(
    eventsB.seen.some((e) => e.type === 'listening'),
    'B listens once started',
  )
  return { url, a, b, eventsB }
}

const verify = async (s: TestServer, token: string) => {
  const res = await s.api('GET', '/auth/verify', { token })
  return { status: res.status, admin: res.headers.get('x-user-admin') }
}

test('a logout on instance A is refused by instance B through NOTIFY, with no poll between', { timeout: 60_000 }, async (t) => {
  const { a, b, eventsB } = await twoInstances(t)
  await a.register('alice')
  const session = await a.login('alice')
  assert.equal((await verify(b, session.access_token)).status, 200)

  const polls = eventsB.polls
  const heard = eventsB.next('notified', (e) => e.channel === 'revocations')
  assert.equal((await a.api('POST', '/auth/logout', { token: session.access_token })).status, 200)
  await heard
  assert.equal((await verify(b, session.access_token)).status, 401)
  assert.equal((await b.api('POST', '/auth/refresh', { token: session.refresh_token })).status, 401)
  assert.equal(eventsB.polls, polls, 'B learnt it without polling')
})

test('every kind of revocation on A reaches B: logout-all, session delete, password change, reuse, admin delete', {
  timeout: 90_000,
}, async (t) => {
  const { a, b, eventsB } = await twoInstances(t)
  const alice = await a.register('alice')
  const polls = eventsB.polls
  /** Runs `write` on A and waits until B has heard `count` revocations. */
  const revokedOnB = async (count: number, write: () => Promise<number>) => {
    let left = count
    const heard = eventsB.next('notified', (e) => e.channel === 'revocations' && --left === 0)
    assert.equal(await write(), 200)
    await heard
  }

  const [one, two] = [await a.login('alice'), await a.login('alice')]
  await revokedOnB(3, async () => (await a.api('POST', '/auth/logout-all', { token: alice.access_token })).status)
  for (const token of [alice.access_token, one.access_token, two.access_token]) assert.equal((await verify(b, token)).status, 401)

  const keep = await a.login('alice')
  const drop = await a.login('alice')
  const sid = claimsOf(drop.access_token).sid
  await revokedOnB(1, async () => (await a.api('DELETE', `/auth/tokens/${sid}`, { token: keep.access_token })).status)
  assert.equal((await verify(b, drop.access_token)).status, 401)
  assert.equal((await verify(b, keep.access_token)).status, 200)

  const fresh = await a.api('POST', '/auth/fresh-login', { body: { username: 'alice', password: 'correct horse battery' } })
  await revokedOnB(1, async () => {
    const res = await a.api('POST', '/auth/password', {
      token: fresh.body.access_token,
      body: { password: 'correct horse battery', new_password: 'another horse battery' },
    })
    return res.status
  })
  assert.equal((await verify(b, keep.access_token)).status, 401, 'a password change revokes the other sessions')

  // Reuse: a refresh token two rotations old (no longer within the grace of a repeat) revokes the session.
  const first = await a.login('alice', 'another horse battery')
  const second = await a.api('POST', '/auth/refresh', { token: first.refresh_token })
  const third = await a.api('POST', '/auth/refresh', { token: second.body.refresh_token })
  assert.equal(third.status, 200)
  await revokedOnB(1, async () => ((await a.api('POST', '/auth/refresh', { token: first.refresh_token })).status === 401 ? 200 : 500))
  assert.equal((await verify(b, third.body.access_token)).status, 401, 'reuse detection revoked the session on B too')

  const admin = await a.register('root')
  const sqlClient = await connect(a.config.databasePath)
  t.after(() => sqlClient.end())
  await sqlClient.query('update users set admin = 1 where id = $1', [admin.user.id])
  const victim = await a.login('alice', 'another horse battery')
  await revokedOnB(1, async () => (await a.api('DELETE', `/admin/users/${alice.user.id}`, { token: admin.access_token })).status)
  assert.equal((await verify(b, victim.access_token)).status, 401, 'a deleted user is refused on B')
  assert.equal(eventsB.polls, polls, 'all of it without polling')
})

test('hand-written SQL revoking a session and changing the admin flag reaches the instance', { timeout: 60_000 }, async (t) => {
  const { url, b, eventsB } = await twoInstances(t)
  const bob = await b.register('bob')
  const polls = eventsB.polls
  const sqlClient = await connect(url)
  t.after(() => sqlClient.end())

  const promoted = eventsB.next('notified', (e) => e.channel === 'admins')
  await sqlClient.query('update users set admin = 1 where id = $1', [bob.user.id])
  await promoted
  assert.deepEqual(await verify(b, bob.access_token), { status: 200, admin: 'true' })

  const demoted = eventsB.next('notified', (e) => e.channel === 'admins')
  await sqlClient.query('update users set admin = 0 where id = $1', [bob.user.id])
  await demoted
  assert.deepEqual(await verify(b, bob.access_token), { status: 200, admin: 'false' })

  const revoked = eventsB.next('notified', (e) => e.channel === 'revocations')
  await sqlClient.query('update sessions set revoked_at = extract(epoch from now())::bigint where id = $1', [
    claimsOf(bob.access_token).sid,
  ])
  await revoked
  assert.equal((await verify(b, bob.access_token)).status, 401)
  assert.equal(eventsB.polls, polls)
})

test('keycard users delete on PostgreSQL notifies: the user is refused and no admin at once', { timeout: 90_000 }, async (t) => {
  const { url, a, b, eventsB } = await twoInstances(t)
  const carol = await a.register('carol')
  const sqlClient = await connect(url)
  t.after(() => sqlClient.end())
  const promoted = eventsB.next('notified', (e) => e.channel === 'admins')
  await sqlClient.query('update users set admin = 1 where id = $1', [carol.user.id])
  await promoted
  assert.deepEqual(await verify(b, carol.access_token), { status: 200, admin: 'true' })

  const polls = eventsB.polls
  const revoked = eventsB.next('notified', (e) => e.channel === 'revocations')
  const unadmin = eventsB.next('notified', (e) => e.channel === 'admins')
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'users', 'delete', 'carol', '--yes'], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: url, JWT_SECRET: TEST_SECRET },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  const [code] = await once(child, 'exit')
  assert.equal(code, 0, stderr)
  await Promise.all([revoked, unadmin])
  assert.equal((await verify(b, carol.access_token)).status, 401)
  assert.equal(eventsB.polls, polls, 'no poll: the CLI write notified')
})
