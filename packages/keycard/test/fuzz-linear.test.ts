/**
 * Linear cost of every hostile input shape: the CPU time (process.cpuUsage, median of several samples)
 * of one request or decode at size n and at 16n, as a ratio within one run. A linear parse gives about
 * 16; a quadratic one 256. The bound is 128 (16 × 8): generous enough for noise on a loaded machine,
 * and still failed by any super-linear step. No wall-clock bound: only the ratio is asserted.
 *
 * The harness is checked against a known quadratic: the comma clean-up keycard once had,
 * `replace(/^,+|,+$/g, '')` (it cost 130-160 ms per 16 KiB header), must measure far above linear.
 */

import assert from 'node:assert/strict'
import type { IncomingMessage } from 'node:http'
import { describe, test } from 'node:test'
import { createKeycard, type Keycard, NodeRequestView, type TokenLocation } from 'keycard'
import { b64url, claims, SECRET, signSegments } from './harness.ts'

const N = 4096
const FACTOR = 16
const BOUND = FACTOR * 8
const SAMPLES = 7

/** `unit` repeated to `size` characters. */
const fill = (unit: string, size: number) => unit.repeat(Math.ceil(size / unit.length)).slice(0, size)

/** CPU microseconds per call of `op`, over `count` calls. */
async function cpuPerCall(op: () => unknown, count: number): Promise<number> {
  const start = process.cpuUsage()
  for (let i = 0; i < count; i++) await op()
  const used = process.cpuUsage(start)
  return (used.user + used.system) / count
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

/**
 * Median cost at 16n over median cost at n of `make(size)`'s operation. Calls are batched so both
 * sizes process the same number of characters per sample; the samples interleave, so a burst of load
 * from elsewhere hits both sizes alike.
 */
async function costRatio(make: (size: number) => () => unknown, n = N): Promise<number> {
  const small = make(n)
  const large = make(n * FACTOR)
  await small()
  await large()
  const smallCosts: number[] = []
  const largeCosts: number[] = []
  for (let i = 0; i < SAMPLES; i++) {
    smallCosts.push(await cpuPerCall(small, FACTOR * 2))
    largeCosts.push(await cpuPerCall(large, 2))
  }
  return median(largeCosts) / Math.max(median(smallCosts), 1)
}

/** A request through the adapters' NodeRequestView over a hand-made IncomingMessage: no server limit on sizes. */
function request(headers: Record<string, string>, url = '/', method = 'GET', body?: unknown): NodeRequestView {
  const rawHeaders = Object.entries(headers).flat()
  const distinct = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]]))
  return new NodeRequestView({ method, url, headers, rawHeaders, headersDistinct: distinct } as unknown as IncomingMessage, body)
}

/** One guarded request, its outcome ignored (the fuzz tests check outcomes; this file checks costs). */
function guarded(keycard: Keycard, req: () => NodeRequestView): () => unknown {
  return () => {
    try {
      const result = keycard.checkRequest(req())
      return result instanceof Promise ? result.catch(() => undefined) : result
    } catch {
      return undefined
    }
  }
}

function decoded(keycard: Keycard, token: string): () => unknown {
  return () => {
    keycard.clearCache()
    return keycard.decodeToken(token).catch(() => undefined)
  }
}

/** An HS256 token over raw JSON texts (any layout, valid or not), signed with SECRET. */
const signedRaw = (header: string, payload: string) => signSegments(b64url(header), b64url(payload))
const HEADER = '{"alg":"HS256","typ":"JWT"}'
const payloadWith = (extra: string) => JSON.stringify(claims()).replace(/}$/, `,"x":${extra}}`)

type Shape = [label: string, make: (keycard: Keycard) => (size: number) => () => unknown]

const HEADER_SHAPES: Shape[] = [
  ['Authorization: a run of commas', (k) => (n) => guarded(k, () => request({ authorization: `x${fill(',', n)}x` }))],
  [
    'Authorization: commas before a Bearer entry',
    (k) => (n) => guarded(k, () => request({ authorization: `Basic x${fill(',', n)}Bearer` })),
  ],
  ['Authorization: commas, tabs and spaces', (k) => (n) => guarded(k, () => request({ authorization: `a${fill(',\t ,', n)}b` }))],
  ['Authorization: "Bearer " repeated', (k) => (n) => guarded(k, () => request({ authorization: fill('Bearer ', n) }))],
  ['Authorization: "Bearer x, " repeated', (k) => (n) => guarded(k, () => request({ authorization: fill('Bearer x, ', n) }))],
  [
    'Authorization: spaces inside the entry',
    (k) => (n) => guarded(k, () => request({ authorization: `Bearer${fill(' ', n)}x${fill(' ', n)}y` })),
  ],
  ['Authorization: a huge token of dots', (k) => (n) => guarded(k, () => request({ authorization: `Bearer ${fill('.', n)}` }))],
  ['Cookie: a semicolon flood', (k) => (n) => guarded(k, () => request({ cookie: fill(';', n) }))],
  ['Cookie: a flood of pairs before ours', (k) => (n) => guarded(k, () => request({ cookie: `${fill('a=b; ', n)}access_token_cookie=x` }))],
  ['Cookie: "==;" flood', (k) => (n) => guarded(k, () => request({ cookie: fill('==;', n) }))],
  [
    'Cookie: a huge CSRF value',
    (k) => (n) => guarded(k, () => request({ cookie: 'access_token_cookie=a.b.c', 'x-csrf-token': fill('x', n) }, '/', 'POST')),
  ],
  ['query string: an ampersand flood', (k) => (n) => guarded(k, () => request({}, `/?${fill('&', n)}jwt=x`))],
  ['query string: a huge value', (k) => (n) => guarded(k, () => request({}, `/?jwt=${fill('%41', n)}`))],
  [
    'JSON body: a huge token field',
    (k) => (n) => guarded(k, () => request({ 'content-type': 'application/json' }, '/', 'POST', { access_token: fill('a.', n) })),
  ],
]

