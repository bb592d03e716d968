/**
 * The purge deletes expired sessions in batches (short statements, the event loop free between them),
 * and on PostgreSQL on one instance at a time (an advisory lock): the others only sweep their memory.
 */

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { openDatabase } from '../src/db/database.ts'
import { PURGE_LOCK, purgeExpired, Revocations } from '../src/revocations.ts'
import { DIALECTS, startServer } from './helpers.ts'
import { connect } from './revocation-events.ts'

for (const dialect of DIALECTS) {
  test(`[${dialect}] expired sessions are deleted in batches, the live ones kept`, async (t) => {
    const s = await startServer(t, {}, { dialect })
    const db = openDatabase(s.config.databasePath)
    t.after(() => db.destroy())
    const now = Math.floor(Date.now() / 1000)
    const row = (id: string, expires_at: number, revoked_at: number | null) => ({
      id,
      user_id: null,
      created_at: now - 100,
      last_used_at: now - 100,
      expires_at,
      revoked_at,
    })
    await db
      .insertInto('sessions')
      .values([
        ...[1, 2, 3, 4, 5].map((i) => row(`old-${i}`, now - i, i % 2 ? now - 50 : null)),
        row('live', now + 100, null),
        row('revoked-live', now + 100, now - 1),
      ])
      .execute()
    const revocations = await Revocations.load(db)
    revocations.add([{ id: 'gone', expires_at: now - 1 }])

    assert.deepEqual(await purgeExpired(db, revocations, now, 2), { rows: 5, memory: 1 })
    const left = await db.selectFrom('sessions').select('id').orderBy('id').execute()
    assert.deepEqual(
      left.map((r) => r.id),
      ['live', 'revoked-live'],
    )
    assert.equal(revocations.isSessionRevoked('revoked-live'), true)
  })
}

test('[postgres] while another instance holds the purge lock, this one deletes nothing and sweeps only its memory', async (t) => {
  const s = await startServer(t, {}, { dialect: 'postgres' })
  const db = openDatabase(s.config.databasePath)
  t.after(() => db.destroy())
  const now = Math.floor(Date.now() / 1000)
  await db
    .insertInto('sessions')
    .values({ id: 'old', user_id: null, created_at: now - 10, last_used_at: now - 10, expires_at: now - 1 })
    .execute()
  const other = await connect(s.config.databasePath)
  t.after(() => other.end())
  assert.equal((await other.query('select pg_try_advisory_lock($1) as locked', [PURGE_LOCK])).rows[0].locked, true)

  const revocations = new Revocations()
  assert.deepEqual(await purgeExpired(db, revocations, now), { rows: null, memory: 0 })
  assert.equal((await db.selectFrom('sessions').select('id').execute()).length, 1)

  await other.query('select pg_advisory_unlock($1)', [PURGE_LOCK])
  assert.deepEqual(await purgeExpired(db, revocations, now), { rows: 1, memory: 0 })
  // The lock is released after each purge: another instance may take it next time.
  assert.equal((await other.query('select pg_try_advisory_lock($1) as locked', [PURGE_LOCK])).rows[0].locked, true)
})
