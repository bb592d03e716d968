/**
 * Which client address the throttle counts (and the audit trail records): the socket's, unless
 * TRUST_PROXY says X-Forwarded-For may be believed (true, or the proxy's address or CIDR); IPv4-mapped
 * IPv6 counts as its IPv4, other IPv6 addresses per /64, over the X-Forwarded-For path and over a
 * real IPv6 loopback socket.
 */

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { buildApp } from '../src/app.ts'
import { loadConfig } from '../src/config.ts'
import { httpApi, openBeside, type Reply, startServer, testEnv, tempDir } from './helpers.ts'

const WRONG = 'not the password at all'
/** Two failed logins per address, then 429. */
const TWO_PER_ADDRESS = { THROTTLE_ADDRESS: '2/1h' }

type Api = (method: string, path: string, options?: { body?: unknown; headers?: Record<string, string> }) => Promise<Reply>

/** A failed login for a name of its own (so only the address counter is shared), sent with `forwarded` as X-Forwarded-For. */
let n = 0
const attempt = (api: Api, forwarded?: string) =>
  api('POST', '/auth/login', {
    body: { username: `user${n++}`, password: WRONG },
    ...(forwarded === undefined ? {} : { headers: { 'x-forwarded-for': forwarded } }),
  })

/** The statuses of failed logins sent with each X-Forwarded-For value, in order. */
async function statuses(api: Api, forwarded: (string | undefined)[]): Promise<number[]> {
  const out: number[] = []
  for (const value of forwarded) out.push((await attempt(api, value)).status)
  return out
}

test('by default X-Forwarded-For is ignored: every forged address counts as the socket’s', async (t) => {
  const s = await startServer(t, TWO_PER_ADDRESS)
  assert.deepEqual(await statuses(s.api, ['203.0.113.1', '203.0.113.2', '203.0.113.3', undefined]), [401, 401, 429, 429])
  const rows = await openBeside(t, s).selectFrom('audit_events').select(['type', 'address']).orderBy('id').execute()
  assert.deepEqual(
    rows.map((r) => r.address),
    rows.map(() => '127.0.0.1'),
  )
})

test('TRUST_PROXY=true believes X-Forwarded-For (its client end): each address has its own counter, recorded in the audit trail', async (t) => {
  const s = await startServer(t, { ...TWO_PER_ADDRESS, TRUST_PROXY: 'true' })
  assert.deepEqual(await statuses(s.api, ['203.0.113.1', '203.0.113.1', '203.0.113.1']), [401, 401, 429])
  assert.deepEqual(
    await statuses(s.api, ['203.0.113.2', '198.51.100.9, 203.0.113.2']),
    [401, 401],
    'another address, and a chain whose client end is another one',
  )
  assert.deepEqual(await statuses(s.api, ['203.0.113.2', '203.0.113.2']), [401, 429])
  const db = openBeside(t, s)
  const tripped = await db.selectFrom('audit_events').select('address').where('type', '=', 'throttle.tripped').orderBy('id').execute()
  assert.deepEqual(
    tripped.map((r) => r.address),
    ['203.0.113.1', '203.0.113.2'],
  )
})

test('TRUST_PROXY as a CIDR believes only a proxy inside it', async (t) => {
  const trusted = await startServer(t, { ...TWO_PER_ADDRESS, TRUST_PROXY: '127.0.0.0/8' })
  assert.deepEqual(await statuses(trusted.api, ['203.0.113.1', '203.0.113.2', '203.0.113.3']), [401, 401, 401])
  const other = await startServer(t, { ...TWO_PER_ADDRESS, TRUST_PROXY: '10.0.0.0/8, 192.168.0.1' })
  assert.deepEqual(
    await statuses(other.api, ['203.0.113.1', '203.0.113.2', '203.0.113.3']),
    [401, 401, 429],
    'the socket is not a trusted proxy',
  )
})

test('IPv6 clients count per /64, an IPv4-mapped address as its IPv4', async (t) => {
  const s = await startServer(t, { ...TWO_PER_ADDRESS, TRUST_PROXY: 'true' })
  // Two addresses in one /64 (written differently) share a counter; the next /64 has its own.
  assert.deepEqual(await statuses(s.api, ['2001:db8:1:2::a', '2001:DB8:1:2:ffff:eeee:dddd:cccc', '2001:db8:1:2:0:0:0:1']), [401, 401, 429])
  assert.deepEqual(await statuses(s.api, ['2001:db8:1:3::1', '2001:db8:1:3::2']), [401, 401])
  assert.deepEqual(await statuses(s.api, ['::ffff:192.0.2.1', '192.0.2.1', '::ffff:c000:201']), [401, 401, 429])
})

test('a real IPv6 loopback client (::1) is counted by its /64', async (t) => {
  const dir = tempDir(t)
  const app = await buildApp(loadConfig(testEnv(dir, TWO_PER_ADDRESS)), { logStream: { write: () => undefined } })
  t.after(() => app.close())
  const url = await app.listen({ port: 0, host: '::1' })
  const api = httpApi(url)
  assert.deepEqual(await statuses(api, [undefined, undefined, undefined]), [401, 401, 429])
  const db = openBeside(t, { dbPath: loadConfig(testEnv(dir)).databasePath })
  const keys = await db.selectFrom('throttle_counters').select(['key', 'failures']).where('key', 'like', 'address:%').execute()
  assert.deepEqual(keys, [{ key: 'address:0:0:0:0::/64', failures: 2 }])
  const events = await db.selectFrom('audit_events').select('address').where('type', '=', 'login.failed').execute()
  assert.deepEqual(
    events.map((e) => e.address),
    ['::1', '::1'],
    'the audit trail keeps the address as it came',
  )
})
