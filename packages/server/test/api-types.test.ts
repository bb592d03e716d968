/**
 * src/api-types.ts is the one definition of the answers' shapes the account page imports: these tests
 * hold it to what the routes really send, and its token-code type to keycard's.
 */

import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { KeycardErrorCode } from 'keycard'
import type { PublicSession, PublicUser, TokenErrorCode, UserPage } from '../src/api-types.ts'
import { openBeside, startServer, forEachDialect } from './helpers.ts'

forEachDialect((dialect) => {
  // Fails to compile if keycard's codes stop fitting the page's type.
  const tokenCode: TokenErrorCode = 'KEYCARD_JWT_EXPIRED' satisfies KeycardErrorCode
  const everyKeycardCode = (code: KeycardErrorCode): TokenErrorCode => code

  /** Every key of `T`, listed once: adding or removing a field in api-types.ts without updating these fails to compile. */
  const keys = <T>(all: Record<keyof T, true>) => Object.keys(all).sort()
  const USER = keys<PublicUser>({ id: true, username: true, email: true, admin: true, registered_on: true })
  const SESSION = keys<PublicSession>({ id: true, created_at: true, last_used_at: true, expires_at: true, user_agent: true, current: true })
  const PAGE = keys<UserPage>({ users: true, total: true, limit: true, next: true })

  test('the routes answer exactly the fields api-types.ts declares', async (t) => {
    assert.equal(everyKeycardCode('KEYCARD_JWT_EXPIRED'), tokenCode)
    const s = await startServer(t, {}, { dialect })
    const { access_token } = await s.register('alice')
    const me = await s.api('GET', '/auth/me', { token: access_token })
    assert.deepEqual(Object.keys(me.body).sort(), USER)
    const tokens = await s.api('GET', '/auth/tokens', { token: access_token })
    assert.deepEqual(Object.keys(tokens.body), ['sessions'])
    assert.deepEqual(Object.keys(tokens.body.sessions[0]).sort(), SESSION)
    const db = openBeside(t, s)
    await db.updateTable('users').set({ admin: 1 }).where('username', '=', 'alice').execute()
    const page = await s.api('GET', '/admin/users', { token: access_token })
    assert.deepEqual(Object.keys(page.body).sort(), PAGE)
    assert.deepEqual(Object.keys(page.body.users[0]).sort(), USER)
  })
})
