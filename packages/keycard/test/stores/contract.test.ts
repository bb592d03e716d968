/**
 * The revocation store contract: the same cases on every store (`STORES`: memory, Kysely + SQLite,
 * Kysely + PostgreSQL, Redis) against real backends. Nothing waits on the wall clock: propagation is
 * awaited on the stores' own events, and the staleness bound is crossed by moving the store's clock.
 */

import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { after, afterEach, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { StoreUnavailableError } from 'keycard/stores/kysely'
import {
  type AnyStore,
  type Backend,
  known,
  manualClock,
  next,
  type OpenOptions,
  type Opened,
  STORES,
  type SharedStore,
  type StoreConfig,
  seen,
  startBackend,
} from './backends.ts'

const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url))
const TIMEOUT = { timeout: 60_000 }

/** An expiry well in the future: these entries outlive every clock move of the suite. */
const later = () => Math.floor(Date.now() / 1000) + 3600

/** A child process with a store on the same backend (child.ts), spoken to one line at a time. */
function spawnChild(config: StoreConfig) {
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(config)], { stdio: ['pipe', 'pipe', 'inherit'] })
  const lines: string[] = []
  const waiters: Array<{ line: string; resolve: () => void }> = []
  createInterface({ input: proc.stdout }).on('line', (line) => {
    lines.push(line)
    for (const w of waiters.filter((w) => w.line === line)) w.resolve()
  })
  const exited = once(proc, 'exit') as Promise<[number | null]>
  return {
    send: (line: string) => proc.stdin.write(`${line}\n`),
    expect: (line: string) =>
      new Promise<void>((resolve, reject) => {
        if (lines.includes(line)) return resolve()
        waiters.push({ line, resolve })
        exited.then(([code]) => reject(new Error(`the child exited (${code}) before saying "${line}"`)))
      }),
    exited,
    kill: () => proc.kill(),
  }
}

