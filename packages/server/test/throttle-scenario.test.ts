/**
 * The attack, on both databases with the default limits: a password-guessing attack on one
 * account from 50 addresses (TRUST_PROXY=true, X-Forwarded-For), 200 guesses, 8 at a time, while the
 * account's owner, who signed in before from a browser (keycard_device cookie) and from an API client
 * (device_token), signs in again in the middle of it and after it. The account takes at most
 * THROTTLE_ACCOUNT + THROTTLE_BURST failures (ASVS's 100 an hour, over two windows), the attacker keeps
 * getting 429 (even with the right password), and the owner is never locked out.
 */

import assert from 'node:assert/strict'
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { test } from 'node:test'
import { ARGON2_CHANNEL } from '../src/passwords.ts'
import { forEachDialect, openBeside, PASSWORD, type Reply, startServer } from './helpers.ts'

const ATTEMPTS = 200
const ADDRESSES = 50
const PARALLEL = 8
/** The defaults: 40 failures per account per hour, 10 more in flight. */
const ACCOUNT_LIMIT = 40
const BURST = 10
const OWNER_ADDRESS = '198.51.100.7'

forEachDialect((dialect) => {
  test('a guessing attack from 50 addresses is throttled while the owner, holding device tokens, signs in', async (t) => {
    const s = await startServer(t, { TRUST_PROXY: 'true' }, { dialect })
    await s.register('victim', { email: 'victim@example.com' })
    const from = (address: string, headers: Record<string, string> = {}) => ({ 'x-forwarded-for': address, ...headers })

    // Before the attack the owner signed in from an API client and from a browser.
    const api = await s.api('POST', '/auth/login', { body: { username: 'victim', password: PASSWORD }, headers: from(OWNER_ADDRESS) })
    assert.equal(api.status, 200, api.text)
    const deviceToken = api.body.device_token as string
    const browser = await s.api('POST', '/auth/login', {
      body: { username: 'victim@example.com', password: PASSWORD },
      headers: from(OWNER_ADDRESS, { 'x-token-mode': 'cookie' }),
    })
    assert.equal(browser.status, 200, browser.text)
    const deviceCookie = browser.headers
      .getSetCookie()
      .find((line) => line.startsWith('keycard_device='))!
      .split(';')[0]!
    assert.match(deviceCookie, /^keycard_device=[\w-]{43}$/)

    const ownerSignsIn = async (when: string) => {
      const header = await s.api('POST', '/auth/login', {
        body: { username: 'victim', password: PASSWORD, device_token: deviceToken },
        headers: from(OWNER_ADDRESS),
      })
      assert.equal(header.status, 200, `${when}, header mode: ${header.text}`)
      assert.equal(typeof header.body.access_token, 'string')
      const cookie = await s.api('POST', '/auth/login', {
        body: { username: 'victim', password: PASSWORD },
        headers: from(OWNER_ADDRESS, { 'x-token-mode': 'cookie', cookie: deviceCookie }),
      })
      assert.equal(cookie.status, 200, `${when}, cookie mode: ${cookie.text}`)
      assert.ok(
        cookie.headers.getSetCookie().some((l) => l.startsWith('access_token_cookie=')),
        when,
      )
    }

    let verifications = 0
    const count = () => void verifications++
    subscribe(ARGON2_CHANNEL, count)
    t.after(() => unsubscribe(ARGON2_CHANNEL, count))

    // The attack: guesses spread over 50 addresses (4 each: under the per-address and pair limits).
    const answers: Reply[] = new Array(ATTEMPTS)
    let next = 0
    let ownerChecked = false
    const worker = async () => {
      while (next < ATTEMPTS) {
        const i = next++
        answers[i] = await s.api('POST', '/auth/login', {
          body: { username: i % 2 ? 'victim' : 'VICTIM@example.com', password: `guess number ${i}` },
          headers: from(`203.0.113.${i % ADDRESSES}`),
        })
        // Halfway through, with the account under attack, its owner signs in.
        if (i === ATTEMPTS / 2 && !ownerChecked) {
          ownerChecked = true
          await ownerSignsIn('during the attack')
        }
      }
    }
    await Promise.all(Array.from({ length: PARALLEL }, worker))
    assert.ok(ownerChecked)

    const statuses = answers.map((r) => r.status)
    assert.ok(
      statuses.every((x) => x === 401 || x === 429),
      `only 401 and 429: ${[...new Set(statuses)].join()}`,
    )
    const failures = statuses.filter((x) => x === 401).length
    assert.ok(failures >= ACCOUNT_LIMIT && failures <= ACCOUNT_LIMIT + BURST, `${failures} guesses were checked`)
    // Once throttled, it stays throttled: the last guesses (past limit + burst + those in flight) are all 429.
    assert.deepEqual(new Set(statuses.slice(ACCOUNT_LIMIT + BURST + PARALLEL)), new Set([429]))
    for (const r of answers.filter((a) => a.status === 429)) {
      assert.deepEqual(r.body, { msg: 'Too many failed sign-in attempts; try again later', code: 'TOO_MANY_ATTEMPTS' })
      const retry = Number(r.headers.get('retry-after'))
      assert.ok(retry >= 1 && retry <= 3600, String(retry))
    }
    // The owner's two sign-ins in the middle cost two verifications; every refusal none.
    assert.equal(verifications, failures + 2)

    // The attacker keeps getting 429, from a new address and with the right password too.
    const lucky = await s.api('POST', '/auth/login', { body: { username: 'victim', password: PASSWORD }, headers: from('192.0.2.200') })
    assert.equal(lucky.status, 429)
    assert.equal(lucky.body.code, 'TOO_MANY_ATTEMPTS')
    // A new device of the owner is refused like any stranger (the price of no lockout for known devices).
    const newDevice = await s.api('POST', '/auth/login', { body: { username: 'victim', password: PASSWORD }, headers: from(OWNER_ADDRESS) })
    assert.equal(newDevice.status, 429)
    // The owner's known devices still sign in after the attack.
    await ownerSignsIn('after the attack')

    // One throttle.tripped event for the account, whatever the number of refusals.
    const db = openBeside(t, s)
    const tripped = await db.selectFrom('audit_events').select(['user_id', 'detail']).where('type', '=', 'throttle.tripped').execute()
    assert.deepEqual(
      tripped.map((e) => [e.user_id, JSON.parse(e.detail!).limit]),
      [[1, 'account']],
    )
    const failed = await db.selectFrom('audit_events').select('id').where('type', '=', 'login.failed').execute()
    assert.equal(failed.length, failures, 'a refused guess writes no login.failed row')
  })
})
