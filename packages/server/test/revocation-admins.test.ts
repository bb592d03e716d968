/**
 * The admin set is re-read whole on every poll, while notifications (and this process's own writes)
 * change it one user at a time: a change heard while a re-read is in flight must survive the re-read,
 * whose snapshot may predate it.
 */

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Admins } from '../src/admins.ts'
import { openDatabase } from '../src/db/database.ts'
import { migrateToLatest } from '../src/db/migrations/index.ts'

test('a change heard during a re-read is applied on top of it, not undone by it', async (t) => {
  const db = openDatabase(':memory:')
  t.after(() => db.destroy())
  await migrateToLatest(db, () => {})
  await db
    .insertInto('users')
    .values([1, 2].map((id) => ({ id, username: `u${id}`, username_key: `u${id}`, password_hash: 'x', admin: 1, registered_on: 0 })))
    .execute()
  const admins = await Admins.load(db)
  assert.deepEqual([admins.has('1'), admins.has('2')], [true, true])

  // The re-read reads users 1 and 2 as admins; meanwhile user 1 is demoted and user 3 promoted (notified).
  const reread = admins.reload(db)
  admins.set(1, false)
  admins.set(3, true)
  await reread
  assert.deepEqual([admins.has('1'), admins.has('2'), admins.has('3')], [false, true, true])

  // The next re-read, with nothing heard meanwhile, is the table as it is.
  await admins.reload(db)
  assert.deepEqual([admins.has('1'), admins.has('2'), admins.has('3')], [true, true, false])
})
