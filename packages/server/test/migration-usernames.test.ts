/**
 * Migration 0002-identity-keys on a real SQLite file made with the old schema (0001 only) and rows the
 * old rules allowed, plus rows written by hand: keys filled, nothing lost, collisions kept and
 * reported (by the migration, the server's log and `keycard migrate`), a failure rolled back.
 *
 * SQLite-only: it migrates SQLite files made by the old schema; PostgreSQL databases start at the
 * current migrations.
 */

import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { join, resolve } from 'node:path'
import { test, type TestContext } from 'node:test'
import { fileURLToPath } from 'node:url'
import { sql, type Kysely } from 'kysely'
import { Migrator } from 'kysely'
import { openDatabase } from '../src/db/database.ts'
import * as m0001 from '../src/db/migrations/0001-init.ts'
import { createMigrator, migrateToLatest, type KeyCollision } from '../src/db/migrations/index.ts'
import type { Database } from '../src/db/schema.ts'
import { createPasswordHasher } from '../src/passwords.ts'
import { renameUser } from '../src/users.ts'
import { loadConfig } from '../src/config.ts'
import { PASSWORD, startServer, tempDir, testEnv } from './helpers.ts'
import { codeOf } from './field-errors.ts'

const ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)))
const MAIN = join(ROOT, 'packages/server/src/cli/main.ts')

/** A database file as the server before 0002 left it: schema 0001, and users as the old rules stored them. */
async function oldDatabase(t: TestContext, dir: string): Promise<Kysely<any>> {
  const db = openDatabase(join(dir, 'keycard.db')) as Kysely<any>
  t.after(() => db.destroy())
  const { error } = await new Migrator({ db, provider: { getMigrations: async () => ({ '0001-init': m0001 }) } }).migrateToLatest()
  assert.ifError(error)
  const hash = await createPasswordHasher(loadConfig(testEnv(dir)).argon2).hash(PASSWORD)
  const rows: [string, string | null][] = [
    ['alice', 'alice@example.com'],
    // The old rules lower-cased emails but did not fold or normalise them: these two pairs collide now.
    ['bob', 'straße@example.de'],
    ['bob2', 'strasse@example.de'],
    ['eve', 'e\u0301@example.com'],
    ['eve2', '\u00e9@example.com'],
    // Never possible through the old rules (usernames were stored lower-cased), but written by hand.
    ['carol', null],
    ['Carol', 'carol@example.com'],
    ['dave', null],
  ]
  for (const [i, [username, email]] of rows.entries()) {
    await db
      .insertInto('users')
      .values({ username, email, password_hash: hash, admin: i === 0 ? 1 : 0, registered_on: 1_700_000_000 + i })
      .execute()
  }
  await db
    .insertInto('sessions')
    .values({ id: 'sid-1', user_id: 6, created_at: 1, last_used_at: 1, expires_at: 4_000_000_000, refresh_jti: 'j' })
    .execute()
  return db
}

test('0002 fills the keys of old rows, keeps every row, and reports the rows whose keys collide', async (t) => {
  const dir = tempDir(t)
  const db = await oldDatabase(t, dir)
  const before = await db
    .selectFrom('users')
    .select(['id', 'username', 'email', 'password_hash', 'admin', 'registered_on'])
    .orderBy('id')
    .execute()
  const reported: KeyCollision[] = []
  assert.deepEqual(await migrateToLatest(db, (c) => reported.push(c)), [
    '0002-identity-keys',
    '0003-database-identity',
    '0004-revocation-notify',
    '0005-keyring',
    '0006-throttle',
    '0007-audit',
    '0008-flask-tokens',
  ])

  const after = await db.selectFrom('users').selectAll().orderBy('id').execute()
  assert.deepEqual(
    after.map(({ username_key, email_key, ...rest }) => rest),
    before,
    'no row lost or changed',
  )
  assert.deepEqual(
    after.map((r) => [r.id, r.username_key, r.email_key]),
    [
      [1, 'alice', 'alice@example.com'],
      [2, 'bob', 'strasse@example.de'],
      [3, 'bob2', null],
      [4, 'eve', 'é@example.com'],
      [5, 'eve2', null],
      [6, 'carol', null],
      [7, 'carol#7', 'carol@example.com'],
      [8, 'dave', null],
    ],
  )
  assert.deepEqual(
    reported.map((c) => [c.field, c.userId, c.keptUserId]),
    [
      ['email', 3, 2],
      ['email', 5, 4],
      ['username', 7, 6],
    ],
  )
  assert.equal(
    reported[2]!.message,
    'migration 0002-identity-keys: username "Carol" (id 7) is the same name, ignoring case, as "carol" (id 6); ' +
      'it cannot log in by name (by email it still can) until renamed: keycard users rename 7 <new-name>',
  )
  // Emails are user data: the report names users by id and username only.
  for (const c of reported) assert.doesNotMatch(c.message, /example\.de|example\.com/)
  assert.deepEqual(await db.selectFrom('sessions').select(['id', 'user_id']).execute(), [{ id: 'sid-1', user_id: 6 }])

  // The keys are unique now: a second "CAROL" or "Strasse@…" cannot be written even by hand.
  await assert.rejects(
    db.insertInto('users').values({ username: 'CAROL', username_key: 'carol', password_hash: 'x', registered_on: 1 }).execute(),
    /UNIQUE constraint failed: users.username_key/,
  )
  await assert.rejects(
    db
      .insertInto('users')
      .values({ username: 'zed', username_key: 'zed', email: 'x', email_key: 'strasse@example.de', password_hash: 'x', registered_on: 1 })
      .execute(),
    /UNIQUE constraint failed: users.email_key/,
  )
})

