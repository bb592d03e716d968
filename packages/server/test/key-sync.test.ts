/**
 * KeySync (src/keys/key-sync.ts) on a real keyring and a real keys-mode keycard, both dialects: a
 * retirement drops the key before `notified` returns and minting answers 503 until the successor is
 * loaded; a re-read that fails is reported and retried, and the old keys keep working meanwhile; a poll
 * of the table finds a retirement no notification announced. Waits are on KeySync's own events.
 */

import assert from 'node:assert/strict'
import { test, type TestContext } from 'node:test'
import { createKeycard, type Keycard } from 'keycard'
import { decodeProtectedHeader } from 'jose'
import type { Kysely } from 'kysely'
import { openDatabase } from '../src/db/database.ts'
import { migrateToLatest } from '../src/db/migrations/index.ts'
import type { Database } from '../src/db/schema.ts'
import { KeySync, type KeySyncEvent, readKeyTable } from '../src/keys/key-sync.ts'
import { Keyring } from '../src/keys/keyring.ts'
import { guardMinting, SigningKeyUnavailableError } from '../src/keys/signing.ts'
import { type Dialect, forEachDialect, testDatabaseUrl } from './helpers.ts'
import { KEYS_SECRET } from './keyring-env.ts'

const POLICY = { algorithm: 'ES256', rotationInterval: 90 * 86400, publishLead: 600, tokenLifetime: 900 } as const

interface Rig {
  db: Kysely<Database>
  keyring: Keyring
  keycard: Keycard
  sync: KeySync
  events: KeySyncEvent[]
  /** Resolves with the first event (from now on) that `match` accepts. */
  next(match: (e: KeySyncEvent) => boolean): Promise<KeySyncEvent>
}

async function rig(t: TestContext, dialect: Dialect, ringForSync?: (db: Kysely<Database>) => Keyring): Promise<Rig> {
  const { url } = await testDatabaseUrl(t, dialect)
  const db = openDatabase(url)
  await migrateToLatest(db, () => {})
  const keyring = new Keyring({ db, keysSecret: KEYS_SECRET, ...POLICY })
  await keyring.advance()
  const table = (await readKeyTable(db)).fingerprint
  const { keys, signingKid } = await keyring.entries()
  const keycard = await createKeycard({ keys, signingKid })
  const events: KeySyncEvent[] = []
  const waiters = new Set<{ match: (e: KeySyncEvent) => boolean; done: (e: KeySyncEvent) => void }>()
  const sync = new KeySync({
    keyring: ringForSync ? ringForSync(db) : keyring,
    keycard,
    initial: { keys, signingKid, table },
    retryMs: 50,
    onEvent: (e) => {
      events.push(e)
      for (const w of waiters)
        if (w.match(e)) {
          waiters.delete(w)
          w.done(e)
        }
    },
  })
  guardMinting(keycard, sync)
  // The sync first: a re-read or re-arm in flight must end before its database closes.
  t.after(async () => {
    await sync.close()
    await db.destroy()
  })
  await sync.start()
  // KeySync's timers are unref'd (they never keep a server alive): a ref'd one keeps this test's loop up while it waits.
  const next = (match: (e: KeySyncEvent) => boolean) => {
    const alive = setInterval(() => {}, 1000)
    return new Promise<KeySyncEvent>((done) => waiters.add({ match, done })).finally(() => clearInterval(alive))
  }
  return { db, keyring, keycard, sync, events, next }
}

forEachDialect((dialect) => {
  test('a retired signing key is dropped at once; minting answers 503 until its successor is loaded', async (t) => {
    const { keyring, keycard, sync, next } = await rig(t, dialect)
    const oldKid = sync.signingKid
    const token = await keycard.createAccessToken('1')
    await keycard.decodeToken(token) // verified, and cached
    const { current } = await keyring.retire(oldKid)

    const loaded = next((e) => e.type === 'keys-loaded')
    sync.notified('retired', oldKid)
    // Synchronously: refused, cached verification included, and no token is minted with it.
    assert.equal(sync.canSign, false)
    await assert.rejects(keycard.decodeToken(token), { code: 'KEYCARD_JWT_KID_UNKNOWN' })
    await assert.rejects(keycard.createAccessToken('1'), SigningKeyUnavailableError)

    assert.deepEqual(await loaded, { type: 'keys-loaded', signingKid: current.kid, kids: [current.kid] })
    assert.equal(sync.canSign, true)
    assert.equal(decodeProtectedHeader(await keycard.createAccessToken('1')).kid, current.kid)
    await assert.rejects(keycard.decodeToken(token), { code: 'KEYCARD_JWT_KID_UNKNOWN' }, 'a re-read never brings a retired kid back')
  })

  test('a poll finds a retirement no notification announced, and drops the key before it resolves', async (t) => {
    const { db, keyring, keycard, sync, events, next } = await rig(t, dialect)
    const next1 = await keyring.rotate()
    const published = next((e) => e.type === 'keys-loaded' && e.kids.includes(next1.kid))
    await sync.poll(db)
    await published
    const old = sync.signingKid
    const token = await keycard.createAccessToken('1')
    await keyring.retire(old)
    const reloaded = next((e) => e.type === 'keys-loaded')
    await sync.poll(db)
    assert.ok(events.some((e) => e.type === 'key-removed' && e.kid === old && e.via === 'poll'))
    await assert.rejects(keycard.decodeToken(token), { code: 'KEYCARD_JWT_KID_UNKNOWN' })
    await reloaded
    assert.equal(sync.signingKid, next1.kid, 'retiring the current key promoted the published next one')
  })

  test('a re-read that fails is reported and retried, the keys in hand keep working, and close() ends the retries', async (t) => {
    // The sync's ring cannot decrypt the keys (another KEYS_SECRET): every re-read fails.
    const wrong = (db: Kysely<Database>) => new Keyring({ db, keysSecret: `${KEYS_SECRET}-not-this-one`, ...POLICY })
    const { keycard, sync, next } = await rig(t, dialect, wrong)
    const token = await keycard.createAccessToken('1')
    const failed = next((e) => e.type === 'keys-failed')
    const again = failed.then(() => next((e) => e.type === 'keys-failed'))
    sync.notified('next', 'some-new-kid')
    const first = await failed
    assert.equal(first.type === 'keys-failed' && first.step, 'reload')
    assert.doesNotMatch(String((first as { err: unknown }).err), new RegExp(KEYS_SECRET))
    await again // retried after retryMs
    assert.equal((await keycard.decodeToken(token)).sub, '1')
    assert.equal(sync.canSign, true)
    await sync.close()
  })
})
