/**
 * Usernames: letters and digits of any script plus `_ . -`, 3 to 32 code points after NFC, kept as
 * typed, unique and matched by their case-folded key. The rules directly, then over real HTTP.
 */

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { loadConfig } from '../src/config.ts'
import { checkUsername, foldCase, usernameKey } from '../src/identity-rules.ts'
import { createPasswordHasher, type PasswordHasher } from '../src/passwords.ts'
import { createUser, UserExistsError } from '../src/users.ts'
import { PASSWORD, startServer, testEnv, forEachDialect, openTestDatabase } from './helpers.ts'
import { codeOf } from './field-errors.ts'

forEachDialect((dialect) => {
  const CHARS = "may hold only letters, digits, '_', '.' and '-' (any script)"

  test('a username of any script is accepted, NFC-normalised and otherwise kept as typed', () => {
    for (const name of ['Zoë', 'alice', 'ALICE_1', 'a.b-c', '007', 'Ωμέγα', 'Даша', '李小龍', 'नमस्ते', 'محمد', 'user٣', 'ǅemal']) {
      assert.deepEqual(checkUsername(name), { ok: true, value: name.normalize('NFC') }, name)
    }
    // Decomposed input (e + combining diaeresis) is stored composed; the mark does not count twice.
    assert.deepEqual(checkUsername('Zoe\u0308'), { ok: true, value: 'Zo\u00eb' })
    assert.deepEqual(checkUsername('abe\u0301'), { ok: true, value: 'ab\u00e9' })
  })

  test('length is 3 to 32 code points after NFC, not UTF-16 units or bytes', () => {
    assert.deepEqual(checkUsername('ab'), { ok: false, problem: 'must be 3 to 32 characters long (it has 2)' })
    // Two code points once composed, though three before NFC.
    assert.deepEqual(checkUsername('Ze\u0301'), { ok: false, problem: 'must be 3 to 32 characters long (it has 2)' })
    assert.equal(checkUsername('é'.repeat(32)).ok, true)
    assert.deepEqual(checkUsername('é'.repeat(33)), { ok: false, problem: 'must be 3 to 32 characters long (it has 33)' })
    // Astral letters are one code point each (two UTF-16 units).
    assert.equal(checkUsername('𠀀'.repeat(32)).ok, true)
    assert.deepEqual(checkUsername('𠀀'.repeat(33)), { ok: false, problem: 'must be 3 to 32 characters long (it has 33)' })
  })

  test('emoji, symbols, spaces, controls, @ and non-decimal numbers are refused, naming the character', () => {
    const refused: [string, string][] = [
      ['zoë😀', `${CHARS}: '😀' (U+1F600) is not allowed`],
      ['a b c', `${CHARS}: ' ' (U+0020) is not allowed`],
      ['tab\tname', `${CHARS}: (U+0009) is not allowed`],
      ['nul\u0000name', `${CHARS}: (U+0000) is not allowed`],
      ['zero\u200bwidth', `${CHARS}: '\u200b' (U+200B) is not allowed`],
      ['al@ce', `${CHARS}: '@' (U+0040) is not allowed`],
      ['dollar$', `${CHARS}: '$' (U+0024) is not allowed`],
      ['a+b', `${CHARS}: '+' (U+002B) is not allowed`],
      ['nbsp\u00a0x', `${CHARS}: '\u00a0' (U+00A0) is not allowed`],
      ['circled①', `${CHARS}: '①' (U+2460) is not allowed`],
      ['half½', `${CHARS}: '½' (U+00BD) is not allowed`],
      ['ﬀ\ufffdx', `${CHARS}: '\ufffd' (U+FFFD) is not allowed`],
      ['_alice', 'must start with a letter or digit'],
      ['.alice', 'must start with a letter or digit'],
      ['\u0301abc', 'must start with a letter or digit'],
      ['lone\ud800', 'must be valid UTF-8 text (it holds invalid bytes or a lone surrogate)'],
    ]
    for (const [name, problem] of refused) assert.deepEqual(checkUsername(name), { ok: false, problem }, JSON.stringify(name))
  })

  test('the key folds case fully: ß and ss, ﬀ and ff, Greek final sigma, composed and decomposed forms', () => {
    assert.equal(usernameKey('Zoë'), 'zoë')
    assert.equal(usernameKey('ZOË'), usernameKey('Zoe\u0308'))
    assert.equal(usernameKey('Straße'), usernameKey('STRASSE'))
    assert.equal(usernameKey('ﬀoo'), usernameKey('FFOO'))
    // σ and ς are one letter: any spelling of ΟΔΟΣ has the same key.
    assert.equal(usernameKey('οδος'), usernameKey('οδοσ'))
    assert.equal(usernameKey('ΟΔΟΣ'), usernameKey('οδος'))
    assert.equal(usernameKey('Даша'), usernameKey('ДАША'))
    assert.notEqual(usernameKey('alice'), usernameKey('alicf'))
    // Idempotent: a key is its own key.
    for (const name of ['Straße', 'ΟΔΟΣ', 'İstanbul', 'ǅemal', 'ﬀ']) assert.equal(foldCase(foldCase(name)), foldCase(name), name)
  })

  test('register keeps the name as typed; the same name in another case or form is taken (409)', async (t) => {
    const s = await startServer(t, {}, { dialect })
    const zoe = await s.api('POST', '/auth/register', { body: { username: 'Zoe\u0308', password: PASSWORD } })
    assert.equal(zoe.status, 201, zoe.text)
    assert.equal(zoe.body.user.username, 'Zoë')
    const me = await s.api('GET', '/auth/me', { token: zoe.body.access_token })
    assert.equal(me.body.username, 'Zoë')
    for (const other of ['ZOË', 'zoë', 'Zoë', 'ZOE\u0308']) {
      const res = await s.api('POST', '/auth/register', { body: { username: other, password: PASSWORD } })
      assert.equal(res.status, 409, other)
      assert.deepEqual(res.body, { msg: 'Username is already taken', ...codeOf('Username is already taken') })
    }
    const strasse = await s.api('POST', '/auth/register', { body: { username: 'Straße', password: PASSWORD } })
    assert.equal(strasse.status, 201)
    assert.equal((await s.api('POST', '/auth/register', { body: { username: 'STRASSE', password: PASSWORD } })).status, 409)
    // Different names still register.
    assert.equal((await s.api('POST', '/auth/register', { body: { username: 'Zoey', password: PASSWORD } })).status, 201)
  })

  test('login by any case or Unicode form of the name logs in as the user', async (t) => {
    const s = await startServer(t, {}, { dialect })
    const { user } = await s.register('Zoë')
    await s.register('नमस्ते')
    for (const login of ['Zoë', 'ZOË', 'zoë', 'Zoe\u0308', 'ZOE\u0308']) {
      const res = await s.api('POST', '/auth/login', { body: { username: login, password: PASSWORD } })
      assert.equal(res.status, 200, login)
      const me = await s.api('GET', '/auth/me', { token: res.body.access_token })
      assert.deepEqual([me.body.id, me.body.username], [user.id, 'Zoë'])
    }
    assert.equal((await s.api('POST', '/auth/login', { body: { username: 'नमस्ते', password: PASSWORD } })).status, 200)
    assert.equal((await s.api('POST', '/auth/login', { body: { username: 'Zoey', password: PASSWORD } })).status, 401)
  })

  test('register answers 400 naming username for emoji, symbols, spaces and controls', async (t) => {
    const s = await startServer(t, {}, { dialect })
    for (const username of ['zoë😀', 'a b', 'tab\tname', 'nul\u0000x', 'dollar$', '①②③']) {
      const res = await s.api('POST', '/auth/register', { body: { username, password: PASSWORD } })
      assert.equal(res.status, 400, JSON.stringify(username))
      assert.match(res.body.msg, /^username /, JSON.stringify(username))
      assert.deepEqual([res.body.code, res.body.field], ['INVALID_FIELD', 'username'])
      assert.deepEqual(Object.keys(res.body).sort(), ['code', 'field', 'msg'])
    }
    // Nothing was created: a refused name logs in as no one.
    assert.equal((await s.api('POST', '/auth/login', { body: { username: 'a b', password: PASSWORD } })).status, 401)
  })

  test('two registrations racing for one name: the unique key decides, the loser gets UserExistsError (409)', async (t) => {
    const { db, dir } = await openTestDatabase(t, dialect)
    const { migrateToLatest } = await import('../src/db/migrations/index.ts')
    await migrateToLatest(db)
    const real = createPasswordHasher(loadConfig(testEnv(dir)).argon2)
    // While the loser's password is hashed (after its availability check), the winner registers.
    let winner: Promise<unknown> | undefined
    const racing: PasswordHasher = {
      load: () => real.load(),
      hash: async (password) => {
        winner ??= createUser(db, real, { username: 'Zoë', password: PASSWORD })
        await winner
        return real.hash(password)
      },
      verify: (stored, password) => real.verify(stored, password),
      needsRehash: (stored) => real.needsRehash(stored),
    }
    await assert.rejects(
      createUser(db, racing, { username: 'ZOË', password: PASSWORD }),
      (err: unknown) => err instanceof UserExistsError && err.field === 'username',
    )
    const rows = await db.selectFrom('users').select(['username', 'username_key']).execute()
    assert.deepEqual(rows, [{ username: 'Zoë', username_key: 'zoë' }])
  })
})
