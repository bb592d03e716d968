/**
 * The keyring (src/keys/keyring.ts) on a real SQLite file and a real PostgreSQL database: every
 * transition at explicit `now` values (no clock), several writers at once (two Kysely instances: two
 * SQLite connections, two PostgreSQL pools), the emergency retire, encryption at rest, and the schema's
 * own guarantees (one current, one next, no private key once retired).
 */

import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createPrivateKey, createPublicKey } from 'node:crypto'
import { createInterface } from 'node:readline'
import { test, type TestContext } from 'node:test'
import { fileURLToPath } from 'node:url'
import { importJWK, jwtVerify, SignJWT } from 'jose'
import type { Kysely } from 'kysely'
import pg from 'pg'
import { isUniqueViolation } from '../src/db/database.ts'
import { migrateToLatest } from '../src/db/migrations/index.ts'
import type { Database } from '../src/db/schema.ts'
import { deriveKey, open } from '../src/keys/crypto.ts'
import { KEYS_CHANNEL, Keyring, KeyringError, type KeyringOptions, parseKeyNotification } from '../src/keys/keyring.ts'
import { type Dialect, forEachDialect, openBeside, openTestDatabase } from './helpers.ts'
import { pollUntil } from './instances.ts'

const SECRET = 'keys-secret-for-tests-0123456789abcdef'
const T0 = 1_800_000_000
/** Small, distinct numbers so every transition time below is easy to check by hand. */
const POLICY = { algorithm: 'ES256', rotationInterval: 1000, publishLead: 100, tokenLifetime: 50 } as const

async function ring(
  t: TestContext,
  dialect: Dialect,
  options: Partial<KeyringOptions> = {},
): Promise<{ db: Kysely<Database>; url: string; keyring: Keyring; make: (o?: Partial<KeyringOptions>) => Keyring }> {
  const { db, url } = await openTestDatabase(t, dialect)
  await migrateToLatest(db, () => {})
  const make = (o: Partial<KeyringOptions> = {}) => new Keyring({ db, keysSecret: SECRET, ...POLICY, ...options, ...o })
  return { db, url, keyring: make(), make }
}

function states(keys: { state: string }[]): string[] {
  return keys.map((k) => k.state)
}

async function rows(db: Kysely<Database>) {
  return db.selectFrom('signing_keys').selectAll().orderBy('created_at').orderBy('kid').execute()
}

/** The ring after advance() at each time, from empty: first key, next published, promoted, previous retired + next published. */
const STEPS = [
  [T0, ['current']],
  [T0 + 900, ['current', 'next']],
  [T0 + 1000, ['current', 'previous']],
  [T0 + 1900, ['current', 'next', 'retired']],
] as const

const INSTANCE = fileURLToPath(new URL('./fixtures/keyring-instance.ts', import.meta.url))

/** Another process with a Keyring on `url` (fixtures/keyring-instance.ts); `ask` sends one command and resolves to its JSON answer. */
async function instance(t: TestContext, url: string): Promise<{ ask: (line: string) => Promise<Record<string, any>> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', INSTANCE, url, SECRET], { stdio: ['pipe', 'pipe', 'pipe'] })
  t.after(() => {
    child.stdin.end()
    if (child.exitCode === null) child.kill()
  })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  const waiting: ((line: string) => void)[] = []
  const lines = createInterface({ input: child.stdout })
  let ready: () => void
  const isReady = new Promise<void>((resolve) => (ready = resolve))
  lines.on('line', (line) => (line === 'ready' ? ready() : waiting.shift()?.(line)))
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`keyring instance exited (${code}): ${stderr}`))),
  )
  await Promise.race([isReady, exited])
  return {
    ask: (line) => {
      const answer = new Promise<string>((resolve) => waiting.push(resolve))
      child.stdin.write(`${line}\n`)
      return Promise.race([answer.then((a) => JSON.parse(a) as Record<string, any>), exited])
    },
  }
}

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<KeyringError> {
  try {
    await promise
  } catch (err) {
    assert.ok(err instanceof KeyringError, `expected a KeyringError, got ${err}`)
    assert.equal(err.code, code)
    return err
  }
  assert.fail(`expected KeyringError ${code}`)
}

