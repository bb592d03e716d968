/**
 * The data dir, the SQLite file with its -wal and -shm, and the generated JWT secret are created private.
 *
 * SQLite-only: about the files SQLite keeps.
 */

import assert from 'node:assert/strict'
import { statSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { startServer, tempDir } from './helpers.ts'

const mode = (path: string) => (statSync(path).mode & 0o777).toString(8)

test('a new data dir is 0700; the database, -wal, -shm and jwt-secret are 0600', async (t) => {
  const root = tempDir(t)
  const dataDir = join(root, 'data', 'nested')
  // No JWT_SECRET: the server generates one into the data dir.
  const s = await startServer(t, { DATABASE_URL: join(dataDir, 'keycard.db'), JWT_SECRET: undefined, JWT_ALGORITHM: 'HS256' })
  await s.register('alice') // a write: the -wal and -shm files exist from here
  assert.equal(mode(dataDir), '700')
  assert.equal(mode(join(root, 'data')), '700')
  for (const file of ['keycard.db', 'keycard.db-wal', 'keycard.db-shm', 'jwt-secret']) assert.equal(mode(join(dataDir, file)), '600', file)
})
