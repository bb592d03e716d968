/**
 * Revocations between server processes on one PostgreSQL database, over real HTTP: a logout, a
 * logout-all, a password change made on one instance, and a user deleted by the CLI (a fourth process),
 * are enforced by every instance's `/auth/verify` (which checks its in-memory state, no database round
 * trip). The poll fallback is set to an hour, so only LISTEN/NOTIFY can carry them in time; the test
 * polls each instance until it refuses the token (bounded) and reports the latencies it saw, without
 * asserting on them (wall-clock figures belong to the bench).
 */

import assert from 'node:assert/strict'
import { performance } from 'node:perf_hooks'
import { test } from 'node:test'
import { LISTENER_APPLICATION_NAME } from '../src/db/listener.ts'
import { PASSWORD, postgresDatabase } from './helpers.ts'
import { type Instance, keycardCli, pollUntil, startInstances } from './instances.ts'
import { connect } from './revocation-events.ts'

const REVOKED = { msg: 'Token has been revoked', code: 'KEYCARD_TOKEN_REVOKED' }
/** With a 5 ms gap, at least 10 s of polling before giving up. */
const POLL = { tries: 2000, gapMs: 5 }

/** Milliseconds each instance took to refuse `token` after `since`, by instance name; fails the test if one never does. */
async function refusedEverywhere(instances: Instance[], token: string, since: number, what: string): Promise<Record<string, number>> {
  const latencies: Record<string, number> = {}
  await Promise.all(
    instances.map(async (i) => {
      const { result } = await pollUntil(
        () => i.api('GET', '/auth/verify', { token }),
        (r) => r.status !== 200,
        POLL,
      )
      latencies[i.name] = Math.round(performance.now() - since)
      assert.equal(result.status, 401, `${what} on ${i.name}: ${result.text}\n${i.output()}`)
      assert.deepEqual(result.body, REVOKED)
    }),
  )
  return latencies
}

async function acceptedEverywhere(instances: Instance[], token: string, what: string): Promise<void> {
  for (const i of instances) {
    const res = await i.api('GET', '/auth/verify', { token })
    assert.equal(res.status, 200, `${what} on ${i.name}: ${res.text}`)
  }
}

async function login(i: Instance, username: string, password = PASSWORD): Promise<{ access_token: string; refresh_token: string }> {
  const res = await i.api('POST', '/auth/login', { body: { username, password } })
  assert.equal(res.status, 200, `login ${username} on ${i.name}: ${res.text}`)
  return res.body
}