forEachDialect((dialect) => {
  test('an empty ring gets one current key at once; a second advance changes nothing', async (t) => {
    const { keyring } = await ring(t, dialect)
    assert.deepEqual(await keyring.list(), [])
    await rejectsWith(keyring.entries(), 'NO_CURRENT_KEY')
    assert.equal(await keyring.advance(T0), true)
    assert.equal(await keyring.advance(T0), false)
    const [key] = await keyring.list()
    assert.equal((await keyring.list()).length, 1)
    assert.deepEqual(
      { state: key!.state, algorithm: key!.algorithm, createdAt: key!.createdAt, activatedAt: key!.activatedAt },
      { state: 'current', algorithm: 'ES256', createdAt: T0, activatedAt: T0 },
    )
    assert.deepEqual(Object.keys(key!.publicJwk).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y'])
    assert.deepEqual([key!.publicJwk.kid, key!.publicJwk.alg, key!.publicJwk.use], [key!.kid, 'ES256', 'sig'])
    const { keys, signingKid } = await keyring.entries()
    assert.equal(signingKid, key!.kid)
    assert.equal(keys.length, 1)
    assert.equal(keys[0]!.privateKey?.type, 'private')
    // The private half signs what the published public half verifies.
    const token = await new SignJWT({ sub: '1' }).setProtectedHeader({ alg: 'ES256', kid: signingKid }).sign(keys[0]!.privateKey!)
    const verified = await jwtVerify(token, await importJWK(key!.publicJwk, 'ES256'))
    assert.equal(verified.protectedHeader.kid, key!.kid)
    // Due one publish lead before the current key's interval ends.
    assert.equal(await keyring.nextDue(T0), T0 + POLICY.rotationInterval - POLICY.publishLead)
  })

  test('next is published one lead before due, becomes current on time, previous verifies then retires', async (t) => {
    const { db, keyring } = await ring(t, dialect)
    await keyring.advance(T0)
    const [a] = await keyring.list()
    assert.equal(await keyring.advance(T0 + 899), false, 'not due yet')
    assert.equal(await keyring.advance(T0 + 900), true)
    let keys = await keyring.list()
    assert.deepEqual(states(keys), ['next', 'current'])
    const b = keys[0]!
    assert.equal(b.activateAt, T0 + 1000)
    assert.equal(await keyring.nextDue(T0 + 900), T0 + 1000)
    let entries = await keyring.entries()
    assert.equal(entries.signingKid, a!.kid, 'the next key is published, not signing')
    assert.deepEqual(
      entries.keys.map((k) => [k.kid, k.privateKey !== undefined]).sort(),
      [
        [a!.kid, true],
        [b.kid, false],
      ].sort(),
    )

    assert.equal(await keyring.advance(T0 + 999), false)
    assert.equal(await keyring.advance(T0 + 1000), true)
    keys = await keyring.list()
    const byKid = new Map(keys.map((k) => [k.kid, k]))
    assert.deepEqual([byKid.get(b.kid)!.state, byKid.get(b.kid)!.activatedAt], ['current', T0 + 1000])
    // verify_until = now + tokenLifetime + publishLead
    assert.deepEqual(
      [byKid.get(a!.kid)!.state, byKid.get(a!.kid)!.deactivatedAt, byKid.get(a!.kid)!.verifyUntil],
      ['previous', T0 + 1000, T0 + 1150],
    )
    entries = await keyring.entries()
    assert.equal(entries.signingKid, b.kid)
    assert.equal(entries.keys.length, 2)
    assert.equal(await keyring.nextDue(T0 + 1000), T0 + 1150)

    assert.equal(await keyring.advance(T0 + 1149), false)
    assert.equal(await keyring.advance(T0 + 1150), true)
    const retired = (await keyring.list()).find((k) => k.kid === a!.kid)!
    assert.deepEqual([retired.state, retired.retiredAt], ['retired', T0 + 1150])
    assert.equal((await rows(db)).find((r) => r.kid === a!.kid)!.private_key, null, 'a retired key keeps no private key')
    assert.deepEqual(
      (await keyring.entries()).keys.map((k) => k.kid),
      [b.kid],
    )
    // The next rotation is due one lead before b's interval ends.
    assert.equal(await keyring.nextDue(T0 + 1150), T0 + 1000 + 1000 - 100)
  })

  test('an advance long overdue does each step once: promotes, retires, publishes the following key', async (t) => {
    const { keyring } = await ring(t, dialect)
    await keyring.advance(T0)
    await keyring.advance(T0 + 900)
    // Everything was down for a long time: b is promoted at once (and signs a full interval from now),
    // a gets its full verification window from now.
    assert.equal(await keyring.advance(T0 + 5000), true)
    const keys = await keyring.list()
    assert.deepEqual(states(keys), ['current', 'previous'], 'newest first')
    assert.equal(keys.find((k) => k.state === 'current')!.activatedAt, T0 + 5000)
    assert.equal(keys.find((k) => k.state === 'previous')!.verifyUntil, T0 + 5150)
    assert.equal(await keyring.advance(T0 + 5000), false)
    assert.equal(await keyring.nextDue(T0 + 5000), T0 + 5150)
  })

  test('two instances (processes) advancing at once on an empty ring, then at each due step, do each step once', {
    timeout: 120_000,
  }, async (t) => {
    const { db, url } = await ring(t, dialect)
    const instances = await Promise.all([instance(t, url), instance(t, url)])
    for (const [when, expected] of STEPS) {
      // Two calls from each process, all sent before any answer is read.
      const answers = await Promise.all(instances.flatMap((i) => [i.ask(`advance ${when}`), i.ask(`advance ${when}`)]))
      assert.deepEqual(
        answers.filter((a) => 'error' in a),
        [],
        `at +${when - T0}`,
      )
      assert.equal(answers.filter((a) => a.changed === true).length, 1, `exactly one advance changed the ring at +${when - T0}`)
      assert.deepEqual((await rows(db)).map((r) => r.state).sort(), [...expected].sort(), `at +${when - T0}`)
    }
    const rotated = await Promise.all(instances.map((i) => i.ask(`rotate ${T0 + 1950}`)))
    assert.equal(new Set(rotated.map((r) => r.kid)).size, 1, `both rotates name the one next key: ${JSON.stringify(rotated)}`)
    assert.equal((await rows(db)).filter((r) => r.state === 'next').length, 1)
  })

  test('two Kysely instances (two pools, two SQLite connections) advancing at once keep one current key', async (t) => {
    const { db, url, make } = await ring(t, dialect)
    const a = make()
    const b = new Keyring({ db: openBeside(t, { dbPath: url }), keysSecret: SECRET, ...POLICY })
    for (const [when, expected] of STEPS) {
      // On SQLite one process's connections take turns (better-sqlite3 waits for a lock synchronously,
      // which would stall the other connection's commit): sequential here, concurrent in the test above.
      const changed =
        dialect === 'postgres'
          ? await Promise.all([a.advance(when), b.advance(when), a.advance(when), b.advance(when)])
          : [await a.advance(when), await b.advance(when)]
      assert.equal(changed.filter(Boolean).length, 1, `exactly one advance changed the ring at +${when - T0}: ${changed}`)
      assert.deepEqual((await rows(db)).map((r) => r.state).sort(), [...expected].sort(), `at +${when - T0}`)
    }
    assert.equal((await a.entries()).signingKid, (await b.entries()).signingKid)
  })

  test('concurrent rotate calls make one next key, never two', async (t) => {
    const { db, url, make } = await ring(t, dialect)
    const other = new Keyring({ db: openBeside(t, { dbPath: url }), keysSecret: SECRET, ...POLICY })
    const mine = make()
    await mine.advance(T0)
    const nexts = await Promise.all([mine.rotate(T0 + 10), other.rotate(T0 + 10), mine.rotate(T0 + 10)])
    assert.equal(new Set(nexts.map((k) => k.kid)).size, 1, 'every rotate returned the same next key')
    assert.deepEqual((await rows(db)).map((r) => r.state).sort(), ['current', 'next'])
  })

  test('rotate: a new next key waits one publish lead; a next key published long ago becomes current at once', async (t) => {
    const { keyring } = await ring(t, dialect)
    // On an empty ring: a current key, then its successor.
    const first = await keyring.rotate(T0)
    assert.deepEqual([first.state, first.createdAt, first.activateAt], ['next', T0, T0 + 100])
    assert.deepEqual(states(await keyring.list()).sort(), ['current', 'next'])
    assert.equal((await keyring.rotate(T0 + 20)).kid, first.kid, 'a second rotate keeps the next key')
    assert.equal(await keyring.advance(T0 + 99), false)
    assert.equal(await keyring.advance(T0 + 100), true)
    assert.equal((await keyring.entries()).signingKid, first.kid)

    // The scheduled next key, published at +1000 for +1100… is due at once by hand after one lead.
    await keyring.advance(T0 + 1000)
    const scheduled = (await keyring.list()).find((k) => k.state === 'next')!
    assert.equal(scheduled.activateAt, T0 + 1100)
    const early = await keyring.rotate(T0 + 1050)
    assert.deepEqual([early.kid, early.activateAt], [scheduled.kid, T0 + 1100], 'not before it has been published a full lead')
    // A next key published under a longer lead (JWKS_MAX_AGE was lowered since): rotate makes it due now.
    const { keyring: slow, make } = await ring(t, dialect, { rotationInterval: 100_000, publishLead: 1000 })
    await slow.advance(T0)
    await slow.advance(T0 + 99_000)
    const pending = (await slow.list()).find((k) => k.state === 'next')!
    assert.equal(pending.activateAt, T0 + 100_000)
    const shorter = make({ publishLead: 100 })
    assert.equal((await shorter.rotate(T0 + 99_500)).activateAt, T0 + 99_500)
    assert.equal(await shorter.advance(T0 + 99_500), true)
    assert.equal((await shorter.entries()).signingKid, pending.kid)
  })

  test('retire: the current key promotes the next at once, or a new one is made; unknown and retired kids are typed errors', async (t) => {
    const { db, keyring } = await ring(t, dialect)
    await keyring.advance(T0)
    await keyring.advance(T0 + 900)
    const [next, current] = await keyring.list()
    const { retired, current: promoted } = await keyring.retire(current!.kid, T0 + 901)
    assert.deepEqual([retired.kid, retired.state, retired.retiredAt, retired.deactivatedAt], [current!.kid, 'retired', T0 + 901, T0 + 901])
    assert.deepEqual([promoted.kid, promoted.state, promoted.activatedAt], [next!.kid, 'current', T0 + 901])
    assert.equal((await rows(db)).find((r) => r.kid === current!.kid)!.private_key, null)
    assert.deepEqual(
      (await keyring.entries()).keys.map((k) => k.kid),
      [next!.kid],
      'a retired key is gone from what verifies at once',
    )

    // No next key: a new current key is made in the same transaction.
    const again = await keyring.retire(next!.kid, T0 + 902)
    assert.notEqual(again.current.kid, next!.kid)
    assert.deepEqual([again.current.state, again.current.activatedAt], ['current', T0 + 902])
    assert.deepEqual(states(await keyring.list()), ['current', 'retired', 'retired'])

    const missing = await rejectsWith(keyring.retire('no-such-kid-<script>', T0 + 903), 'KEY_NOT_FOUND')
    assert.doesNotMatch(missing.message, /no-such-kid|script/, 'the client text is not echoed')
    const twice = await rejectsWith(keyring.retire(next!.kid, T0 + 903), 'KEY_RETIRED')
    assert.match(twice.message, new RegExp(`signing key ${next!.kid} is already retired`))

    // Retiring a previous or a next key leaves the current one alone.
    await keyring.advance(T0 + 902 + 900)
    const pending = (await keyring.list()).find((k) => k.state === 'next')!
    const r = await keyring.retire(pending.kid, T0 + 1803)
    assert.equal(r.current.kid, again.current.kid)
  })

  test('a wrong KEYS_SECRET fails entries() with a typed error naming the kid, never the secret', async (t) => {
    const { keyring, make } = await ring(t, dialect)
    await keyring.advance(T0)
    const [key] = await keyring.list()
    const wrongSecret = 'another-secret-that-is-long-enough-000000'
    const err = await rejectsWith(make({ keysSecret: wrongSecret }).entries(), 'KEYS_SECRET_MISMATCH')
    assert.match(err.message, /KEYS_SECRET does not decrypt the keyring/)
    assert.ok(err.message.includes(key!.kid))
    assert.ok(!err.message.includes(wrongSecret) && !err.message.includes(SECRET))
    // The public side still works: list and retire need no secret.
    assert.equal((await make({ keysSecret: wrongSecret }).list()).length, 1)
  })

  test('private keys are stored sealed: no PEM, no JWK d in the column; the right secret opens them', async (t) => {
    for (const algorithm of ['ES256', 'EdDSA', 'RS256', 'PS256'] as const) {
      const { db, keyring } = await ring(t, dialect, { algorithm })
      await keyring.advance(T0)
      const [row] = await rows(db)
      const { keys } = await keyring.entries()
      const privateJwk = keys[0]!.privateKey!.export({ format: 'jwk' })
      assert.ok(typeof privateJwk.d === 'string' && privateJwk.d.length > 20)
      assert.match(row!.private_key!, /^v1\.[\w-]+\.[\w-]+\.[\w-]+$/)
      assert.ok(!row!.private_key!.includes(privateJwk.d!), `${algorithm}: d is not in the column`)
      assert.doesNotMatch(row!.private_key!, /PRIVATE KEY|BEGIN/)
      assert.ok(!row!.public_jwk.includes(privateJwk.d!), `${algorithm}: d is not in the public JWK`)
      const pem = open(deriveKey(SECRET), row!.kid, row!.private_key!)
      assert.match(pem, /^-----BEGIN PRIVATE KEY-----/)
      // The opened key is the pair of the published public key.
      assert.deepEqual(
        createPublicKey(createPrivateKey(pem)).export({ format: 'jwk' }),
        createPublicKey({ key: JSON.parse(row!.public_jwk), format: 'jwk' }).export({ format: 'jwk' }),
      )
      assert.equal(keys[0]!.algorithm, algorithm)
      const token = await new SignJWT({}).setProtectedHeader({ alg: algorithm, kid: row!.kid }).sign(keys[0]!.privateKey!)
      await jwtVerify(token, await importJWK(keys[0]!.publicKey, algorithm))
    }
  })

  test('the schema refuses a second current or next key and a retired key with a private key, whoever writes', async (t) => {
    const { db, keyring } = await ring(t, dialect)
    await keyring.advance(T0)
    await keyring.advance(T0 + 900)
    const [next, current] = await rows(db).then((r) => [r.find((x) => x.state === 'next')!, r.find((x) => x.state === 'current')!])
    for (const state of ['current', 'next'] as const) {
      await assert.rejects(
        db
          .insertInto('signing_keys')
          .values({ ...current!, kid: `by-hand-${state}`, state })
          .execute(),
        (err) => isUniqueViolation(err),
        `a second ${state} key`,
      )
    }
    await assert.rejects(db.updateTable('signing_keys').set({ state: 'current' }).where('kid', '=', next!.kid).execute(), (err) =>
      isUniqueViolation(err),
    )
    await assert.rejects(
      db.updateTable('signing_keys').set({ state: 'retired' }).where('kid', '=', next!.kid).execute(),
      /check|constraint/i,
    )
    await assert.rejects(
      db.updateTable('signing_keys').set({ state: 'exploded' }).where('kid', '=', next!.kid).execute(),
      /check|constraint/i,
    )
    assert.deepEqual((await rows(db)).map((r) => r.state).sort(), ['current', 'next'])
  })

  test('changing JWT_ALGORITHM rotates to a key of the new algorithm, one publish lead later', async (t) => {
    const { keyring, make } = await ring(t, dialect)
    await keyring.advance(T0)
    await keyring.advance(T0 + 900) // an ES256 next key, pending
    const eddsa = make({ algorithm: 'EdDSA' })
    assert.equal(await eddsa.nextDue(T0 + 901), T0 + 901, 'due at once')
    assert.equal(await eddsa.advance(T0 + 901), true)
    let keys = await eddsa.list()
    const next = keys.find((k) => k.state === 'next')!
    assert.deepEqual([next.algorithm, next.activateAt], ['EdDSA', T0 + 1001])
    assert.equal(keys.filter((k) => k.state === 'retired' && k.algorithm === 'ES256').length, 1, 'the pending ES256 key is replaced')
    assert.equal(await eddsa.advance(T0 + 1001), true)
    keys = await eddsa.list()
    assert.equal(keys.find((k) => k.state === 'current')!.algorithm, 'EdDSA')
    assert.equal((await eddsa.entries()).keys.find((k) => k.privateKey)!.privateKey!.asymmetricKeyType, 'ed25519')
  })

  test('options are checked once, with messages naming each', async (t) => {
    const { db } = await ring(t, dialect)
    assert.throws(
      () => new Keyring({ db, keysSecret: 'short', algorithm: 'HS256' as never, rotationInterval: 10, publishLead: 10, tokenLifetime: -1 }),
      (err: unknown) =>
        err instanceof KeyringError &&
        err.code === 'KEYRING_OPTIONS' &&
        /keysSecret must be at least 32 bytes; algorithm must be ES256, EdDSA, RS256 or PS256, got "HS256"; tokenLifetime must be whole seconds/.test(
          err.message,
        ),
    )
    assert.throws(
      () => new Keyring({ db, keysSecret: SECRET, ...POLICY, rotationInterval: 100 }),
      /rotationInterval \(100s\) must be longer than publishLead \(100s\)/,
    )
  })

  test('a row the ring cannot read is a KEYRING_CORRUPT error naming its kid', async (t) => {
    const { db, keyring } = await ring(t, dialect)
    await keyring.advance(T0)
    const [row] = await rows(db)
    await db.updateTable('signing_keys').set({ algorithm: 'HS256' }).where('kid', '=', row!.kid).execute()
    const err = await rejectsWith(keyring.list(), 'KEYRING_CORRUPT')
    assert.match(err.message, new RegExp(`signing key ${row!.kid} in the database: unknown algorithm "HS256"`))
    await db
      .updateTable('signing_keys')
      .set({ algorithm: 'ES256', public_jwk: '{"kty":"EC","crv":"P-256","x":"a","y":"b","d":"secret-d"}' })
      .execute()
    assert.deepEqual(
      Object.keys((await keyring.list())[0]!.publicJwk).sort(),
      ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y'],
      'd is never handed out',
    )
  })

  if (dialect === 'postgres')
    test('every insert and update notifies keycard_keys with <state>:<kid>, after commit', async (t) => {
      const { url, keyring } = await ring(t, dialect)
      const client = new pg.Client({ connectionString: url })
      client.on('error', () => undefined)
      await client.connect()
      t.after(() => client.end())
      const payloads: string[] = []
      client.on('notification', (n) => {
        if (n.channel === KEYS_CHANNEL) payloads.push(n.payload ?? '')
      })
      await client.query(`LISTEN ${KEYS_CHANNEL}`)
      await keyring.advance(T0)
      await keyring.advance(T0 + 900)
      const [next, current] = await keyring.list()
      await keyring.retire(current!.kid, T0 + 901)
      // Delivered asynchronously after each commit: wait for all four (the test's timeout bounds it).
      await pollUntil(
        () => client.query('select 1'),
        () => payloads.length >= 4,
      )
      assert.deepEqual(payloads, [`current:${current!.kid}`, `next:${next!.kid}`, `retired:${current!.kid}`, `current:${next!.kid}`])
      assert.deepEqual(payloads.map(parseKeyNotification), [
        { state: 'current', kid: current!.kid },
        { state: 'next', kid: next!.kid },
        { state: 'retired', kid: current!.kid },
        { state: 'current', kid: next!.kid },
      ])
    })
})
