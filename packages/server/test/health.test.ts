/** GET /healthz: 200 while the database answers, 503 when it does not. */

import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import { openDatabase } from '../src/db/database.ts'
import { startServer, tempDir } from './helpers.ts'

test('healthz answers 200 when the database answers', async (t) => {
  const s = await startServer(t)
  const res = await s.api('GET', '/healthz')
  assert.equal(res.status, 200)
  assert.deepEqual(res.body, { status: 'ok' })
})

test('healthz answers 503 when the database is closed', async (t) => {
  const dir = tempDir(t)
  const db = openDatabase(join(dir, 'keycard.db'))
  const s = await startServer(t, {}, { db, dir })
  assert.equal((await s.api('GET', '/healthz')).status, 200)
  await db.destroy()
  const res = await s.api('GET', '/healthz')
  assert.equal(res.status, 503)
  assert.deepEqual(res.body, { msg: 'Database unavailable', code: 'DATABASE_UNAVAILABLE' })
})
