/**
 * Moving off Flask, end to end: a Python script (fixtures/flask_users.py) makes the two tutorials'
 * user tables with real passlib, bcrypt and Werkzeug hashes; `keycard import` copies them into
 * Keycard's database (SQLite or PostgreSQL, read from a SQLite file or a PostgreSQL database of the
 * same dialect); the server logs those users in over HTTP with their old passwords, their stored hash
 * becomes argon2id, a second login works and a wrong password fails; re-running the import is safe.
 */

import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { describe, test, type TestContext } from 'node:test'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { dataDir, type Dialect, forEachDialect, openBeside, postgresDatabase, startServer, tempDir, testEnv } from './helpers.ts'
import { keycardCli } from './instances.ts'

const PYTHON = '/usr/bin/python3'
const SCRIPT = fileURLToPath(new URL('./fixtures/flask_users.py', import.meta.url))

interface FlaskRows {
  jwt: [number, string, string][]
  bcrypt: [number, string, string, string, boolean][]
}

/** Runs the fixture script: the two SQLite files, and their rows; fails saying what to install. */
function makeFlaskDatabases(dir: string): { jwt: string; bcrypt: string; rows: FlaskRows } {
  const probe = spawnSync(PYTHON, ['-c', 'import passlib.hash, bcrypt, werkzeug.security'], { encoding: 'utf8' })
  if (probe.error || probe.status !== 0)
    assert.fail(
      `${PYTHON} cannot import passlib, bcrypt and werkzeug (${probe.error?.message ?? probe.stderr.trim().split('\n').pop()}). ` +
        'Install them with `apt-get install python3-passlib python3-bcrypt python3-werkzeug`; this test does not skip.',
    )
  const jwt = join(dir, 'jwt.db')
  const bcrypt = join(dir, 'bcrypt.db')
  const run = spawnSync(PYTHON, [SCRIPT, jwt, bcrypt], { encoding: 'utf8' })
  assert.equal(run.status, 0, run.stderr)
  return { jwt, bcrypt, rows: JSON.parse(run.stdout) as FlaskRows }
}

/** The same two tables on PostgreSQL, as Flask-SQLAlchemy would create them there (password widened from the tutorial's 120: a Werkzeug scrypt hash has 162 characters). */
async function postgresSources(t: TestContext, rows: FlaskRows): Promise<{ jwt: string; bcrypt: string }> {
  const urls = { jwt: await postgresDatabase(t), bcrypt: await postgresDatabase(t) }
  const load = async (url: string, ddl: string, insert: string, values: unknown[][]) => {
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    try {
      await client.query(ddl)
      for (const row of values) await client.query(insert, row)
    } finally {
      await client.end()
    }
  }
  await load(
    urls.jwt,
    'CREATE TABLE users (id SERIAL PRIMARY KEY, username VARCHAR(120) NOT NULL UNIQUE, password VARCHAR(255) NOT NULL)',
    'INSERT INTO users (id, username, password) VALUES ($1, $2, $3)',
    rows.jwt,
  )
  await load(
    urls.bcrypt,
    'CREATE TABLE users (id SERIAL PRIMARY KEY, email VARCHAR(255) NOT NULL UNIQUE, password VARCHAR(255) NOT NULL, registered_on TIMESTAMP NOT NULL, admin BOOLEAN NOT NULL)',
    'INSERT INTO users (id, email, password, registered_on, admin) VALUES ($1, $2, $3, $4, $5)',
    rows.bcrypt,
  )
  return urls
}

async function sources(t: TestContext, dialect: Dialect): Promise<{ jwt: string; bcrypt: string }> {
  const made = makeFlaskDatabases(tempDir(t))
  return dialect === 'postgres' ? postgresSources(t, made.rows) : made
}

/** `keycard import … --json`, parsed; fails the test on a non-zero exit. */
async function importJson(t: TestContext, databaseUrl: string, args: string[]) {
  const res = await keycardCli(t, databaseUrl, ['import', ...args, '--json'])
  assert.equal(res.code, 0, res.stderr)
  return JSON.parse(res.stdout) as {
    dry_run: boolean
    imported: { id: number; username: string; email: string | null; admin: boolean; registered_on: string; format: string }[]
    already_imported: { id: number; username: string }[]
    skipped: { id: number; login: string | null; reason: string }[]
  }
}

const skippedOf = (report: Awaited<ReturnType<typeof importJson>>) => report.skipped.map((s) => [s.id, s.reason])

