/**
 * Tokens are tied to the database they were issued against (the `dbid` claim, the random id migration
 * 0003-database-identity makes once). A deleted and re-created database under the same JWT_SECRET
 * starts its user ids at 1 again: without the tie, an old token of user 1 acts on the new user 1.
 */

import assert from 'node:assert/strict'
import { rmSync } from 'node:fs'
import { test } from 'node:test'
import { sql } from 'kysely'
import { openDatabase } from '../src/db/database.ts'
import { claimsOf, openBeside, PASSWORD, signToken, startServer, tempDir, forEachDialect } from './helpers.ts'
import { readDatabaseId } from '../src/revocations.ts'

forEachDialect((dialect) => {
  const REVOKED = { msg: 'Token has been revoked', code: 'KEYCARD_TOKEN_REVOKED' }

  test('a replaced database refuses every token issued against the old one, even where the ids now name a new user', async (t) => {
    const dir = tempDir(t)
    const first = await startServer(t, {}, { dialect, dir })
    const alice = await first.register('alice') // user 1; fresh access token
    const loggedOut = await first.login('alice')
    assert.equal((await first.api('POST', '/auth/logout', { token: loggedOut.access_token })).status, 200)
    assert.equal((await first.api('GET', '/auth/verify', { token: loggedOut.access_token })).status, 401)
    const oldId = claimsOf(alice.access_token).dbid
    await first.close()

    // Deleted under the server (or replaced by another), then the server restarts with the same JWT_SECRET.
    if (dialect === 'postgres') {
      const db = openDatabase(first.dbPath)
      await sql`drop schema public cascade`.execute(db)
      await sql`create schema public`.execute(db)
      await db.destroy()
    } else for (const suffix of ['', '-wal', '-shm']) rmSync(first.dbPath + suffix, { force: true })
    const second = await startServer(t, {}, { dialect, dir })
    const bob = await second.register('bob')
    assert.equal(bob.user.id, alice.user.id, 'the new database gives the new user the old id')
    assert.notEqual(claimsOf(bob.access_token).dbid, oldId)

    // The old fresh token cannot change bob's password, nor read him, nor refresh.
    const password = await second.api('POST', '/auth/password', {
      token: alice.access_token,
      body: { new_password: 'an entirely new passphrase' },
    })
    assert.equal(password.status, 401)
    assert.deepEqual(password.body, REVOKED)
    assert.deepEqual((await second.api('GET', '/auth/me', { token: alice.access_token })).body, REVOKED)
    assert.equal((await second.api('POST', '/auth/refresh', { token: alice.refresh_token })).status, 401)
    // The logged-out token does not pass /auth/verify again now that its revocation is gone.
    const verify = await second.api('GET', '/auth/verify', { token: loggedOut.access_token })
    assert.equal(verify.status, 401)
    assert.deepEqual(verify.body, REVOKED)
    assert.equal(verify.headers.get('x-user-id'), null)
    assert.equal((await second.api('GET', '/auth/verify', { token: alice.access_token })).status, 401)
    // Bob's password is unchanged, and his own tokens work.
    assert.equal((await second.api('POST', '/auth/login', { body: { username: 'bob', password: PASSWORD } })).status, 200)
    assert.equal((await second.api('GET', '/auth/verify', { token: bob.access_token })).status, 200)
  })

  test('a restart on the same database keeps its identity and its tokens', async (t) => {
    const dir = tempDir(t)
    const first = await startServer(t, {}, { dialect, dir })
    const { access_token, refresh_token } = await first.register('alice')
    await first.close()
    const second = await startServer(t, {}, { dialect, dir })
    assert.equal((await second.api('GET', '/auth/me', { token: access_token })).status, 200)
    assert.equal((await second.api('POST', '/auth/refresh', { token: refresh_token })).status, 200)
    assert.equal(claimsOf(access_token).dbid, await readDatabaseId(openBeside(t, second)))
  })

  test('a validly signed token without the database claim, or with another, is refused everywhere', async (t) => {
    const s = await startServer(t, {}, { dialect })
    const { access_token } = await s.register('alice')
    const { sid, dbid } = claimsOf(access_token)
    assert.match(dbid, /^[A-Za-z0-9_-]{22}$/)
    for (const claims of [{ sid }, { sid, dbid: 'another-database-id00' }, { sid, dbid: 7 }]) {
      const token = signToken({ ...claims, fresh: true })
      assert.deepEqual((await s.api('GET', '/auth/me', { token })).body, REVOKED, JSON.stringify(claims))
      assert.equal((await s.api('GET', '/auth/verify', { token })).status, 401, JSON.stringify(claims))
    }
    // The same claims with the right database id pass: the claim is what was refused.
    assert.equal((await s.api('GET', '/auth/me', { token: signToken({ sid, dbid }) })).status, 200)
  })

  test('the identity is one row, made once', async (t) => {
    const s = await startServer(t, {}, { dialect })
    const direct = openBeside(t, s)
    const { rows } = await sql<{ singleton: number; id: string }>`select singleton, id from database_identity`.execute(direct)
    assert.equal(rows.length, 1)
    await assert.rejects(
      sql`insert into database_identity (singleton, id, created_at) values (2, 'x', 0)`.execute(direct),
      /check constraint/i,
    )
    await assert.rejects(sql`insert into database_identity (id, created_at) values ('x', 0)`.execute(direct), /constraint/i)
  })
})
