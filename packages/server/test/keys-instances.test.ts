/**
 * The keyring with several `keycard serve` processes on one PostgreSQL database, over real HTTP:
 *  - two instances started at once on an empty database end with exactly one current key, and both sign with it;
 *  - two instances with a rotation interval of a few seconds rotate twice: at every sample of the
 *    signing_keys table one current key and at most one next, no key ever current twice, no key minted
 *    twice for one rotation, each next published a JWKS lead before it signs; both end up signing with
 *    the new current key and still accept tokens of the previous one;
 *  - `keycard keys retire <kid>` (a further process) makes both instances refuse a token signed with that
 *    kid (one each verified, so cached, before), drops it from both JWKS, and both sign with the new current.
 * Time is waited on by polling the database and the instances (bounded), never by sleeping.
 */

import assert from 'node:assert/strict'
import { describe, test, type TestContext } from 'node:test'
import { decodeProtectedHeader, type JWK } from 'jose'
import { PASSWORD, postgresDatabase } from './helpers.ts'
import { type Instance, keycardCli, pollUntil, startInstances } from './instances.ts'
import { connect } from './revocation-events.ts'

/** Keyring mode on PostgreSQL: no JWT_SECRET, and the KEYS_SECRET every instance and the CLI share. */
const KEYRING_ENV = { JWT_SECRET: undefined, JWT_ALGORITHM: 'ES256', KEYS_SECRET: 'keys-secret-of-the-instances-test-0123456789' }
/** At least 20 s of polling (50 ms apart) before a wait gives up. */
const POLL = { tries: 400, gapMs: 50 }
const STATE_ORDER = ['next', 'current', 'previous', 'retired'] as const
type KeyState = (typeof STATE_ORDER)[number]

interface KeyRow {
  kid: string
  state: KeyState
  createdAt: number
  activateAt: number | null
  activatedAt: number | null
  privateKey: string | null
}

/** The signing_keys table, read straight from the database (bigints come back as strings). */
async function readKeys(sql: Awaited<ReturnType<typeof connect>>): Promise<KeyRow[]> {
  const { rows } = await sql.query<
    { [column in 'kid' | 'state' | 'created_at']: string } & { [column in 'activate_at' | 'activated_at' | 'private_key']: string | null }
  >('select kid, state, created_at, activate_at, activated_at, private_key from signing_keys order by created_at, kid')
  const num = (v: string | null) => (v === null ? null : Number(v))
  return rows.map((r) => ({
    kid: r.kid,
    state: r.state as KeyState,
    createdAt: Number(r.created_at),
    activateAt: num(r.activate_at),
    activatedAt: num(r.activated_at),
    privateKey: r.private_key,
  }))
}

const inState = (rows: KeyRow[], state: KeyState) => rows.filter((r) => r.state === state)

async function login(i: Instance, username = 'alice'): Promise<{ access_token: string; refresh_token: string }> {
  const res = await i.api('POST', '/auth/login', { body: { username, password: PASSWORD } })
  assert.equal(res.status, 200, `login on ${i.name}: ${res.text}`)
  return res.body
}

const kidOf = (token: string) => decodeProtectedHeader(token).kid

async function jwksKids(i: Instance): Promise<string[]> {
  const res = await i.api('GET', '/.well-known/jwks.json')
  assert.equal(res.status, 200, `JWKS of ${i.name}: ${res.text}`)
  return (res.body.keys as JWK[]).map((k) => k.kid!).sort()
}

/** Polls until `i` signs new tokens with `kid`; fails with what it signs with instead. */
async function signsWith(i: Instance, kid: string): Promise<void> {
  const { result } = await pollUntil(
    async () => kidOf((await login(i)).access_token),
    (signed) => signed === kid,
    POLL,
  )
  assert.equal(result, kid, `${i.name} signs with the current key\n${i.output()}`)
}

/** Polls until `i` signs new tokens with the key the database has as current (it may rotate meanwhile). */
async function signsWithCurrent(i: Instance, sql: Awaited<ReturnType<typeof connect>>): Promise<void> {
  const current = async () => inState(await readKeys(sql), 'current')[0]?.kid
  const { result } = await pollUntil(
    async () => {
      const before = await current()
      const signed = kidOf((await login(i)).access_token)
      return { signed, current: [before, await current()] }
    },
    ({ signed, current }) => current.includes(signed),
    POLL,
  )
  assert.ok(
    result.current.includes(result.signed),
    `${i.name} signs with ${result.signed}, not the current key ${result.current}\n${i.output()}`,
  )
}

/** The log lines of level error or worse (pino: 50+) in what `i` wrote. */
function errorLines(i: Instance): string[] {
  return i
    .output()
    .split('\n')
    .filter((line) => {
      try {
        return (JSON.parse(line) as { level?: number }).level! >= 50
      } catch {
        return false
      }
    })
}

