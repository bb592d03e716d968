/** GET /healthz: 200 while the database answers, 503 when it does not. */

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { openDatabase } from '../src/db/database.ts'
import { startServer, forEachDialect, testDatabaseUrl } from './helpers.ts'

forEachDialect((dialect) => {
  test('healthz answers 200 when the database answers', async (t) => {
    const s = await startServer(t, {}, { dialect })
    const res = await s.api('GET', '/healthz')
    assert.equal(res.status, 200)
    assert.deepEqual(res.body, { status: 'ok' })
  })

  test('healthz answers 503 when the database is closed', async (t) => {
    const { url, dir } = await testDatabaseUrl(t, dialect)
    const db = openDatabase(url)
    const s = await startServer(t, {}, { dialect, db, dir })
    assert.equal((await s.api('GET', '/healthz')).status, 200)
    await db.destroy()
    const res = await s.api('GET', '/healthz')
    assert.equal(res.status, 503)
    assert.equal(res.body.code, 'DATABASE_UNAVAILABLE')
    assert.match(res.body.msg, /^Database unavailable/)
  })
})