test('a revocation made on one instance, or by the CLI, is enforced by every instance with only LISTEN/NOTIFY to carry it', {
  timeout: 240_000,
}, async (t) => {
  const databaseUrl = await postgresDatabase(t)
  const instances = await startInstances(t, { count: 3, databaseUrl, env: { REVOCATION_POLL_INTERVAL: '3600' } })
  const [a, b, c] = instances as [Instance, Instance, Instance]
  // The same three listener connections before and after: none reconnected (a reconnect resyncs by a
  // poll, and so does a listener that is not healthy), so only NOTIFY carried the revocations.
  const sql = await connect(databaseUrl)
  t.after(() => sql.end())
  const listeners = async () => {
    const { rows } = await sql.query<{ pid: number }>(
      'select pid from pg_stat_activity where application_name = $1 and datname = current_database() order by pid',
      [LISTENER_APPLICATION_NAME],
    )
    return rows.map((r) => r.pid)
  }
  const before = (await pollUntil(listeners, (pids) => pids.length === 3, POLL)).result
  assert.equal(before.length, 3, 'one listener connection per instance')
  const seen: number[] = []
  const note = (what: string, latencies: Record<string, number>) => {
    seen.push(...Object.values(latencies))
    t.diagnostic(`${what}: refused after ${JSON.stringify(latencies)} ms`)
  }
  /** Every session's access token refused by every instance, all watched at once. */
  const everySession = (sessions: { access_token: string }[], since: number, what: string) =>
    Promise.all(
      sessions.map(async (s, n) => note(`${what}, session ${n}`, await refusedEverywhere(instances, s.access_token, since, what))),
    )

  await t.test('logout on A: refused by B and C (and A)', async () => {
    for (let round = 0; round < 5; round++) {
      const reg = await a.api('POST', '/auth/register', { body: { username: `logout${round}`, password: PASSWORD } })
      assert.equal(reg.status, 201, reg.text)
      const other = await login(b, `logout${round}`)
      await acceptedEverywhere(instances, reg.body.access_token, 'before the logout')
      const res = await a.api('POST', '/auth/logout', { token: reg.body.access_token })
      assert.equal(res.status, 200, res.text)
      note(`logout round ${round}`, await refusedEverywhere(instances, reg.body.access_token, performance.now(), 'logout'))
      await acceptedEverywhere(instances, other.access_token, "the same user's other session")
    }
  })

  await t.test('logout-all on B: every session of the user refused by A, B and C', async () => {
    const reg = await b.api('POST', '/auth/register', { body: { username: 'everywhere', password: PASSWORD } })
    assert.equal(reg.status, 201, reg.text)
    const sessions = [reg.body, await login(a, 'everywhere'), await login(c, 'everywhere')]
    const bystander = await c.api('POST', '/auth/register', { body: { username: 'bystander', password: PASSWORD } })
    for (const s of sessions) await acceptedEverywhere(instances, s.access_token, 'before logout-all')
    const res = await b.api('POST', '/auth/logout-all', { token: reg.body.access_token })
    assert.equal(res.status, 200, res.text)
    assert.equal(res.body.revoked_sessions, 3)
    const since = performance.now()
    await everySession(sessions, since, 'logout-all')
    await acceptedEverywhere(instances, bystander.body.access_token, 'another user')
  })

  await t.test("a password change on C: the user's other sessions refused by A, B and C; the changing one kept", async () => {
    const reg = await c.api('POST', '/auth/register', { body: { username: 'changer', password: PASSWORD } })
    assert.equal(reg.status, 201, reg.text)
    const others = [await login(a, 'changer'), await login(b, 'changer')]
    for (const s of others) await acceptedEverywhere(instances, s.access_token, 'before the change')
    const res = await c.api('POST', '/auth/password', { token: reg.body.access_token, body: { new_password: `${PASSWORD} changed` } })
    assert.equal(res.status, 200, res.text)
    assert.equal(res.body.revoked_sessions, 2)
    const since = performance.now()
    await everySession(others, since, 'password change')
    await acceptedEverywhere(instances, reg.body.access_token, 'the session that changed it')
    for (const i of instances) {
      const old = await i.api('POST', '/auth/login', { body: { username: 'changer', password: PASSWORD } })
      assert.equal(old.status, 401, `the old password on ${i.name}`)
    }
  })

  await t.test('keycard users delete (a fourth process): every session of the user refused by A, B and C', async () => {
    const reg = await a.api('POST', '/auth/register', { body: { username: 'doomed', password: PASSWORD } })
    assert.equal(reg.status, 201, reg.text)
    const sessions = [reg.body, await login(b, 'doomed'), await login(c, 'doomed')]
    for (const s of sessions) await acceptedEverywhere(instances, s.access_token, 'before the delete')
    const cli = await keycardCli(t, databaseUrl, ['users', 'delete', 'DOOMED', '--yes'])
    assert.equal(cli.code, 0, cli.stderr)
    assert.match(cli.stdout, /^Deleted user doomed \(id \d+\); revoked 3 active sessions\.\n$/)
    const since = performance.now()
    await everySession(sessions, since, 'CLI delete')
    for (const i of instances) {
      const gone = await i.api('POST', '/auth/login', { body: { username: 'doomed', password: PASSWORD } })
      assert.equal(gone.status, 401, `login as the deleted user on ${i.name}`)
    }
    // An id past PostgreSQL's 32-bit serial names no user: said so, not the database's range error.
    const big = await keycardCli(t, databaseUrl, ['users', 'delete', '2147483648', '--yes'])
    assert.deepEqual([big.code, big.stderr], [1, 'keycard users delete: no user "2147483648"\n'])
  })

  assert.deepEqual(await listeners(), before, 'no listener reconnected during the test')
  const sorted = [...seen].sort((x, y) => x - y)
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]
  t.diagnostic(`propagation latency over ${sorted.length} checks: p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${sorted.at(-1)} ms`)
})