async function database(t: TestContext): Promise<{ url: string; sql: Awaited<ReturnType<typeof connect>> }> {
  const url = await postgresDatabase(t)
  const sql = await connect(url)
  t.after(() => sql.end())
  return { url, sql }
}

// One after the other: each starts two `keycard serve` processes, and six starting at once on two busy cores can take over a minute to listen.
describe('the keyring with several instances', () => {
  test('two instances started at once on an empty database end with exactly one current key, and both sign with it', {
    timeout: 180_000,
  }, async (t) => {
    const { url, sql } = await database(t)
    const [a, b] = (await startInstances(t, { databaseUrl: url, env: KEYRING_ENV })) as [Instance, Instance]
    const rows = await readKeys(sql)
    assert.equal(inState(rows, 'current').length, 1, `one current key: ${JSON.stringify(rows)}`)
    assert.equal(rows.length, 1, `no other key minted by the race: ${JSON.stringify(rows)}`)
    const current = rows[0]!.kid

    const listed = await keycardCli(t, url, ['keys', 'list', '--json'], KEYRING_ENV)
    assert.equal(listed.code, 0, `keycard keys list --json: ${listed.stderr}`)
    const parsed = JSON.parse(listed.stdout) as { kid: string; state: string }[] | { keys: { kid: string; state: string }[] }
    const keys = Array.isArray(parsed) ? parsed : parsed.keys
    assert.deepEqual(
      keys.map((k) => [k.kid, k.state]),
      [[current, 'current']],
      'the CLI lists the same one key',
    )

    assert.equal((await a.api('POST', '/auth/register', { body: { username: 'alice', password: PASSWORD } })).status, 201)
    for (const i of [a, b]) {
      const token = (await login(i)).access_token
      assert.equal(kidOf(token), current, `${i.name} signs with the one current key`)
      assert.deepEqual(await jwksKids(i), [current], `${i.name} publishes it`)
      for (const j of [a, b]) assert.equal((await j.api('GET', '/auth/verify', { token })).status, 200, `${i.name}'s token on ${j.name}`)
    }
  })

  test('two instances with a rotation interval of 4 s rotate twice: one current, at most one next, no key current twice or minted twice', {
    timeout: 180_000,
  }, async (t) => {
    const { url, sql } = await database(t)
    // JWKS_MAX_AGE=1: a next key is published 2 s before it signs; a rotation every 4 s.
    const interval = 4
    const lead = 2
    const [a, b] = (await startInstances(t, {
      databaseUrl: url,
      env: { ...KEYRING_ENV, KEY_ROTATION_INTERVAL: String(interval), JWKS_MAX_AGE: '1' },
    })) as [Instance, Instance]
    assert.equal((await a.api('POST', '/auth/register', { body: { username: 'alice', password: PASSWORD } })).status, 201)
    const before = { a: (await login(a)).access_token, b: (await login(b)).access_token }

    // Every sample: the invariants hold; across samples: each key's state only moves forward.
    const rank = new Map<string, number>()
    const currents: string[] = []
    let samples = 0
    const sample = async () => {
      const rows = await readKeys(sql)
      samples++
      const what = `sample ${samples}: ${JSON.stringify(rows.map((r) => [r.kid.slice(0, 8), r.state]))}`
      assert.equal(inState(rows, 'current').length, 1, `exactly one current key, ${what}`)
      assert.ok(inState(rows, 'next').length <= 1, `at most one next key, ${what}`)
      for (const r of rows) {
        const now = STATE_ORDER.indexOf(r.state)
        assert.ok(now >= (rank.get(r.kid) ?? 0), `${r.kid} went back from ${STATE_ORDER[rank.get(r.kid)!]} to ${r.state}, ${what}`)
        rank.set(r.kid, now)
      }
      const current = inState(rows, 'current')[0]!.kid
      if (currents.at(-1) !== current) {
        assert.ok(!currents.includes(current), `${current} is current a second time, ${what}`)
        currents.push(current)
      }
      return rows
    }
    const { result: rows } = await pollUntil(sample, () => currents.length >= 3, { tries: 1000, gapMs: 50 })
    assert.ok(currents.length >= 3, `two rotations within the polling bound; current keys seen: ${currents}\n${a.output()}\n${b.output()}`)

    // Each key made current once, by a rotation, and no key minted that no rotation used.
    const activated = rows.filter((r) => r.activatedAt !== null).sort((x, y) => x.activatedAt! - y.activatedAt!)
    assert.deepEqual(
      activated.map((r) => r.kid),
      currents,
      'the keys became current in the order observed',
    )
    const next = inState(rows, 'next')
    assert.equal(rows.length, currents.length + next.length, `keys = rotations + 1 + the next: ${JSON.stringify(rows)}`)
    for (let n = 1; n < activated.length; n++) {
      const [prior, key] = [activated[n - 1]!, activated[n]!]
      assert.ok(key.activatedAt! >= prior.activatedAt! + interval, `${key.kid} became current a rotation interval after ${prior.kid}`)
      assert.ok(key.activatedAt! >= key.createdAt + lead, `${key.kid} was published ${lead} s (2 × JWKS_MAX_AGE) before it signed`)
    }

    // Both instances sign with the current key (which goes on rotating), publish it with the next one,
    // and still accept the tokens of the first key (now previous).
    await Promise.all([signsWithCurrent(a, sql), signsWithCurrent(b, sql)])
    for (const i of [a, b]) {
      const { result } = await pollUntil(
        async () => ({ rows: await readKeys(sql), kids: await jwksKids(i) }),
        ({ rows, kids }) => rows.every((r) => r.state === 'retired' || kids.includes(r.kid)),
        POLL,
      )
      for (const r of result.rows)
        if (r.state !== 'retired') assert.ok(result.kids.includes(r.kid), `${i.name}'s JWKS has the ${r.state} key ${r.kid}`)
      for (const token of Object.values(before)) {
        const res = await i.api('GET', '/auth/verify', { token })
        assert.equal(res.status, 200, `a token of the first key (now previous) on ${i.name}: ${res.text}`)
      }
      // The lock serialized the two schedulers: neither ran into the unique indexes (an error logged and retried).
      assert.deepEqual(errorLines(i), [], `${i.name} logged no error while rotating`)
    }
  })

  test('keys retire <kid> by the CLI: both instances refuse its tokens, drop it from their JWKS and sign with the new current key', {
    timeout: 180_000,
  }, async (t) => {
    const { url, sql } = await database(t)
    const [a, b] = (await startInstances(t, { databaseUrl: url, env: KEYRING_ENV })) as [Instance, Instance]
    assert.equal((await a.api('POST', '/auth/register', { body: { username: 'alice', password: PASSWORD } })).status, 201)
    const tokens = { A: (await login(a)).access_token, B: (await login(b)).access_token }
    const old = kidOf(tokens.A)!
    assert.equal(kidOf(tokens.B), old)
    // Verified once on each instance first, so a cached verification must be forgotten too.
    for (const i of [a, b])
      for (const token of Object.values(tokens)) assert.equal((await i.api('GET', '/auth/verify', { token })).status, 200)

    const res = await keycardCli(t, url, ['keys', 'retire', old], KEYRING_ENV)
    assert.equal(res.code, 0, `keycard keys retire: ${res.stderr}`)
    assert.match(res.stdout, new RegExp(old), 'the CLI names the retired key')
    const rows = await readKeys(sql)
    const retired = rows.find((r) => r.kid === old)!
    assert.equal(retired.state, 'retired')
    assert.equal(retired.privateKey, null, 'a retired key keeps no private key')
    assert.equal(inState(rows, 'current').length, 1, `a new current key: ${JSON.stringify(rows)}`)
    const current = inState(rows, 'current')[0]!.kid
    assert.notEqual(current, old)
    assert.match(res.stdout, new RegExp(current), 'the CLI names the new current key')

    await Promise.all(
      [a, b].flatMap((i) =>
        Object.entries(tokens).map(async ([minter, token]) => {
          const { result } = await pollUntil(
            () => i.api('GET', '/auth/verify', { token }),
            (r) => r.status !== 200,
            POLL,
          )
          assert.ok(
            [401, 422].includes(result.status),
            `${minter}'s token of the retired key on ${i.name}: ${result.status} ${result.text}\n${i.output()}`,
          )
          assert.equal(typeof result.body?.msg, 'string', result.text)
          assert.ok(!result.text.includes(old), 'the refusal does not echo the kid')
        }),
      ),
    )
    for (const i of [a, b]) {
      const { result: kids } = await pollUntil(
        () => jwksKids(i),
        (k) => !k.includes(old),
        POLL,
      )
      assert.ok(!kids.includes(old), `${i.name}'s JWKS drops the retired key: ${kids}`)
      assert.ok(kids.includes(current), `${i.name}'s JWKS has the new current key: ${kids}`)
    }
    await Promise.all([signsWith(a, current), signsWith(b, current)])
    const fresh = { A: (await login(a)).access_token, B: (await login(b)).access_token }
    for (const i of [a, b])
      for (const [minter, token] of Object.entries(fresh))
        assert.equal((await i.api('GET', '/auth/verify', { token })).status, 200, `${minter}'s new token on ${i.name}`)
  })
})
