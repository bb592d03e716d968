/** Password hashing: bounded concurrency, dummy verify for unknown users, rehash detection. */

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { concurrencyLimit, createPasswordHasher } from '../src/passwords.ts'

test('concurrencyLimit runs at most max tasks at once, in arrival order, and a failure frees its slot', async () => {
  const run = concurrencyLimit(2)
  let active = 0
  let peak = 0
  const started: number[] = []
  // Each task runs until the test releases it, so the order in which slots free up is chosen, not timed.
  const release: Array<() => void> = []
  const gates = Array.from({ length: 7 }, (_, i) => new Promise<void>((resolve) => (release[i] = resolve)))
  const all = Promise.allSettled(
    Array.from({ length: 7 }, (_, i) =>
      run(async () => {
        started.push(i)
        active++
        peak = Math.max(peak, active)
        await gates[i]
        active--
        if (i === 1) throw new Error('boom')
        return i
      }),
    ),
  )
  const settle = () => new Promise(setImmediate)
  await settle()
  assert.deepEqual(started, [0, 1])
  // Out of order, the failing task first: each finished task hands its slot to the next in line.
  for (const [finish, next] of [
    [1, 2],
    [0, 3],
    [3, 4],
    [2, 5],
    [5, 6],
  ] as const) {
    release[finish]!()
    await settle()
    assert.equal(started.at(-1), next, `task ${finish} finishing starts task ${next}`)
    assert.equal(active, 2)
  }
  release[4]!()
  release[6]!()
  const results = await all
  assert.equal(peak, 2)
  assert.deepEqual(started, [0, 1, 2, 3, 4, 5, 6])
  assert.equal(results[1]!.status, 'rejected')
  assert.deepEqual(
    results.filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<number>).value),
    [0, 2, 3, 4, 5, 6],
  )
})

test('the hasher verifies its own hashes, refuses wrong and unknown, and spots other parameters', async () => {
  const low = { memoryCost: 1024, timeCost: 1, parallelism: 1 }
  const hasher = createPasswordHasher(low)
  const stored = await hasher.hash('correct horse battery')
  assert.match(stored, /^\$argon2id\$v=19\$m=1024,t=1,p=1\$/)
  assert.equal(await hasher.verify(stored, 'correct horse battery'), true)
  assert.equal(await hasher.verify(stored, 'wrong password'), false)
  assert.equal(await hasher.verify(null, 'correct horse battery'), false)
  assert.equal(await hasher.verify(stored, 'x'.repeat(2000)), false)
  assert.equal(hasher.needsRehash(stored), false)
  assert.equal(createPasswordHasher({ ...low, timeCost: 2 }).needsRehash(stored), true)
  // Many at once still all complete (the limiter queues them).
  const many = await Promise.all(Array.from({ length: 12 }, () => hasher.verify(stored, 'correct horse battery')))
  assert.deepEqual(many, Array(12).fill(true))
})
