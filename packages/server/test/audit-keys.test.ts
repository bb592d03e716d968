/**
 * Key rotation in the audit trail, on both databases: every key the keyring makes current is a
 * key.rotated event and every retirement a key.retired one, written in the change's own transaction,
 * with `via` saying who drove it (the scheduler, `keycard keys`, or a JWT_ALGORITHM change). A server in
 * keyring mode records its first key at start.
 */

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { AuditLog } from '../src/audit/log.ts'
import { migrateToLatest } from '../src/db/migrations/index.ts'
import { Keyring } from '../src/keys/keyring.ts'
import { keyringEnv, KEYS_SECRET } from './keyring-env.ts'
import { forEachDialect, openBeside, openTestDatabase, startServer } from './helpers.ts'
import { refuseAuditWrites } from './audit-fixtures.ts'

const POLICY = { rotationInterval: 3600, publishLead: 1200, tokenLifetime: 600 } as const
const T0 = 1_700_000_000

forEachDialect((dialect) => {
  test('the scheduler’s rotations and retirements are key.rotated and key.retired events, via schedule or algorithm', async (t) => {
    const { db } = await openTestDatabase(t, dialect)
    await migrateToLatest(db)
    const audit = new AuditLog(db)
    const ring = (algorithm: 'ES256' | 'EdDSA') => new Keyring({ db, keysSecret: KEYS_SECRET, algorithm, ...POLICY, audit })
    const events = async () =>
      (await db.selectFrom('audit_events').selectAll().orderBy('id').execute()).map((r) => ({ type: r.type, ...JSON.parse(r.detail!) }))

    const es = ring('ES256')
    await es.advance(T0)
    const [first] = await es.list()
    assert.deepEqual(await events(), [{ type: 'key.rotated', kid: first!.kid, previous_kid: null, algorithm: 'ES256', via: 'schedule' }])
    // Publishing a next key is no event; promoting it is.
    await es.advance(T0 + 3600 - 1200)
    assert.equal((await events()).length, 1)
    await es.advance(T0 + 3600)
    const second = (await es.list()).find((k) => k.state === 'current')!
    // The previous key retires once its tokens have expired (tokenLifetime + publishLead).
    await es.advance(T0 + 3600 + 600 + 1200)
    // JWT_ALGORITHM changed: the new key replaces the old one's algorithm.
    const ed = ring('EdDSA')
    await ed.advance(T0 + 3600 + 1800)
    await ed.advance(T0 + 3600 + 1800 + 1200)
    const third = (await ed.list()).find((k) => k.state === 'current')!
    assert.equal(third.algorithm, 'EdDSA')
    assert.deepEqual(await events(), [
      { type: 'key.rotated', kid: first!.kid, previous_kid: null, algorithm: 'ES256', via: 'schedule' },
      { type: 'key.rotated', kid: second.kid, previous_kid: first!.kid, algorithm: 'ES256', via: 'schedule' },
      { type: 'key.retired', kid: first!.kid, via: 'schedule' },
      { type: 'key.rotated', kid: third.kid, previous_kid: second.kid, algorithm: 'EdDSA', via: 'algorithm' },
    ])
    const rows = await db.selectFrom('audit_events').selectAll().execute()
    assert.ok(rows.every((r) => r.user_id === null && r.actor_id === null && r.address === null))
  })

  test('an event that cannot be written rolls the key change back with it', async (t) => {
    const { db } = await openTestDatabase(t, dialect)
    await migrateToLatest(db)
    await refuseAuditWrites(db, dialect)
    const ring = new Keyring({ db, keysSecret: KEYS_SECRET, algorithm: 'ES256', ...POLICY, audit: new AuditLog(db), via: 'cli' })
    await assert.rejects(ring.advance(T0), /audit event could not be written/)
    assert.deepEqual(await ring.list(), [], 'no key without its event')
  })

  test('a keyring-mode server records the first key it makes at start', async (t) => {
    const s = await startServer(t, keyringEnv('ES256'), { dialect })
    const db = openBeside(t, s)
    const rows = await db.selectFrom('audit_events').selectAll().where('type', '=', 'key.rotated').execute()
    assert.equal(rows.length, 1)
    const kid = (await db.selectFrom('signing_keys').select('kid').where('state', '=', 'current').executeTakeFirstOrThrow()).kid
    assert.deepEqual(JSON.parse(rows[0]!.detail!), { kid, previous_kid: null, algorithm: 'ES256', via: 'schedule' })
  })
})
