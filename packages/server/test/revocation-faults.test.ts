/**
 * PostgreSQL faults and the revocation view: the listener's connection terminated (it reconnects, and
 * resyncs what was revoked while it was away before it trusts its view again), and the whole server
 * killed (past REVOCATION_MAX_STALENESS every token-checked route, /auth/verify included, answers 503
 * with Retry-After, /healthz too; once the server is back the instance recovers by itself).
 */

import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import { startPostgres } from '@keycard/test-servers'
import { LISTENER_APPLICATION_NAME } from '../src/db/listener.ts'
import { claimsOf, postgresDatabase, startServer, type TestServer } from './helpers.ts'
import { connect, recordEvents } from './revocation-events.ts'

const HOUR = 3_600_000

const verify = async (s: TestServer, token: string) => (await s.api('GET', '/auth/verify', { token })).status

test('the listener connection terminated: it reconnects, resyncs what was revoked meanwhile, and confirms again', {
  timeout: 90_000,
}, async (t) => {
  const url = await postgresDatabase(t)
  const events = recordEvents()
  // A long bound: this test is about the resync, not about staleness.
  const s = await startServer(t, { DATABASE_URL: url, REVOCATION_MAX_STALENESS: '60' }, { revocationSyncMs: HOUR, deps: events.deps })
  const alice = await s.register('alice')
  const database = new URL(url).pathname.slice(1)
  const admin = await connect(url.replace(/\/[^/]*$/, '/postgres'))
  const sqlClient = await connect(url)
  t.after(async () => {
    await admin.query(`alter database "${database}" allow_connections true`).catch(() => undefined)
    await sqlClient.end()
    await admin.end()
  })

  // While no new connection to the database can be made (existing ones stay), the listener cannot come back.
  await admin.query(`alter database "${database}" allow_connections false`)
  const lost = events.next('listener-lost')
  const { rows } = await sqlClient.query(
    'select pg_terminate_backend(pid) as done from pg_stat_activity where application_name = $1 and datname = $2',
    [LISTENER_APPLICATION_NAME, database],
  )
  assert.deepEqual(
    rows.map((r) => r.done),
    [true],
    'one listener connection, terminated',
  )
  await lost

  // Revoked while nobody listens: no notification will ever reach the listener for it.
  await sqlClient.query('update sessions set revoked_at = extract(epoch from now())::bigint where id = $1', [
    claimsOf(alice.access_token).sid,
  ])
  const listening = events.next('listening')
  await admin.query(`alter database "${database}" allow_connections true`)
  await listening
  assert.equal(await verify(s, alice.access_token), 401, 'the resync read what was revoked while the listener was away')

  // And it is trusted again: a heartbeat confirms the view.
  await events.next('confirmed', (e) => e.via === 'heartbeat')
  const bob = await s.register('bob')
  const heard = events.next('notified', (e) => e.channel === 'revocations')
  await sqlClient.query('update sessions set revoked_at = extract(epoch from now())::bigint where id = $1', [
    claimsOf(bob.access_token).sid,
  ])
  await heard
  assert.equal(await verify(s, bob.access_token), 401, 'notifications flow on the new connection')
})

test('PostgreSQL killed: past the staleness bound token routes, /auth/verify and /healthz answer 503; restarted, the instance recovers', {
  timeout: 120_000,
}, async (t) => {
  const server = await startPostgres()
  after(() => server.stop())
  const url = await server.createDatabase()
  const events = recordEvents()
  const s = await startServer(
    t,
    { DATABASE_URL: url, REVOCATION_MAX_STALENESS: '2', DATABASE_CONNECT_TIMEOUT_MS: '500', DATABASE_STATEMENT_TIMEOUT_MS: '1000' },
    { deps: events.deps },
  )
  const alice = await s.register('alice')
  assert.equal(await verify(s, alice.access_token), 200)

  const stale = events.next('stale')
  await server.kill()
  await stale
  const checks: [string, string, string][] = [
    ['GET', '/auth/verify', alice.access_token],
    ['GET', '/auth/me', alice.access_token],
    ['POST', '/auth/refresh', alice.refresh_token],
    ['POST', '/auth/logout', alice.access_token],
    ['POST', '/auth/password', alice.access_token],
    ['GET', '/auth/tokens', 'not even a token'],
  ]
  for (const [method, path, token] of checks) {
    const res = await s.api(method, path, { token })
    assert.equal(res.status, 503, `${method} ${path}`)
    assert.equal(res.headers.get('retry-after'), '1', `${method} ${path}`)
    assert.equal(res.body.code, 'REVOCATION_VIEW_STALE', `${method} ${path}`)
    assert.match(res.body.msg, /revocation list/)
  }
  const health = await s.api('GET', '/healthz')
  assert.equal(health.status, 503)
  assert.equal(health.body.code, 'REVOCATION_VIEW_STALE')
  assert.equal(health.headers.get('retry-after'), '1')
  assert.ok(
    s.logLines().some((l) => l.level === 50 && String(l.msg).startsWith('revocation view stale')),
    'the log says why',
  )

  const recovered = events.next('confirmed', (e) => e.wasStale)
  await server.start()
  await recovered
  assert.equal(await verify(s, alice.access_token), 200, 'served again, without a restart of the app')
  // The pool may still hold a connection that died with the server: the first query on it fails (503), the next one works.
  let healthy = await s.api('GET', '/healthz')
  for (let i = 0; i < 5 && healthy.status !== 200; i++) healthy = await s.api('GET', '/healthz')
  assert.equal(healthy.status, 200)
  assert.ok(s.logLines().some((l) => l.msg === 'revocation view confirmed again: token-checked requests are served again'))
  assert.ok(!s.logText().includes(server.password), 'the log never holds the database password')
})