const TOKEN_SHAPES: Array<[label: string, token: (size: number) => string]> = [
  ['many segments', (n) => fill('a.', n)],
  ['a long header segment of invalid base64', (n) => `${fill('a', n)}!.e30.`],
  ['a long payload of invalid base64', (n) => `${b64url(HEADER)}.${fill('a', n)}*.sig`],
  ['a header that is not JSON', (n) => `${b64url(fill('{', n))}.e30.`],
  ['a header with many keys', (n) => signedRaw(`{"alg":"HS256",${fill('"k":1,', n)}"typ":"JWT"}`, JSON.stringify(claims()))],
  ['deeply nested arrays in the payload', (n) => signedRaw(HEADER, payloadWith(`${fill('[', n)}${fill(']', n)}`))],
  ['deeply nested objects in the payload', (n) => signedRaw(HEADER, payloadWith(`${fill('{"a":', n)}1${fill('}', n / 5)}`))],
  ['a payload of escapes and unicode', (n) => signedRaw(HEADER, payloadWith(JSON.stringify(fill('\\u0000é😀"', n))))],
  [
    'invalid UTF-8 in the payload',
    (n) => `${b64url(HEADER)}.${Buffer.concat([Buffer.from('{"a":"'), Buffer.alloc(n, 0xc3)]).toString('base64url')}.sig`,
  ],
  ['a bad signature on a big payload', (n) => `${signedRaw(HEADER, payloadWith(JSON.stringify(fill('a', n))))}x`],
  ['an accepted big payload', (n) => signedRaw(HEADER, payloadWith(JSON.stringify(fill('a', n))))],
]

describe('linear cost of hostile input', () => {
  test('the harness tells a quadratic parse from a linear one', async (t) => {
    const quadratic = (n: number) => {
      const value = `x${fill(',', n)}x`
      return () => value.replace(/^,+|,+$/g, '')
    }
    const linear = (n: number) => {
      const value = `x${fill(',', n)}x`
      return () => value.indexOf('y')
    }
    // Smaller n: 16n of the quadratic costs tens of milliseconds a call.
    const q = await costRatio(quadratic, 512)
    t.diagnostic(`quadratic: ${q.toFixed(1)}×`)
    assert.ok(q > FACTOR * 3, `the quadratic clean-up measured ${q.toFixed(1)}×, expected about ${FACTOR * FACTOR}×`)
    const l = await costRatio(linear, N * 4)
    assert.ok(l < BOUND, `a native scan measured ${l.toFixed(1)}×`)
  })

  test('token lookup in headers, cookies, the query string and the body', async (t) => {
    const locations: TokenLocation[] = ['headers', 'cookies', 'query_string', 'json']
    const keycard = await createKeycard({ secret: SECRET, tokenLocation: locations, maxTokenLength: 1 << 22 })
    const headersOnly = await createKeycard({ secret: SECRET, maxTokenLength: 1 << 22 })
    for (const [label, make] of HEADER_SHAPES) {
      for (const k of label.startsWith('Authorization') ? [headersOnly, keycard] : [keycard]) {
        const ratio = await costRatio(make(k))
        t.diagnostic(`${label}: ${ratio.toFixed(1)}×`)
        assert.ok(ratio < BOUND, `${label}: ${ratio.toFixed(1)}× the cost for ${FACTOR}× the size`)
      }
    }
  })

  test('decodeToken, strict and lax', async (t) => {
    for (const strict of [true, false]) {
      const keycard = await createKeycard({ secret: SECRET, strict, maxTokenLength: 1 << 22 })
      for (const [label, token] of TOKEN_SHAPES) {
        const ratio = await costRatio((n) => decoded(keycard, token(n)))
        t.diagnostic(`${label} (strict ${strict}): ${ratio.toFixed(1)}×`)
        assert.ok(ratio < BOUND, `${label} (strict ${strict}): ${ratio.toFixed(1)}× the cost for ${FACTOR}× the size`)
      }
    }
  })
})
