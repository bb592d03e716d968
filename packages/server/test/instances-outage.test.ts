/**
 * The database goes away under several server processes and comes back, over real HTTP: with PostgreSQL
 * killed every instance answers 503 `{msg}` with Retry-After (login, register, refresh, /healthz, and
 * /auth/verify once REVOCATION_MAX_STALENESS has passed), nothing is acknowledged that was not
 * committed; restarted, every instance recovers by itself, a logout made before the kill is still
 * enforced, and every write acknowledged before the kill is still there.
 */

import assert from 'node:assert/strict'
import { performance } from 'node:perf_hooks'
import { test } from 'node:test'
import { startPostgres } from '@keycard/test-servers'
import { PASSWORD, type Reply } from './helpers.ts'
import { type Instance, pollUntil, startInstances } from './instances.ts'

/** With a 10 ms gap, at least 20 s of polling before giving up. */
const POLL = { tries: 2000, gapMs: 10 }
const NEW_PASSWORD = `${PASSWORD} changed`

function unavailable(res: Reply, what: string): void {
  assert.equal(res.status, 503, `${what}: ${res.status} ${res.text}`)
  assert.equal(typeof res.body?.msg, 'string', `${what}: a message`)
  assert.match(res.headers.get('retry-after') ?? '', /^\d+$/, `${what}: Retry-After`)
}

test('PostgreSQL killed under two instances: 503 everywhere; restarted: both recover without a restart and lost nothing', {
  timeout: 240_000,
}, async (t) => {
  const pg = await startPostgres()
  const databaseUrl = await pg.createDatabase()
  const instances = await startInstances(t, {
    databaseUrl,
    env: { REVOCATION_MAX_STALENESS: '2', DATABASE_CONNECT_TIMEOUT_MS: '1000', DATABASE_STATEMENT_TIMEOUT_MS: '2000' },
  })
  // After the instances' own hooks, so they stop before the server does.
  t.after(() => pg.stop())
  const [a, b] = instances as [Instance, Instance]
  const post = (i: Instance, path: string, body: unknown, token?: string) => i.api('POST', path, { body, ...(token ? { token } : {}) })

  // Acknowledged before the kill: two registrations, a logout (seen by the other instance), a refresh
  // rotation and a password change.
  const alice = await post(a, '/auth/register', { username: 'alice', password: PASSWORD })
  const bob = await post(b, '/auth/register', { username: 'bob', password: PASSWORD })
  assert.deepEqual([alice.status, bob.status], [201, 201])
  const aliceOnB = await post(b, '/auth/login', { username: 'alice', password: PASSWORD })
  assert.equal((await post(b, '/auth/logout', {}, aliceOnB.body.access_token)).status, 200)
  const seen = await pollUntil(
    () => a.api('GET', '/auth/verify', { token: aliceOnB.body.access_token }),
    (r) => r.status === 401,
    POLL,
  )
  assert.equal(seen.result.status, 401, 'A learnt of the logout on B')
  const rotated = await post(a, '/auth/refresh', {}, bob.body.refresh_token)
  assert.equal(rotated.status, 200, rotated.text)
  const changed = await post(b, '/auth/password', { new_password: NEW_PASSWORD }, bob.body.access_token)
  assert.equal(changed.status, 200, changed.text)

  await pg.kill()
  const killedAt = performance.now()
  const stale: Record<string, number> = {}

  await Promise.all(
    instances.map(async (i) => {
      const on = (what: string) => `${what} on ${i.name}, PostgreSQL down`
      unavailable(await post(i, '/auth/login', { username: 'alice', password: PASSWORD }), on('login'))
      unavailable(await post(i, '/auth/register', { username: `during${i.name}`, password: PASSWORD }), on('register'))
      unavailable(await post(i, '/auth/refresh', {}, rotated.body.refresh_token), on('refresh'))
      const health = await pollUntil(
        () => i.api('GET', '/healthz'),
        (r) => r.status !== 200,
        POLL,
      )
      unavailable(health.result, on('/healthz'))
      // Until the staleness bound the in-memory view still answers; past it, nothing is vouched for.
      const verify = await pollUntil(
        () => i.api('GET', '/auth/verify', { token: alice.body.access_token }),
        (r) => r.status !== 200,
        POLL,
      )
      stale[i.name] = Math.round(performance.now() - killedAt)
      unavailable(verify.result, on('/auth/verify of a valid token'))
      assert.equal(verify.result.body.code, 'REVOCATION_VIEW_STALE')
      unavailable(await i.api('GET', '/auth/verify', { token: aliceOnB.body.access_token }), on('/auth/verify of a revoked token'))
      unavailable(await i.api('GET', '/auth/me', { token: alice.body.access_token }), on('/auth/me'))
    }),
  )

  t.diagnostic(`/auth/verify answered 503 after the kill in ${JSON.stringify(stale)} ms (REVOCATION_MAX_STALENESS=2)`)
  await pg.start()
  const startedAt = performance.now()
  const back: Record<string, number> = {}

  await Promise.all(
    instances.map(async (i) => {
      const on = (what: string) => `${what} on ${i.name}, PostgreSQL back`
      const health = await pollUntil(
        () => i.api('GET', '/healthz'),
        (r) => r.status === 200,
        POLL,
      )
      assert.equal(health.result.status, 200, `${on('/healthz')}: ${health.result.text}\n${i.output()}`)
      const verify = await pollUntil(
        () => i.api('GET', '/auth/verify', { token: alice.body.access_token }),
        (r) => r.status === 200,
        POLL,
      )
      assert.equal(verify.result.status, 200, on('/auth/verify of a valid token'))
      back[i.name] = Math.round(performance.now() - startedAt)
      const revoked = await i.api('GET', '/auth/verify', { token: aliceOnB.body.access_token })
      assert.equal(revoked.status, 401, on('the logout made before the kill'))
      assert.equal((await post(i, '/auth/login', { username: 'alice', password: PASSWORD })).status, 200, on('login'))
      assert.equal((await post(i, '/auth/login', { username: 'bob', password: NEW_PASSWORD })).status, 200, on('the changed password'))
      assert.equal((await post(i, '/auth/login', { username: 'bob', password: PASSWORD })).status, 401, on('the old password'))
      // Refused during the outage, so never created: the name is free.
      const again = await post(i, '/auth/register', { username: `during${i.name}`, password: PASSWORD })
      assert.equal(again.status, 201, `${on('registering a name refused during the outage')}: ${again.text}`)
    }),
  )
  t.diagnostic(`healthy and verifying again ${JSON.stringify(back)} ms after the restart`)
  // The rotation acknowledged before the kill holds (and the refresh refused during the outage did not
  // spend it): its refresh token is the session's live one. The password change kept this session, the one it was made from.
  const refreshAgain = await post(b, '/auth/refresh', {}, rotated.body.refresh_token)
  assert.equal(refreshAgain.status, 200, refreshAgain.text)

  // Notifications flow again: a logout on A after the recovery is refused by B.
  const fresh = await post(a, '/auth/login', { username: 'alice', password: PASSWORD })
  assert.equal((await post(a, '/auth/logout', {}, fresh.body.access_token)).status, 200)
  const after = await pollUntil(
    () => b.api('GET', '/auth/verify', { token: fresh.body.access_token }),
    (r) => r.status === 401,
    POLL,
  )
  assert.equal(after.result.status, 401, 'B learns of a logout made after the recovery')
  for (const i of instances) assert.ok(!i.output().includes(pg.password), `${i.name}'s output never holds the database password`)
})
