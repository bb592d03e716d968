/**
 * Races between server processes on one PostgreSQL database, over real HTTP: one refresh token presented
 * to two instances at the same instant has exactly one winner (reuse detection and the grace interval
 * behave as on one instance), and one username or email registered on several instances at once is
 * taken by exactly one of them. Never a 500.
 */

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { claimsOf, PASSWORD, postgresDatabase, type Reply } from './helpers.ts'
import { type Instance, pollUntil, startInstances } from './instances.ts'

const ROUNDS = 25
const REVOKED = { msg: 'Token has been revoked', code: 'KEYCARD_TOKEN_REVOKED' }

/** Sends `send(instance)` to every instance at once; the replies in the instances' order. */
function atOnce(instances: Instance[], send: (i: Instance) => Promise<Reply>): Promise<Reply[]> {
  return Promise.all(instances.map(send))
}

function noServerErrors(replies: Reply[], what: string): void {
  for (const r of replies) assert.ok(r.status < 500, `${what}: ${r.status} ${r.text}`)
}

test('REFRESH_REUSE_INTERVAL=0: one refresh token on A and B at once has one winner, and the loser revokes the session', {
  timeout: 180_000,
}, async (t) => {
  const [a, b] = (await startInstances(t, { databaseUrl: await postgresDatabase(t), env: { REFRESH_REUSE_INTERVAL: '0' } })) as [
    Instance,
    Instance,
  ]
  const reg = await a.api('POST', '/auth/register', { body: { username: 'alice', password: PASSWORD } })
  assert.equal(reg.status, 201, reg.text)
  const wins = { A: 0, B: 0 }
  for (let round = 0; round < ROUNDS; round++) {
    const login = await (round % 2 ? b : a).api('POST', '/auth/login', { body: { username: 'alice', password: PASSWORD } })
    assert.equal(login.status, 200, login.text)
    const replies = await atOnce([a, b], (i) => i.api('POST', '/auth/refresh', { token: login.body.refresh_token }))
    noServerErrors(replies, `round ${round}`)
    assert.deepEqual(replies.map((r) => r.status).sort(), [200, 401], `round ${round}: ${replies.map((r) => r.text)}`)
    const winner = replies[0]!.status === 200 ? 0 : 1
    const [won, lost] = [replies[winner]!, replies[1 - winner]!]
    wins[winner === 0 ? 'A' : 'B']++
    assert.deepEqual(lost.body, REVOKED)
    assert.equal(claimsOf(won.body.refresh_token).sid, claimsOf(login.body.refresh_token).sid)
    // Reuse revoked the session in the database: the winner's new refresh token is refused everywhere,
    // and the loser's instance refuses the winner's access token at once.
    for (const i of [a, b]) {
      const again = await i.api('POST', '/auth/refresh', { token: won.body.refresh_token })
      assert.equal(again.status, 401, `round ${round} on ${i.name}: ${again.text}`)
      assert.deepEqual(again.body, REVOKED)
    }
    const loser = [a, b][1 - winner]!
    const verify = await loser.api('GET', '/auth/verify', { token: won.body.access_token })
    assert.equal(verify.status, 401, `round ${round}: ${verify.text}`)
    // The winner's instance learns of the revocation from the database (NOTIFY), not from its own write.
    const learnt = await pollUntil(
      () => [a, b][winner]!.api('GET', '/auth/verify', { token: won.body.access_token }),
      (r) => r.status !== 200,
    )
    assert.equal(learnt.result.status, 401, `round ${round}: the winner's instance refuses it too: ${learnt.result.text}`)
  }
  t.diagnostic(`winners: A ${wins.A}, B ${wins.B}`)
})

test('the default grace interval: one refresh token on A and B at once gives both the same successor', { timeout: 180_000 }, async (t) => {
  const [a, b] = (await startInstances(t, { databaseUrl: await postgresDatabase(t) })) as [Instance, Instance]
  const reg = await b.api('POST', '/auth/register', { body: { username: 'bob', password: PASSWORD } })
  assert.equal(reg.status, 201, reg.text)
  let refresh: string = reg.body.refresh_token
  for (let round = 0; round < ROUNDS; round++) {
    const replies = await atOnce([a, b], (i) => i.api('POST', '/auth/refresh', { token: refresh }))
    noServerErrors(replies, `round ${round}`)
    assert.deepEqual(
      replies.map((r) => r.status),
      [200, 200],
      `round ${round}: ${replies.map((r) => r.text)}`,
    )
    const [ca, cb] = replies.map((r) => claimsOf(r.body.refresh_token))
    assert.equal(ca!.jti, cb!.jti, `round ${round}: one successor`)
    assert.notEqual(ca!.jti, claimsOf(refresh).jti)
    assert.equal(ca!.sid, cb!.sid)
    for (const [i, r] of [
      [a, replies[0]!],
      [b, replies[1]!],
    ] as const) {
      const verify = await (i === a ? b : a).api('GET', '/auth/verify', { token: r.body.access_token })
      assert.equal(verify.status, 200, `round ${round}: ${i.name}'s access token on the other instance: ${verify.text}`)
    }
    // Either copy of the successor rotates the session next; the next round uses A's.
    refresh = replies[round % 2]!.body.refresh_token
  }
})

test('one username, and one email in different cases, registered on three instances at once: one 201, the rest 409', {
  timeout: 180_000,
}, async (t) => {
  // 150 registrations and 75 failed logins from one address: past the default per-address limits.
  const env = { THROTTLE_REGISTER: 'off', THROTTLE_ADDRESS: 'off' }
  const instances = await startInstances(t, { count: 3, databaseUrl: await postgresDatabase(t), env })
  const firsts: Record<string, number> = {}
  for (let round = 0; round < ROUNDS; round++) {
    for (const field of ['username', 'email'] as const) {
      // Each instance sends its own password (and, for the email, its own username and case of the email).
      const bodies = instances.map((i) =>
        field === 'username'
          ? { username: `user${round}`, password: `${PASSWORD} ${i.name}` }
          : {
              username: `mail${round}${i.name}`,
              email: `${i.name === 'A' ? 'Race' : i.name === 'B' ? 'RACE' : 'race'}${round}@Example.com`,
              password: PASSWORD,
            },
      )
      const replies = await Promise.all(instances.map((i, n) => i.api('POST', '/auth/register', { body: bodies[n] })))
      noServerErrors(replies, `${field} round ${round}`)
      const statuses = replies.map((r) => r.status)
      assert.deepEqual([...statuses].sort(), [201, 409, 409], `${field} round ${round}: ${replies.map((r) => r.text)}`)
      const message = field === 'username' ? 'Username is already taken' : 'Email is already registered'
      for (const r of replies) if (r.status === 409) assert.deepEqual(r.body, { msg: message, code: 'USER_EXISTS', field })
      const winner = statuses.indexOf(201)
      firsts[instances[winner]!.name] = (firsts[instances[winner]!.name] ?? 0) + 1
      // What was acknowledged is what is stored: only the winner's password logs in, on every instance.
      for (const i of instances) {
        const login = (n: number) =>
          i.api('POST', '/auth/login', { body: { username: bodies[winner]!.username, password: bodies[n]!.password } })
        assert.equal((await login(winner)).status, 200, `${field} round ${round} on ${i.name}`)
        const other = (winner + 1) % 3
        const loser = await i.api('POST', '/auth/login', { body: { username: bodies[other]!.username, password: bodies[other]!.password } })
        assert.equal(loser.status, 401, `${field} round ${round}: a refused registration left no account`)
      }
    }
  }
  t.diagnostic(`first to register: ${JSON.stringify(firsts)}`)
})