test('after 0002 the server logs the collisions and logs old users in by any case of their name or email', async (t) => {
  const dir = tempDir(t)
  await oldDatabase(t, dir)
  const s = await startServer(t, {}, { dir })
  const warnings = s.logLines().filter((l) => l.level === 40 && String(l.msg).startsWith('migration 0002-identity-keys'))
  assert.deepEqual(
    warnings.map((w) => [w.field, w.userId, w.keptUserId]),
    [
      ['email', 3, 2],
      ['email', 5, 4],
      ['username', 7, 6],
    ],
  )

  const loginAs = async (username: string) => {
    const res = await s.api('POST', '/auth/login', { body: { username, password: PASSWORD } })
    return res.status === 200 ? (await s.api('GET', '/auth/me', { token: res.body.access_token })).body.id : res.status
  }
  assert.equal(await loginAs('ALICE'), 1)
  assert.equal(await loginAs('Alice@Example.COM'), 1)
  assert.equal(await loginAs('STRASSE@example.de'), 2)
  assert.equal(await loginAs('E\u0301@example.com'), 4)
  // The earlier Carol keeps the name; the later one still logs in by email.
  assert.equal(await loginAs('CAROL'), 6)
  assert.equal(await loginAs('carol@example.com'), 7)
  // Renamed as the report says, the later Carol logs in by her new name; dave takes his capital back.
  const db = openDatabase(join(dir, 'keycard.db'))
  t.after(() => db.destroy())
  assert.equal((await renameUser(db, 7, 'Carol2'))?.username_key, 'carol2')
  assert.equal(await loginAs('carol2'), 7)
  assert.equal((await renameUser(db, 8, 'Dave'))?.username, 'Dave')
  assert.equal(await loginAs('DAVE'), 8)
  const taken = await s.api('POST', '/auth/register', { body: { username: 'dave', password: PASSWORD } })
  assert.deepEqual([taken.status, taken.body], [409, { msg: 'Username is already taken', ...codeOf('Username is already taken') }])
  const takenEmail = await s.api('POST', '/auth/register', { body: { username: 'frank', password: PASSWORD, email: 'Straße@example.de' } })
  assert.deepEqual(
    [takenEmail.status, takenEmail.body],
    [409, { msg: 'Email is already registered', ...codeOf('Email is already registered') }],
  )
})

test('keycard migrate on an old database applies 0002 and prints the collisions on stderr', async (t) => {
  const dir = tempDir(t)
  const db = await oldDatabase(t, dir)
  await db.destroy()
  const env: NodeJS.ProcessEnv = { ...process.env, ...testEnv(dir), LOG_LEVEL: 'silent' }
  delete env.NODE_TEST_CONTEXT
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'migrate'], { cwd: ROOT, env })
  child.stdin.end()
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  const code = await new Promise((done) => child.on('close', done))
  assert.equal(code, 0, stderr)
  assert.match(stdout, /^ {2}applied 0002-identity-keys$/m)
  assert.deepEqual(
    stderr
      .trimEnd()
      .split('\n')
      .map((l) =>
        /^keycard: migration 0002-identity-keys: (?:username "\w+" \(id (\d)\)|the email of user "\w+" \(id (\d)\))/
          .exec(l)
          ?.slice(1)
          .find(Boolean),
      ),
    ['3', '5', '7'],
  )
})

test('a failing 0002 is rolled back whole, so it can run again once the cause is fixed', async (t) => {
  const dir = tempDir(t)
  const db = await oldDatabase(t, dir)
  // An index of that name already exists: the last step of 0002 fails.
  await sql`create index users_email_key on users (email)`.execute(db)
  await assert.rejects(
    migrateToLatest(db, () => {}),
    /Database migration "0002-identity-keys" failed: index users_email_key already exists/,
  )
  const columns = await sql<{ name: string }>`select name from pragma_table_info('users')`.execute(db)
  assert.ok(!columns.rows.some((c) => c.name === 'username_key'), 'the columns were added and left behind')
  await sql`drop index users_email_key`.execute(db)
  assert.deepEqual(await migrateToLatest(db, () => {}), [
    '0002-identity-keys',
    '0003-database-identity',
    '0004-revocation-notify',
    '0005-keyring',
    '0006-throttle',
    '0007-audit',
    '0008-flask-tokens',
  ])
})

test('0002 can be migrated down and up again', async (t) => {
  const dir = tempDir(t)
  const db = (await oldDatabase(t, dir)) as Kysely<Database>
  await migrateToLatest(db, () => {})
  // Down to 0001, through every later migration (the newest first, 0002 last).
  const { error } = await createMigrator(db, () => {}).migrateTo('0001-init')
  assert.ifError(error)
  const columns = await sql<{ name: string }>`select name from pragma_table_info('users')`.execute(db)
  assert.deepEqual(
    columns.rows.map((c) => c.name),
    ['id', 'username', 'email', 'password_hash', 'admin', 'registered_on'],
  )
  assert.deepEqual(await migrateToLatest(db, () => {}), [
    '0002-identity-keys',
    '0003-database-identity',
    '0004-revocation-notify',
    '0005-keyring',
    '0006-throttle',
    '0007-audit',
    '0008-flask-tokens',
  ])
  assert.equal((await db.selectFrom('users').select('username_key').where('id', '=', 7).executeTakeFirstOrThrow()).username_key, 'carol#7')
})
