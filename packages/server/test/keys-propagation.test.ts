/**
 * A running server follows what `keycard keys rotate | retire` (the CLI, another process) does to the
 * keyring: it publishes the next key, then signs with it once due; a retired key's tokens are refused
 * at once (within the poll on SQLite, within the notification on PostgreSQL), cached verifications
 * included. Every wait is on the server's answers (pollUntil), never on the clock.
 */

import assert from 'node:assert/strict'
import { test, type TestContext } from 'node:test'
import { decodeProtectedHeader, type JSONWebKeySet } from 'jose'
import type { KeySyncEvent } from '../src/app.ts'
import { type Dialect, forEachDialect, PASSWORD, type Reply, startServer, type TestServer } from './helpers.ts'
import { keycardCli, pollUntil } from './instances.ts'
import { keyringEnv } from './keyring-env.ts'

/** JWKS_MAX_AGE=1: a rotated key is published 2 s (two cache lifetimes) before it signs. */
const ENV = keyringEnv('ES256', { JWKS_MAX_AGE: '1' })
/** Bounds of the waits: about 10 s, far above the 2 s lead and the 1 s poll. */
const WAIT = { tries: 200, gapMs: 50 }

async function start(t: TestContext, dialect: Dialect): Promise<{ s: TestServer; events: KeySyncEvent[] }> {
  const events: KeySyncEvent[] = []
  const s = await startServer(t, ENV, { dialect, deps: { onKeyEvent: (e) => void events.push(e) } })
  await s.register('alice')
  return { s, events }
}

const kids = async (s: TestServer) => ((await s.api('GET', '/.well-known/jwks.json')).body as JSONWebKeySet).keys.map((k) => k.kid!)
const kidOf = (token: string) => decodeProtectedHeader(token).kid

async function cli(t: TestContext, s: TestServer, args: string[]): Promise<string> {
  const res = await keycardCli(t, s.dbPath, ['keys', ...args], ENV)
  assert.equal(res.code, 0, `keycard keys ${args.join(' ')}: ${res.stdout}${res.stderr}`)
  return res.stdout
}

forEachDialect((dialect) => {
  test('keys rotate: the server publishes the next key, then signs with it; the old one still verifies', async (t) => {
    const { s, events } = await start(t, dialect)
    const before = await s.login('alice')
    const oldKid = kidOf(before.access_token)!
    assert.deepEqual(await kids(s), [oldKid])

    await cli(t, s, ['rotate'])
    const published = await pollUntil(
      () => kids(s),
      (k) => k.length === 2,
      WAIT,
    )
    assert.equal(published.result.length, 2, `the next key is published: ${published.result}`)
    const newKid = published.result.find((k) => k !== oldKid)!
    assert.ok(newKid)

    const signing = await pollUntil(
      () => s.login('alice'),
      (tokens) => kidOf(tokens.access_token) === newKid,
      WAIT,
    )
    assert.equal(kidOf(signing.result.access_token), newKid, 'new tokens are signed with the rotated key')
    assert.equal(kidOf(signing.result.refresh_token), newKid)
    // Nobody else promoted it: the CLI only published it, and this server's scheduler did the rest.
    assert.ok(
      events.some((e) => e.type === 'keys-advanced'),
      'the scheduled advance promoted the next key',
    )
    assert.equal((await s.api('GET', '/auth/me', { token: signing.result.access_token })).status, 200)
    // The previous key verifies until its tokens have expired, and stays in the JWKS.
    assert.equal((await s.api('GET', '/auth/me', { token: before.access_token })).status, 200)
    assert.equal((await s.api('GET', '/auth/verify', { token: before.access_token })).status, 200)
    assert.deepEqual((await kids(s)).sort(), [oldKid, newKid].sort())
  })

  test('keys retire: tokens signed with the retired key are refused at once, cached verifications included', async (t) => {
    const { s, events } = await start(t, dialect)
    const old = await s.login('alice')
    const oldKid = kidOf(old.access_token)!
    await cli(t, s, ['rotate'])
    const rotated = await pollUntil(
      () => s.login('alice'),
      (tokens) => kidOf(tokens.access_token) !== oldKid,
      WAIT,
    )
    const fresh = rotated.result
    assert.notEqual(kidOf(fresh.access_token), oldKid, 'the server signs with the rotated key')
    // Verified (and cached by the library) right before the retirement.
    assert.equal((await s.api('GET', '/auth/verify', { token: old.access_token })).status, 200)
    assert.equal((await s.api('GET', '/auth/me', { token: old.access_token })).status, 200)

    const out = await cli(t, s, ['retire', oldKid])
    assert.ok(out.includes(oldKid), `the CLI names the retired kid: ${out}`)
    const refused = await pollUntil(
      () => s.api('GET', '/auth/verify', { token: old.access_token }),
      (r) => r.status === 401,
      WAIT,
    )
    assert.equal(refused.result.status, 401, `/auth/verify refuses the retired key's token: ${refused.result.text}`)
    assert.equal((await s.api('GET', '/auth/me', { token: old.access_token })).status, 422)
    assert.equal((await s.api('POST', '/auth/refresh', { token: old.refresh_token })).status, 422)
    const removed = events.find((e) => e.type === 'key-removed')
    assert.deepEqual(removed, { type: 'key-removed', kid: oldKid, via: dialect === 'postgres' ? 'notification' : 'poll' })
    assert.ok(!(await kids(s)).includes(oldKid), 'the JWKS drops the retired key')
    // The current key is untouched.
    assert.equal((await s.api('GET', '/auth/verify', { token: fresh.access_token })).status, 200)
  })

  test('keys retire of the current key: its tokens are refused and the server signs with a new one', async (t) => {
    const { s } = await start(t, dialect)
    const old = await s.login('alice')
    const oldKid = kidOf(old.access_token)!
    await cli(t, s, ['retire', oldKid])
    const refused = await pollUntil(
      () => s.api('GET', '/auth/verify', { token: old.access_token }),
      (r) => r.status === 401,
      WAIT,
    )
    assert.equal(refused.result.status, 401)
    const answers: Reply[] = []
    const next = await pollUntil(
      async () => {
        const r = await s.api('POST', '/auth/login', { body: { username: 'alice', password: PASSWORD } })
        answers.push(r)
        return r
      },
      (r) => r.status === 200 && kidOf(r.body.access_token) !== oldKid,
      WAIT,
    )
    assert.equal(next.result.status, 200, next.result.text)
    // While the new key loads a login may be told to retry (503 with Retry-After), never a 500.
    for (const r of answers.filter((a) => a.status !== 200)) {
      assert.equal(r.status, 503, r.text)
      assert.equal(r.body.code, 'SIGNING_KEY_UNAVAILABLE')
      assert.equal(r.headers.get('retry-after'), '1')
    }
    const newKid = kidOf(next.result.body.access_token)!
    assert.deepEqual(await kids(s), [newKid])
    assert.equal((await s.api('GET', '/auth/verify', { token: next.result.body.access_token })).status, 200)
  })
})
