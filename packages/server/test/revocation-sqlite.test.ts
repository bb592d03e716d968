/**
 * SQLite: the poll is the only path, about once a second, so two processes on one file (two servers,
 * a server and the CLI, or hand-written SQL) learn of each other's revocations within about a second
 * instead of five; and a view that can no longer be confirmed fails closed there too.
 */

import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import { openDatabase } from '../src/db/database.ts'
import { pollIntervals } from '../src/services.ts'
import { claimsOf, openBeside, startServer, tempDir } from './helpers.ts'
import { recordEvents } from './revocation-events.ts'

test('two servers on one SQLite file: a logout on one is refused by the other after its next poll (every second)', async (t) => {
  const dir = tempDir(t)
  const a = await startServer(t, {}, { dir, dialect: 'sqlite' })
  const events = recordEvents()
  const b = await startServer(t, {}, { dir, dialect: 'sqlite', deps: events.deps })
  assert.equal(pollIntervals(b.config).pollMs, 1000)

  await a.register('alice')
  const session = await a.login('alice')
  assert.equal((await b.api('GET', '/auth/verify', { token: session.access_token })).status, 200)
  assert.equal((await a.api('POST', '/auth/logout', { token: session.access_token })).status, 200)
  // The second poll from now began after the logout committed.
  await events.polled(2)
  assert.equal((await b.api('GET', '/auth/verify', { token: session.access_token })).status, 401)
  assert.equal((await b.api('POST', '/auth/refresh', { token: session.refresh_token })).status, 401)
})

test('a revocation written by hand on the same file is enforced after the poll', async (t) => {
  const events = recordEvents()
  const s = await startServer(t, {}, { dialect: 'sqlite', deps: events.deps })
  const bob = await s.register('bob')
  const beside = openBeside(t, s)
  await beside
    .updateTable('sessions')
    .set({ revoked_at: Math.floor(Date.now() / 1000) - 3 }) // a revoked_at a little older than its commit (it waited for the lock)
    .where('id', '=', claimsOf(bob.access_token).sid)
    .execute()
  await events.polled(2)
  assert.equal((await s.api('GET', '/auth/verify', { token: bob.access_token })).status, 401)
})

test('a SQLite database that can no longer be read: past the bound the instance answers 503, /healthz too', async (t) => {
  const dir = tempDir(t)
  const db = openDatabase(join(dir, 'keycard.db'))
  const events = recordEvents()
  const s = await startServer(t, { REVOCATION_MAX_STALENESS: '1' }, { db, dir, dialect: 'sqlite', deps: events.deps })
  const carol = await s.register('carol')
  const stale = events.next('stale')
  await db.destroy()
  await stale
  const res = await s.api('GET', '/auth/verify', { token: carol.access_token })
  assert.equal(res.status, 503)
  assert.equal(res.headers.get('retry-after'), '1')
  assert.equal(res.body.code, 'REVOCATION_VIEW_STALE')
  assert.equal((await s.api('GET', '/auth/me', { token: carol.access_token })).status, 503)
  assert.equal((await s.api('GET', '/healthz')).body.code, 'REVOCATION_VIEW_STALE')
})