for (const kind of STORES) {
  const shared = kind !== 'memory'

  describe(`the ${kind} revocation store`, () => {
    let backend: Backend
    const opened: Opened[] = []
    async function open<S extends AnyStore = AnyStore>(options?: OpenOptions): Promise<S> {
      const o = await backend.open(options)
      opened.push(o)
      if ('ready' in o.store) await o.store.ready()
      return o.store as S
    }
    const openShared = (options?: OpenOptions) => open<SharedStore>(options)

    before(async () => {
      backend = await startBackend(kind)
    })
    afterEach(async () => {
      for (const o of opened.splice(0)) await o.close()
    })
    after(async () => {
      await backend?.close()
    })

    test('revoke, then isRevoked answers true at once, synchronously; other ids stay false', TIMEOUT, async () => {
      const store = await open()
      const jti = randomUUID()
      assert.equal(store.isRevoked(jti), false)
      await store.revoke(jti, later())
      assert.equal(store.isRevoked(jti), true, 'a boolean, not a promise: no round trip on the hot path')
      assert.equal(store.isRevoked(randomUUID()), false)
      await store.revoke(jti, later()) // revoking twice is a no-op
      assert.equal(store.isRevoked(jti), true)
    })

    test('an entry lives as long as its token and is swept after; one without exp never is', TIMEOUT, async () => {
      const clock = manualClock()
      // A bound far beyond the clock moves below: this case is about expiry, not staleness.
      const store = await open({ now: clock.now, maxStaleness: 600_000 })
      const [short, forever] = [randomUUID(), randomUUID()]
      const exp = clock.now() + 10
      await store.revoke(short, exp)
      await store.revoke(forever, null)
      if (shared) {
        assert.equal(await backend.expiryOf(short), exp)
        assert.equal(await backend.expiryOf(forever), null)
      }
      clock.advance(9)
      await store.sweep()
      assert.equal(store.isRevoked(short), true, 'still live for one more second')
      clock.advance(2)
      await store.sweep()
      assert.equal(store.isRevoked(short), false)
      assert.equal(store.isRevoked(forever), true)
      // SQL rows are deleted by the sweep; Redis drops the key itself at EXAT, checked above.
      if (kind === 'sqlite' || kind === 'postgres') assert.equal(await backend.expiryOf(short), undefined)
      if (shared) assert.equal(await backend.expiryOf(forever), null)
    })

    // Only where a backend is shared: the memory store has none.
    // The memory store keeps an expired entry until its next sweep.
    if (shared)
      test('a token that has expired already is not stored', TIMEOUT, async () => {
        const store = await open()
        const jti = randomUUID()
        await store.revoke(jti, Math.floor(Date.now() / 1000) - 10)
        assert.equal(store.isRevoked(jti), false)
        assert.equal(await backend.expiryOf(jti), undefined)
      })

    // Only where a backend is shared: the memory store has none.
    if (shared)
      test('revoke resolves once committed: the backend holds it and a store opened afterwards loads it', TIMEOUT, async () => {
        const a = await openShared()
        const jti = randomUUID()
        const exp = later()
        await a.revoke(jti, exp)
        assert.equal(await backend.expiryOf(jti), exp)
        const b = await openShared()
        assert.equal(b.isRevoked(jti), true, 'loaded before ready() resolved')
      })

    // Only where a backend is shared: the memory store has none.
    if (shared)
      test('a revocation that cannot commit rejects with StoreUnavailableError and is not there afterwards', TIMEOUT, async () => {
        const a = await openShared({ cuttable: true })
        const outage = backend.outage!
        const disconnected = next(a, 'disconnected')
        await outage.begin()
        const jti = randomUUID()
        await assert.rejects(a.revoke(jti, later()), (err: unknown) => {
          assert.ok(err instanceof StoreUnavailableError)
          assert.equal(err.code, 'KEYCARD_STORE_UNAVAILABLE')
          assert.equal(err.reason, 'write-failed')
          return true
        })
        await disconnected
        const live = next(a, 'live')
        await outage.end()
        await live
        assert.equal(await backend.expiryOf(jti), undefined, 'nothing acknowledged, nothing written')
        assert.equal(a.isRevoked(jti), false)
      })

    if (shared)
      test('two stores on one backend see each other’s revocations', TIMEOUT, async () => {
        const [a, b] = [await openShared(), await openShared()]
        const [x, y] = [randomUUID(), randomUUID()]
        await a.revoke(x, later())
        await seen(b, x)
        await b.revoke(y, null)
        await seen(a, y)
        assert.equal(a.isRevoked(x) && a.isRevoked(y) && b.isRevoked(x) && b.isRevoked(y), true)
      })

    if (shared)
      test('two processes on one backend see each other’s revocations', TIMEOUT, async (t) => {
        const a = await openShared()
        const child = spawnChild(backend.config())
        t.after(() => child.kill())
        await child.expect('ready')
        const [fromParent, fromChild] = [randomUUID(), randomUUID()]
        child.send(`wait ${fromParent}`)
        await a.revoke(fromParent, later())
        await child.expect(`seen ${fromParent}`)
        child.send(`revoke ${fromChild} ${later()}`)
        await child.expect(`revoked ${fromChild}`)
        await seen(a, fromChild)
        child.send('exit')
        assert.deepEqual(await child.exited, [0, null])
      })

    // Only where a backend is shared: the memory store has none.
    if (shared)
      test(
        'after losing its backend it resyncs before trusting itself: what was revoked meanwhile is enforced once live',
        TIMEOUT,
        async () => {
          const a = await openShared({ cuttable: true })
          const outage = backend.outage!
          const before = randomUUID()
          await a.revoke(before, later())
          const disconnected = next(a, 'disconnected')
          await outage.begin()
          await disconnected
          const meanwhile = randomUUID()
          await outage.revokeMeanwhile(meanwhile, later())
          assert.equal(a.status.synced, false)
          assert.equal(known(a, meanwhile), false, 'cut off: it cannot have heard')
          const live = next(a, 'live')
          await outage.end()
          await live
          assert.equal(a.isRevoked(meanwhile), true, 'reloaded before it went live')
          assert.equal(a.isRevoked(before), true, 'what it knew stays revoked')
          assert.equal(a.status.state, 'live')
        },
      )

    // Only where a backend is shared: the memory store has none.
    if (shared)
      test('past maxStaleness without confirming its view it fails closed, then recovers by itself', TIMEOUT, async () => {
        const clock = manualClock()
        const a = await openShared({ cuttable: true, now: clock.now, maxStaleness: 5000 })
        const revoked = randomUUID()
        const unknown = randomUUID()
        await a.revoke(revoked, later())
        const disconnected = next(a, 'disconnected')
        await backend.outage!.begin()
        await disconnected
        assert.equal(a.isRevoked(unknown), false, 'within the bound (its clock has not moved) it still answers')
        assert.equal(a.status.state, 'live')
        const stale = next(a, 'stale')
        clock.advance(5.001)
        assert.throws(
          () => a.isRevoked(unknown),
          (err: unknown) =>
            err instanceof StoreUnavailableError &&
            err.code === 'KEYCARD_STORE_UNAVAILABLE' &&
            err.reason === 'stale' &&
            err.status === 503 &&
            err.headers['retry-after'] === '5',
        )
        await stale
        assert.equal(a.status.state, 'stale')
        assert.equal(a.isRevoked(revoked), true, 'a known revocation is still answered')
        const live = next(a, 'live')
        await backend.outage!.end()
        await live
        assert.equal(a.isRevoked(unknown), false)
        assert.equal(a.status.state, 'live')
      })
  })
}
