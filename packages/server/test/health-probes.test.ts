/** GET /health/live and /health/ready: ready fails (503, Retry-After, what failed) on a dead database or a pending migration; live stays 200. */

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Migrator } from 'kysely'
import { openDatabase } from '../src/db/database.ts'
import { migrations } from '../src/db/migrations/index.ts'
import { forEachDialect, startServer, testDatabaseUrl } from './helpers.ts'

forEachDialect((dialect) => {
  test('live and ready answer 200 on a healthy server', async (t) => {
    const s = await startServer(t, {}, { dialect })
    for (const path of ['/health/live', '/health/ready']) {
      const res = await s.api('GET', path)
      assert.equal(res.status, 200, `${path}: ${res.text}`)
      assert.deepEqual(res.body, { status: 'ok' })
    }
  })

  test('ready answers 503 DATABASE_UNAVAILABLE with Retry-After when the database is closed; live stays 200', async (t) => {
    const { url, dir } = await testDatabaseUrl(t, dialect)
    const db = openDatabase(url)
    const s = await startServer(t, {}, { dialect, db, dir })
    assert.equal((await s.api('GET', '/health/ready')).status, 200)
    await db.destroy()
    const res = await s.api('GET', '/health/ready')
    assert.equal(res.status, 503)
    assert.equal(res.body.code, 'DATABASE_UNAVAILABLE')
    assert.match(res.body.msg, /^Not ready: database cannot be read and written/)
    assert.equal(res.headers.get('retry-after'), '1')
    assert.equal((await s.api('GET', '/health/live')).status, 200)
  })

  test('ready answers 503 MIGRATIONS_PENDING naming the migration a newer list adds', async (t) => {
    const { url, dir } = await testDatabaseUrl(t, dialect)
    const db = openDatabase(url)
    t.after(() => db.destroy())
    const s = await startServer(t, {}, { dialect, db, dir })
    assert.equal((await s.api('GET', '/health/ready')).status, 200)
    // Roll the newest migration back behind the server's back: the database is now an older one's.
    const newest = Object.keys(migrations).sort().at(-1)!
    const { error } = await new Migrator({
      db,
      provider: { getMigrations: async () => ({ ...migrations }) },
      allowUnorderedMigrations: true,
    }).migrateDown()
    assert.equal(error, undefined)
    const res = await s.api('GET', '/health/ready')
    assert.equal(res.status, 503, res.text)
    assert.equal(res.body.code, 'MIGRATIONS_PENDING')
    assert.ok(res.body.msg.includes(newest), res.body.msg)
    assert.match(res.body.msg, /keycard migrate/)
    assert.equal((await s.api('GET', '/health/live')).status, 200)
    assert.equal((await s.api('GET', '/healthz')).status, 200, '/healthz is unchanged: it does not check migrations')
  })
})
