/**
 * `keycard keys list | rotate | retire`, run as real processes (`node --import tsx src/cli/main.ts`)
 * on a SQLite file and on a PostgreSQL database of their own, as the other CLI tests are. The ring is
 * set up or inspected beside them with the Keyring itself, at explicit times where a test needs a key
 * published "long ago" (no clock, no sleeps).
 */

import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createPublicKey } from 'node:crypto'
import { readFileSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { describe, test, type TestContext } from 'node:test'
import { fileURLToPath } from 'node:url'
import { migrateToLatest } from '../src/db/migrations/index.ts'
import { Keyring, listKeys } from '../src/keys/keyring.ts'
import { type Dialect, dataDir, forEachDialect, openBeside, testEnv } from './helpers.ts'

const ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)))
const MAIN = join(ROOT, 'packages/server/src/cli/main.ts')
const KEYS_SECRET = 'cli-keys-secret-that-is-32-bytes-or-more'
/** What the CLI runs with: keyring mode (no JWT_SECRET), the policy the in-test Keyrings use too. */
const KEYRING_ENV = { JWT_SECRET: undefined, KEYS_SECRET, KEY_ROTATION_INTERVAL: '1h', JWKS_MAX_AGE: '10m' }
const POLICY = { algorithm: 'ES256', rotationInterval: 3600, publishLead: 1200, tokenLifetime: 30 * 86400 } as const

