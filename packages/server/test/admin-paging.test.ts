/**
 * GET /admin/users pages by key on both databases: `?limit=&after=<the previous page's next>`, a `next`
 * cursor that is null on the last page, pages that neither skip nor repeat a user when users are deleted
 * or added between two requests, and a 400 naming the parameter (`offset` included) for bad ones.
 */

import assert from 'node:assert/strict'
import { describe, type TestContext, test } from 'node:test'
import { openDatabase } from '../src/db/database.ts'
import { createPasswordHasher } from '../src/passwords.ts'
import { createUser } from '../src/users.ts'
import { DIALECTS, type Dialect, PASSWORD, startServer, type TestServer } from './helpers.ts'

const NAMES = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank']

/** A server with an admin `root` (made as the CLI does, in the database) and the users of NAMES, in that order. */
async function withUsers(t: TestContext, dialect: Dialect): Promise<{ s: TestServer; admin: string }> {
  const s = await startServer(t, {}, { dialect })
  const db = openDatabase(s.config.databaseUrl)
  try {
    await createUser(db, createPasswordHasher(s.config.argon2), { username: 'root', password: PASSWORD, admin: true })
  } finally {
    await db.destroy()
  }
  for (const name of NAMES) await s.register(name, { email: `${name}@example.com` })
  return { s, admin: (await s.login('root')).access_token }
}

const names = (body: any) => body.users.map((u: any) => u.username)

for (const dialect of DIALECTS) {
  describe(dialect, () => {
    test('an admin walks the users page by page with the next cursor, to a null one on the last page', async (t) => {
      const { s, admin } = await withUsers(t, dialect)
      const all = await s.api('GET', '/admin/users', { token: admin })
      assert.equal(all.status, 200)
      assert.deepEqual(Object.keys(all.body).sort(), ['limit', 'next', 'total', 'users'])
      assert.deepEqual([all.body.total, all.body.limit, all.body.next], [7, 50, null])
      assert.deepEqual(names(all.body), ['root', ...NAMES])
      assert.deepEqual(Object.keys(all.body.users[0]).sort(), ['admin', 'email', 'id', 'registered_on', 'username'])
      assert.ok(!JSON.stringify(all.body).includes('argon2'), 'no password hashes')

      const seen: string[][] = []
      let after: number | null | undefined
      do {
        const page = await s.api('GET', `/admin/users?limit=3${after === undefined ? '' : `&after=${after}`}`, { token: admin })
        assert.equal(page.status, 200, page.text)
        assert.equal(page.body.total, 7)
        assert.equal(page.body.limit, 3)
        const ids = page.body.users.map((u: any) => u.id)
        assert.deepEqual(
          ids,
          [...ids].sort((x: number, y: number) => x - y),
          'by id',
        )
        if (after != null) assert.ok(ids[0] > after, 'starts after the cursor')
        // The cursor is the page's last id while there are more users after it.
        assert.equal(page.body.next, seen.length < 2 ? ids.at(-1) : null)
        seen.push(names(page.body))
        after = page.body.next
      } while (after !== null && seen.length < 5)
      assert.deepEqual(seen, [['root', 'alice', 'bob'], ['carol', 'dave', 'erin'], ['frank']])
    })

    test('a last page that is exactly full has a null next; past the last id the page is empty', async (t) => {
      const { s, admin } = await withUsers(t, dialect)
      const first = await s.api('GET', '/admin/users?limit=4', { token: admin })
      const second = await s.api('GET', `/admin/users?limit=3&after=${first.body.next}`, { token: admin })
      assert.deepEqual(names(second.body), ['dave', 'erin', 'frank'])
      assert.equal(second.body.next, null)
      const past = await s.api('GET', '/admin/users?after=999999999999999', { token: admin })
      assert.equal(past.status, 200)
      assert.deepEqual([past.body.users, past.body.next, past.body.total], [[], null, 7])
      // Ids past PostgreSQL's 32-bit serial name no user there either: a 404, not an error.
      for (const id of ['2147483648', '999999999999999']) {
        const res = await s.api('DELETE', `/admin/users/${id}`, { token: admin })
        assert.equal(res.status, 404, id)
        assert.deepEqual(res.body, { msg: 'User not found', code: 'USER_NOT_FOUND' })
      }
    })

    test('users deleted or added between two pages neither shift nor repeat the next page (OFFSET would)', async (t) => {
      const { s, admin } = await withUsers(t, dialect)
      const first = await s.api('GET', '/admin/users?limit=2', { token: admin })
      assert.deepEqual(names(first.body), ['root', 'alice'])
      // alice (on the page just read) and bob (the next page's first) are deleted, and a user is added.
      for (const name of ['alice', 'bob']) {
        const id = (await s.api('GET', '/admin/users', { token: admin })).body.users.find((u: any) => u.username === name).id
        assert.equal((await s.api('DELETE', `/admin/users/${id}`, { token: admin })).status, 200)
      }
      await s.register('zoe')
      const second = await s.api('GET', `/admin/users?limit=2&after=${first.body.next}`, { token: admin })
      assert.deepEqual(names(second.body), ['carol', 'dave'])
      assert.equal(second.body.total, 6)
      const third = await s.api('GET', `/admin/users?limit=10&after=${second.body.next}`, { token: admin })
      assert.deepEqual(names(third.body), ['erin', 'frank', 'zoe'])
      assert.equal(third.body.next, null)
    })

    test('bad paging parameters are a 400 naming the parameter; offset says to use after', async (t) => {
      const { s, admin } = await withUsers(t, dialect)
      const LIMIT = 'Query parameter limit must be an integer from 1 to 100'
      const AFTER = "Query parameter after must be a user id (the previous page's next)"
      const OFFSET =
        "Query parameter offset is not supported: pages are by key; pass after=<the previous page's next> (omit it for the first page)"
      for (const [query, field, msg] of [
        ['limit=0', 'limit', LIMIT],
        ['limit=101', 'limit', LIMIT],
        ['limit=abc', 'limit', LIMIT],
        ['limit=1.5', 'limit', LIMIT],
        ['limit=1&limit=2', 'limit', LIMIT],
        ['after=-1', 'after', AFTER],
        ['after=abc', 'after', AFTER],
        ['after=1.5', 'after', AFTER],
        ['after=1e3', 'after', AFTER],
        ['after=1&after=2', 'after', AFTER],
        ['after=1234567890123456', 'after', AFTER],
        ['offset=0', 'offset', OFFSET],
        ['offset=50&limit=10', 'offset', OFFSET],
        ['after=2&offset=2', 'offset', OFFSET],
      ] as const) {
        const res = await s.api('GET', `/admin/users?${query}`, { token: admin })
        assert.equal(res.status, 400, query)
        assert.deepEqual(res.body, { msg, code: 'INVALID_QUERY', field }, query)
      }
    })
  })
}