forEachDialect((dialect) => {
  describe('keycard import from a Flask database', () => {
    test('both tutorials: import, log in with the old passwords, re-hash to argon2id, re-run safely', async (t) => {
      const from = await sources(t, dialect)
      const dir = await dataDir(t, dialect)
      const url = testEnv(dir).DATABASE_URL!

      const jwt = await importJson(t, url, ['--from', from.jwt, '--preset', 'flask-jwt-tutorial'])
      assert.deepEqual(
        jwt.imported.map((u) => [u.id, u.username, u.format]),
        [
          [1, 'alice', 'passlib-pbkdf2-sha256'],
          [2, 'Zoë', 'passlib-pbkdf2-sha256'],
          [6, 'werk', 'werkzeug-pbkdf2-sha256'],
          [7, 'scryptuser', 'werkzeug-scrypt'],
          [40, 'bob', 'passlib-pbkdf2-sha256'],
        ],
      )
      assert.deepEqual(skippedOf(jwt), [
        [3, "username may hold only letters, digits, '_', '.' and '-' (any script): ' ' (U+0020) is not allowed"],
        [4, 'username "ALICE" is taken by another user (id 1)'],
        [5, 'password hash: unknown hash format'],
      ])

      // A dry run reports the same as the real run after it, and writes nothing.
      const dry = await importJson(t, url, ['--from', from.bcrypt, '--preset', 'flask-bcrypt-tutorial', '--dry-run'])
      const bcrypt = await importJson(t, url, ['--from', from.bcrypt, '--preset', 'flask-bcrypt-tutorial'])
      assert.equal(dry.dry_run, true)
      assert.deepEqual({ ...dry, dry_run: false }, bcrypt)
      assert.deepEqual(
        bcrypt.imported.map((u) => [u.id, u.username, u.email, u.admin, u.registered_on]),
        [
          [100, 'root', 'root@example.com', true, '2019-03-04T05:06:07.000Z'],
          [101, 'carol.smith_flask', 'carol.smith+flask@example.com', false, '2020-01-02T03:04:05.000Z'],
          [103, 'bob-103', 'bob@example.com', false, '2021-06-07T08:09:10.000Z'],
        ],
      )
      assert.deepEqual(skippedOf(bcrypt), [
        [1, 'id 1 is taken by a different Keycard user'],
        [102, 'email must be an email address such as name@example.com'],
      ])
      for (const report of [jwt, bcrypt]) assert.doesNotMatch(JSON.stringify(report), /\$pbkdf2|\$2b\$|scrypt:|pbkdf2:/)

      const server = await startServer(t, {}, { dialect, dir })
      const db = openBeside(t, server)
      const hashOf = async (id: number) =>
        (await db.selectFrom('users').select('password_hash').where('id', '=', id).executeTakeFirstOrThrow()).password_hash
      const logins: [number, string, string][] = [
        [1, 'alice', 'alice password'],
        [2, 'ZOË', 'zoë pässword'],
        [6, 'werk', 'werk password'],
        [7, 'scryptuser', 'scrypt password'],
        [40, 'bob', 'bob password'],
        [100, 'root@example.com', 'root password'],
        [101, 'carol.smith+flask@example.com', 'carol password'],
        [103, 'bob-103', 'other bob password'],
      ]
      for (const [id, login, password] of logins) {
        assert.doesNotMatch(await hashOf(id), /^\$argon2id\$/, login)
        assert.equal((await server.api('POST', '/auth/login', { body: { username: login, password: `${password}x` } })).status, 401, login)
        const first = await server.login(login, password)
        const me = await server.api('GET', '/auth/me', { token: first.access_token })
        assert.equal(me.body.id, id, login)
        assert.match(await hashOf(id), /^\$argon2id\$/, login)
        await server.login(login, password) // now against the argon2id hash
        assert.equal(
          (await server.api('POST', '/auth/login', { body: { username: login, password: 'wrong password' } })).status,
          401,
          login,
        )
      }
      // The Flask service's `sub` still names the same users, and new ids continue past the imported ones.
      const root = await server.login('root', 'root password')
      assert.equal((await server.api('GET', '/auth/me', { token: root.access_token })).body.admin, true)
      assert.equal((await server.register('newcomer')).user.id, 104)

      const again = await importJson(t, url, ['--from', from.jwt, '--preset', 'flask-jwt-tutorial'])
      assert.deepEqual(again.imported, [])
      assert.deepEqual(
        again.already_imported.map((u) => u.id),
        [1, 2, 6, 7, 40],
      )
      assert.deepEqual(skippedOf(again), skippedOf(jwt))
      const againBcrypt = await importJson(t, url, ['--from', from.bcrypt, '--preset', 'flask-bcrypt-tutorial'])
      assert.deepEqual(
        [againBcrypt.imported, againBcrypt.already_imported.map((u) => u.username)],
        [[], ['root', 'carol.smith_flask', 'bob-103']],
      )
      assert.match(await hashOf(1), /^\$argon2id\$/) // the re-hashed password was not put back
      await server.login('alice', 'alice password')
    })
  })
})
