/**
 * The verified-token cache on its own (src/cache.ts): admission on the second sighting, lookups that
 * only ever return the entry of the exact token string, oldest-first eviction, clear(). The guard's
 * use of it (expiry and revocation re-checked on a hit) is tested in tokens.test.ts.
 */

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { VerifiedCache, type Verified } from '../src/cache.ts'

const value = (n: number): Verified => ({ header: { alg: 'HS256' }, claims: { sub: String(n) } })
/** Distinct token-like strings: a shared header and payload, a distinct 43-character signature. */
const token = (n: number) => `eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiJ9.${n.toString(36).padStart(43, 'q')}`

/** Stores `t` under `v` (two sightings: the first is only remembered). */
function admit(cache: VerifiedCache, t: string, v: Verified): void {
  cache.set(t, v)
  cache.set(t, v)
}

test('a token is stored on its second sighting, not its first', () => {
  const cache = new VerifiedCache(10)
  cache.set(token(1), value(1))
  assert.equal(cache.size, 0)
  assert.equal(cache.get(token(1)), undefined)
  cache.set(token(1), value(1))
  assert.equal(cache.size, 1)
  assert.deepEqual(cache.get(token(1)), value(1))
  // A copy of the string (what a new request carries) hits too.
  assert.deepEqual(cache.get(token(1).split('').join('')), value(1))
})

test('size 0 never stores anything', () => {
  const cache = new VerifiedCache(0)
  for (let i = 0; i < 3; i++) cache.set(token(1), value(1))
  assert.equal(cache.size, 0)
  assert.equal(cache.get(token(1)), undefined)
})

test('only the exact token string hits: same length and end (same fingerprint) is not enough', () => {
  const cache = new VerifiedCache(10)
  const a = token(7)
  const b = `X${a.slice(1)}` // differs only in its first character
  assert.equal(a.length, b.length)
  admit(cache, a, value(1))
  assert.equal(cache.get(b), undefined)
  assert.equal(cache.get(a.slice(0, -1)), undefined)
  assert.equal(cache.get(`${a}A`), undefined)
  // Storing the other one takes the slot over: a collision costs a miss, never a wrong answer.
  cache.set(b, value(2))
  assert.equal(cache.size, 1)
  assert.deepEqual(cache.get(b), value(2))
  assert.equal(cache.get(a), undefined)
})

test('full: the oldest stored token is evicted first; storing a stored token again does not make it younger', () => {
  const cache = new VerifiedCache(3)
  for (const n of [1, 2, 3]) admit(cache, token(n), value(n))
  admit(cache, token(1), value(10)) // updates in place
  assert.equal(cache.size, 3)
  assert.deepEqual(cache.get(token(1)), value(10))
  admit(cache, token(4), value(4))
  assert.equal(cache.size, 3)
  assert.equal(cache.get(token(1)), undefined, 'oldest out')
  for (const n of [2, 3, 4]) assert.deepEqual(cache.get(token(n)), value(n))
  for (const n of [5, 6]) admit(cache, token(n), value(n))
  assert.deepEqual(
    [2, 3, 4, 5, 6].map((n) => cache.get(token(n)) !== undefined),
    [false, false, true, true, true],
  )
})

test('eviction keeps working over many turns of the ring', () => {
  const cache = new VerifiedCache(5)
  for (let n = 0; n < 1000; n++) {
    admit(cache, token(n), value(n))
    assert.ok(cache.size <= 5)
  }
  for (let n = 995; n < 1000; n++) assert.deepEqual(cache.get(token(n)), value(n))
  assert.equal(cache.get(token(994)), undefined)
})

test('clear() empties the cache and forgets first sightings', () => {
  const cache = new VerifiedCache(10)
  admit(cache, token(1), value(1))
  cache.set(token(2), value(2)) // seen once
  cache.clear()
  assert.equal(cache.size, 0)
  assert.equal(cache.get(token(1)), undefined)
  cache.set(token(2), value(2))
  assert.equal(cache.size, 0, 'a sighting before clear() does not count')
  cache.set(token(2), value(2))
  assert.deepEqual(cache.get(token(2)), value(2))
})
