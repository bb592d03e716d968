/**
 * The parts of the shared stores the contract cases do not reach one by one: the options checks, the
 * start-up and closed states (failing closed too), dialect detection, the announcement format, and
 * the poller's gap tracking, on a real SQLite file with a row committed after a higher one.
 */

import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import Database from 'better-sqlite3'
import { KeycardOptionError } from 'keycard'
import {
  createRevocationTable,
  detectDialect,
  KyselyRevocationStore,
  StoreUnavailableError,
  storeErrorResponse,
} from 'keycard/stores/kysely'
import { Kysely, MysqlDialect, PostgresDialect, SqliteDialect } from 'kysely'
import { parseNotification } from '../../src/stores/payload.ts'
import { SeqGaps } from '../../src/stores/seq-gaps.ts'
import { seen } from './backends.ts'

const dir = mkdtempSync(join(tmpdir(), 'keycard-store-units-'))
after(() => rmSync(dir, { recursive: true, force: true }))
let files = 0
const sqlite = () => new Kysely<unknown>({ dialect: new SqliteDialect({ database: new Database(join(dir, `${files++}.db`)) }) })

describe('options', () => {
  const db = sqlite()
  after(() => db.destroy())
  const invalid = (options: Record<string, unknown>, option: string, message: RegExp) =>
    assert.throws(
      () => new KyselyRevocationStore({ db, ...options }),
      (err: unknown) => err instanceof KeycardOptionError && err.option === option && message.test(err.message),
    )

  test('each bad option is refused once, with a message that says how to fix it', () => {
    invalid({ db: {} }, 'db', /expected a Kysely instance/)
    invalid({ maxStaleness: 0 }, 'maxStaleness', /finite number ≥ 1/)
    invalid({ maxStaleness: 'soon' }, 'maxStaleness', /finite number/)
    invalid({ pollInterval: 5000 }, 'pollInterval', /below maxStaleness \(5000 ms\)/)
    invalid({ table: 'drop table x;' }, 'table', /letters, digits and underscores/)
    invalid({ listen: 'postgres://localhost/db' }, 'listen', /PostgreSQL's and this database is sqlite: leave listen out to poll/)
  })
})

describe('start-up and close fail closed too', () => {
  test('before its first sync (here: no table) isRevoked refuses and ready() rejects', async () => {
    const db = sqlite()
    const store = new KyselyRevocationStore({ db, maxStaleness: 200, pollInterval: 20 })
    assert.throws(
      () => store.isRevoked('x'),
      (err: unknown) => err instanceof StoreUnavailableError && err.reason === 'not-synced',
    )
    await assert.rejects(store.ready(100), (err: unknown) => err instanceof StoreUnavailableError && err.reason === 'not-synced')
    await createRevocationTable(db)
    await store.ready()
    assert.equal(store.isRevoked('x'), false)
    await store.close()
    assert.throws(
      () => store.isRevoked('x'),
      (err: unknown) => err instanceof StoreUnavailableError && err.reason === 'closed',
    )
    await assert.rejects(store.revoke('x', null), (err: unknown) => err instanceof StoreUnavailableError && err.reason === 'closed')
    await db.destroy()
  })

  test('storeErrorResponse renders 503, Retry-After and the msg; other errors are not its business', () => {
    const err = new StoreUnavailableError('stale', 4.2)
    assert.deepEqual(storeErrorResponse(err), { status: 503, headers: { 'Retry-After': '5' }, body: { msg: err.message } })
    assert.deepEqual(storeErrorResponse(err, 'error')?.body, { error: err.message })
    assert.equal(storeErrorResponse(new Error('other')), undefined)
    assert.equal(err.stack?.includes('units.test'), false, 'no stack trace is captured on the hot path')
  })
})

describe('SQL', () => {
  test('the dialect is told from the compiled SQL', () => {
    const never = {} as never // compiling needs no connection
    assert.equal(detectDialect(sqlite()), 'sqlite')
    assert.equal(detectDialect(new Kysely<unknown>({ dialect: new PostgresDialect({ pool: never }) })), 'postgres')
    assert.equal(detectDialect(new Kysely<unknown>({ dialect: new MysqlDialect({ pool: never }) })), 'mysql')
  })

  test('createRevocationTable is idempotent', async () => {
    const db = sqlite()
    await createRevocationTable(db)
    await createRevocationTable(db)
    await db.destroy()
  })

  test('announcements parse back, whatever the jti holds; anything else is ignored', () => {
    assert.deepEqual(parseNotification('1767225600 a b:c'), { jti: 'a b:c', expiresAt: 1767225600 })
    assert.deepEqual(parseNotification(' forever'), { jti: 'forever', expiresAt: null })
    for (const bad of [undefined, '', 'nospace', '12 ', 'x12 jti']) assert.equal(parseNotification(bad), undefined, String(bad))
  })
})

describe('polling with concurrent writers', () => {
  test('a skipped seq stays open until it shows up, up to a limit, and gives up after the timeout', () => {
    const gaps = new SeqGaps(1000, 3)
    gaps.observe(1, 0)
    gaps.observe(2, 0)
    assert.equal(gaps.from, 2)
    gaps.observe(4, 0)
    assert.equal(gaps.from, 2, '3 is open: re-read from after 2')
    gaps.observe(3, 0)
    assert.equal(gaps.from, 4)
    gaps.observe(10, 100)
    assert.equal(gaps.open, 3, 'only the newest 3 gaps are kept')
    assert.equal(gaps.from, 6)
    gaps.expire(1100)
    assert.equal(gaps.open, 3, 'not older than the timeout yet')
    gaps.expire(1101)
    assert.equal(gaps.from, 10)
  })

  test('a row committed after a higher seq (another writer’s insert in flight) is still picked up', async () => {
    const file = join(dir, 'gaps.db')
    const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: new Database(file) }) })
    await createRevocationTable(db)
    const raw = new Database(file)
    const store = await new KyselyRevocationStore({ db, pollInterval: 20 }).ready()
    raw.prepare('insert into keycard_revocations (seq, jti, expires_at) values (5, ?, null)').run('high')
    await seen(store, 'high')
    raw.prepare('insert into keycard_revocations (seq, jti, expires_at) values (3, ?, null)').run('late')
    await seen(store, 'late')
    await store.close()
    raw.close()
    await db.destroy()
  })
})