interface Result {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs `keycard <args>` on the database of `dir`, with the test server's environment and `env` on top. */
function keycard(dir: string, args: string[], env: Record<string, string | undefined> = {}): Promise<Result> {
  const merged: NodeJS.ProcessEnv = { ...process.env, ...testEnv(dir), LOG_LEVEL: 'silent', ...env }
  for (const name of ['NODE_ENV', 'INIT_CWD', 'HOST', 'NODE_TEST_CONTEXT']) if (!(name in env)) delete merged[name]
  for (const [k, v] of Object.entries(merged)) if (v === undefined) delete merged[k]
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, env: merged, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

function assertClean(r: Result): void {
  const all = r.stdout + r.stderr
  assert.doesNotMatch(all, /^\s+at /m, 'no stack trace')
  assert.doesNotMatch(all, /PRIVATE KEY|"d":/, 'no private material')
  assert.ok(!all.includes(KEYS_SECRET), 'no KEYS_SECRET')
}

async function keysOk(dir: string, args: string[], env: Record<string, string | undefined> = {}): Promise<string> {
  const r = await keycard(dir, ['keys', ...args], { ...KEYRING_ENV, ...env })
  assert.equal(r.code, 0, `keycard keys ${args.join(' ')}: ${r.stderr}`)
  assertClean(r)
  return r.stdout
}

/** The CLI's database, opened beside it (migrated), with a Keyring of the same secret and policy. */
async function beside(t: TestContext, dir: string) {
  const db = openBeside(t, { dbPath: testEnv(dir).DATABASE_URL! })
  await migrateToLatest(db, () => {})
  return { db, keyring: new Keyring({ db, keysSecret: KEYS_SECRET, ...POLICY }) }
}

describe('keycard keys --help', { concurrency: 4 }, () => {
  for (const [args, first] of [
    [['keys', '--help'], 'Usage: keycard keys <list|rotate|retire> [options]'],
    [['keys', 'list', '--help'], 'Usage: keycard keys list [--json] [--pem]'],
    [['keys', 'rotate', '-h'], 'Usage: keycard keys rotate'],
    [['help', 'keys', 'retire'], 'Usage: keycard keys retire <kid>'],
  ] as const)
    test(args.join(' '), async () => {
      const r = await keycard(join(ROOT, 'unused'), [...args])
      assert.equal(r.code, 0, r.stderr)
      assert.equal(r.stdout.split('\n')[0], first)
    })

  test('keycard --help lists keys; bad usage is one message and the usage, exit 1', async (t) => {
    const dir = await dataDir(t, 'sqlite')
    const help = await keycard(dir, ['--help'])
    assert.match(help.stdout, /^ {2}keys {6}List, rotate or retire the signing keys$/m)
    const missing = await keycard(dir, ['keys'], KEYRING_ENV)
    assert.equal(missing.code, 1)
    assert.match(missing.stderr, /^keycard keys: missing command: list, rotate or retire\n\nUsage: keycard keys/)
    const noKid = await keycard(dir, ['keys', 'retire'], KEYRING_ENV)
    assert.equal(noKid.code, 1)
    assert.match(noKid.stderr, /^keycard keys retire: missing <kid> \(`keycard keys list` shows them\)\n\nUsage: keycard keys retire <kid>/)
    const extra = await keycard(dir, ['keys', 'rotate', 'now'], KEYRING_ENV)
    assert.equal(extra.code, 1)
    assert.match(extra.stderr, /^keycard keys rotate: unexpected argument "now"/)
    const unknown = await keycard(dir, ['keys', 'shred'], KEYRING_ENV)
    assert.match(unknown.stderr, /^keycard keys: unknown command "keys shred"/)
  })
})

forEachDialect((dialect: Dialect) => {
  test('HMAC mode (JWT_SECRET) has no keyring: each command says so, exit 1', async (t) => {
    const dir = await dataDir(t, dialect)
    for (const args of [['list'], ['rotate'], ['retire', 'x']]) {
      const r = await keycard(dir, ['keys', ...args])
      assert.equal(r.code, 1, args.join(' '))
      assert.equal(
        r.stderr,
        `keycard keys ${args[0]}: there is no keyring: this server signs HS256 with JWT_SECRET (or the data dir's jwt-secret). To sign with rotating key pairs and publish a JWKS, unset JWT_SECRET and set JWT_ALGORITHM=ES256 (this signs everyone out once)\n`,
      )
      assertClean(r)
    }
  })

  test('rotate on an empty ring makes a current key and publishes the next; list shows both as table, JSON and PEM', async (t) => {
    const dir = await dataDir(t, dialect)
    assert.match(await keysOk(dir, ['list']), /^The keyring is empty: the server makes its first key when it starts/)
    assert.deepEqual(JSON.parse(await keysOk(dir, ['list', '--json'])), { keys: [] })

    const out = await keysOk(dir, ['rotate'])
    const { db } = await beside(t, dir)
    const keys = await listKeys(db)
    const current = keys.find((k) => k.state === 'current')!
    const next = keys.find((k) => k.state === 'next')!
    assert.equal(keys.length, 2)
    const lines = out.trimEnd().split('\n')
    assert.equal(lines[0], `Made signing key ${current.kid} (ES256): current at once.`)
    assert.match(
      lines[1]!,
      new RegExp(`^Published signing key ${next.kid} \\(ES256\\) as next: current from \\d{4}-\\d\\d-\\d\\dT[\\d:]+Z\\.$`),
    )
    assert.equal(lines[2], `Current signing key: ${current.kid} (ES256).`)
    assert.match(
      lines[3]!,
      new RegExp(`^Next key ${next.kid} \\(ES256\\) becomes current at .+ \\(in 20m\\): a running server promotes it then`),
    )
    // Published one publish lead (2 × JWKS_MAX_AGE) before it signs.
    assert.equal(next.activateAt, next.createdAt + 1200)

    const table = (await keysOk(dir, ['list'])).split('\n')
    assert.match(table[0]!, /^KID +ALG +STATE +CREATED +WHEN$/)
    assert.ok(table.some((l) => l.startsWith(current.kid) && / ES256 +current +/.test(l)))
    assert.ok(table.some((l) => l.startsWith(next.kid) && / ES256 +next +.*current from /.test(l)))
    assert.match(table.at(-2)!, /^Signing with JWT_ALGORITHM=ES256; next scheduled change: .+Z \(in [\dhms ]+\)\.$/)

    const json = JSON.parse(await keysOk(dir, ['list', '--json']))
    assert.deepEqual(json.keys.map((k: any) => [k.kid, k.state, k.algorithm]).sort(), keys.map((k) => [k.kid, k.state, k.algorithm]).sort())
    for (const k of json.keys) {
      assert.deepEqual(Object.keys(k.publicJwk).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y'])
      assert.equal(k.publicKeyPem, undefined)
    }
    const withPem = JSON.parse(await keysOk(dir, ['list', '--json', '--pem']))
    for (const k of withPem.keys)
      assert.deepEqual(createPublicKey(k.publicKeyPem).export({ format: 'jwk' }), {
        kty: 'EC',
        crv: 'P-256',
        x: k.publicJwk.x,
        y: k.publicJwk.y,
      })
    const pem = await keysOk(dir, ['list', '--pem'])
    assert.equal(pem.match(/-----BEGIN PUBLIC KEY-----/g)?.length, 2)
    assert.match(pem, new RegExp(`^# ${current.kid} \\(ES256, current\\)$`, 'm'))

    // A second rotate keeps the pending next key.
    assert.match(await keysOk(dir, ['rotate']), /^Nothing changed\.\nCurrent signing key: /)
    assert.equal((await listKeys(db)).length, 2)
  })

  test('rotate promotes at once a next key published long enough ago, and publishes its successor', async (t) => {
    const dir = await dataDir(t, dialect)
    const { db, keyring } = await beside(t, dir)
    const now = Math.floor(Date.now() / 1000)
    // Set up in the past: a current key made 10 000 s ago, and a next key published 5000 s ago (the lead is 1200 s).
    await keyring.advance(now - 10_000)
    const pending = await keyring.rotate(now - 5000)
    assert.equal(pending.activateAt, now - 3800)
    const [old] = (await listKeys(db)).filter((k) => k.state === 'current')
    const out = await keysOk(dir, ['rotate'])
    const keys = await listKeys(db)
    assert.equal(keys.find((k) => k.state === 'current')!.kid, pending.kid)
    const successor = keys.find((k) => k.state === 'next')!
    assert.match(
      out,
      new RegExp(
        `^Moved signing key ${old!.kid} \\(ES256\\): current -> previous: verifies the tokens it signed until .+Z, then retires\\.$`,
        'm',
      ),
    )
    assert.match(out, new RegExp(`^Moved signing key ${pending.kid} \\(ES256\\): next -> current\\.$`, 'm'))
    assert.match(out, new RegExp(`^Published signing key ${successor.kid} \\(ES256\\) as next`, 'm'))
    assert.match(out, new RegExp(`^Current signing key: ${pending.kid} \\(ES256\\)\\.$`, 'm'))
    assert.equal((await keyring.entries()).signingKid, pending.kid)
  })

  test('retire: the current key promotes the next at once and prints both; unknown or retired kids fail, exit 1', async (t) => {
    const dir = await dataDir(t, dialect)
    await keysOk(dir, ['rotate'])
    const { db, keyring } = await beside(t, dir)
    const before = await listKeys(db)
    const current = before.find((k) => k.state === 'current')!
    const next = before.find((k) => k.state === 'next')!
    const out = await keysOk(dir, ['retire', current.kid])
    assert.deepEqual(out.trimEnd().split('\n').slice(0, 3), [
      `Moved signing key ${current.kid} (ES256): current -> retired.`,
      `Moved signing key ${next.kid} (ES256): next -> current.`,
      `Every running server refuses the tokens ${current.kid} signed as soon as it hears of it, and it is gone from the JWKS.`,
    ])
    assert.match(out, new RegExp(`^Current signing key: ${next.kid} \\(ES256\\), current since .+Z\\.$`, 'm'))
    const row = await db.selectFrom('signing_keys').selectAll().where('kid', '=', current.kid).executeTakeFirstOrThrow()
    assert.deepEqual([row.state, row.private_key], ['retired', null])
    assert.equal((await keyring.entries()).signingKid, next.kid)

    const again = await keycard(dir, ['keys', 'retire', current.kid], KEYRING_ENV)
    assert.equal(again.code, 1)
    assert.equal(again.stderr, `keycard keys retire: signing key ${current.kid} is already retired\n`)
    const unknown = await keycard(dir, ['keys', 'retire', 'no-such-kid'], KEYRING_ENV)
    assert.equal(unknown.code, 1)
    assert.equal(unknown.stderr, 'keycard keys retire: no signing key has the kid "no-such-kid"; `keycard keys list` shows them\n')

    // A kid may begin with '-' (base64url): it is still a kid, not an option.
    const dashed = await keycard(dir, ['keys', 'retire', '-ZVOgp-wGKK0a_W3onAD80KI-tZ2gVHIN7Pgy6xR1LM'], KEYRING_ENV)
    assert.equal(
      dashed.stderr,
      'keycard keys retire: no signing key has the kid "-ZVOgp-wGKK0a_W3onAD80KI-tZ2gVHIN7Pgy6xR1LM"; `keycard keys list` shows them\n',
    )

    // With no next key, retiring the current one makes a new current key.
    const last = await keysOk(dir, ['retire', next.kid])
    const made = (await listKeys(db)).find((k) => k.state === 'current')!
    assert.match(last, new RegExp(`^Made signing key ${made.kid} \\(ES256\\): current at once\\.$`, 'm'))
    assert.equal((await listKeys(db)).filter((k) => k.state !== 'retired').length, 1)
  })

  test('rotate with another KEYS_SECRET than the ring was made with refuses, naming the kid and not the secret', async (t) => {
    const dir = await dataDir(t, dialect)
    await keysOk(dir, ['rotate'])
    const wrong = 'a-different-keys-secret-of-32-bytes-plus'
    const r = await keycard(dir, ['keys', 'rotate'], { ...KEYRING_ENV, KEYS_SECRET: wrong })
    assert.equal(r.code, 1)
    assert.match(
      r.stderr,
      /^keycard keys rotate: KEYS_SECRET does not decrypt the keyring: the private key of signing key [\w-]{43} was encrypted with another secret/,
    )
    assert.ok(!r.stderr.includes(wrong))
    assert.equal(r.stderr.split('\n').length, 2, 'one line')
    const { db } = await beside(t, dir)
    assert.equal((await listKeys(db)).length, 2, 'nothing was added')
  })
})

test('SQLite without KEYS_SECRET: the CLI generates the data dir keys-secret (0600) and the next run reuses it', async (t) => {
  const dir = await dataDir(t, 'sqlite')
  await keysOk(dir, ['rotate'], { KEYS_SECRET: undefined })
  const file = join(dir, 'keys-secret')
  assert.equal(statSync(file).mode & 0o777, 0o600)
  const secret = readFileSync(file, 'utf8').trim()
  const db = openBeside(t, { dbPath: testEnv(dir).DATABASE_URL! })
  assert.equal((await new Keyring({ db, keysSecret: secret, ...POLICY }).entries()).keys.length, 2)
  // The next run opens the ring with the same file: rotate checks that it decrypts.
  assert.match(await keysOk(dir, ['rotate'], { KEYS_SECRET: undefined }), /^Nothing changed\./)
})
