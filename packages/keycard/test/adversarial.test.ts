/**
 * Adversarial request input: long runs of commas, spaces, repeated `Bearer `, semicolons in cookies,
 * oversized CSRF values and tokens. Every parsing step on the request path is linear in its input, so
 * each of these gets its ordinary answer (status + FJE's message), never a hang, a crash or a 500.
 *
 * Two layers: over real HTTP with values just under Node's 16 KiB header limit, both adapters; and
 * through `verifyJwtInRequest` with a hand-made RequestView, where no server limit applies, at 1 MiB.
 * At that size a parse quadratic in its input (the old comma clean-up, `replace(/^,+|,+$/g)`, cost
 * 130-160 ms per 16 KiB) needs about ten minutes per request, blocking the event loop (checked: the
 * old code did not finish in 200 s); linear parsing answers in milliseconds. No time is measured
 * here: timing is the bench's business (bench/run-micro.ts, the adversarial rows).
 */

import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createKeycard, type KeycardError, type RequestView } from 'keycard'
import { ADAPTERS, call, claims, expectError, SECRET, sign, startApp } from './harness.ts'

const MISSING_BEARER = "Missing 'Bearer' type in 'Authorization' header. Expected 'Authorization: Bearer <JWT>'"
const BAD_HEADER = "Bad Authorization header. Expected 'Authorization: Bearer <JWT>'"
const TOO_LARGE = 'Token is too large (over 8192 characters)'
/** Under Node's 16 KiB limit on all request headers together. */
const HTTP_SIZE = 15_000
const MIB = 1 << 20

/** `unit` repeated to `size` characters. */
const fill = (unit: string, size: number) => unit.repeat(Math.ceil(size / unit.length)).slice(0, size)

/** Authorization values, each with FJE's answer: [label, value, status, msg]. */
function headerCases(size: number): Array<[string, string, number, string]> {
  return [
    ['a run of commas between two words', `x${fill(',', size)}x`, 401, MISSING_BEARER],
    ['a run of commas before a Bearer entry', `Basic x${fill(',', size)}Bearer`, 422, BAD_HEADER],
    ['only commas', fill(',', size), 401, 'Missing Authorization Header'],
    ['commas and spaces', `a${fill(', ', size)}b`, 401, MISSING_BEARER],
    ['commas, tabs and spaces', `a${fill(',\t ,', size)}b`, 401, MISSING_BEARER],
    ['"Bearer " repeated', fill('Bearer ', size), 422, BAD_HEADER],
    ['"Bearer x, " repeated', fill('Bearer x, ', size), 401, MISSING_BEARER],
    ['"bearer " repeated (lowercase)', fill('bearer ', size), 401, MISSING_BEARER],
    ['a run of spaces inside the Bearer entry', `Bearer${fill(' ', size / 2)}x${fill(' ', size / 2)}y`, 422, BAD_HEADER],
    ['a huge token', `Bearer ${fill('a', size)}`, 422, TOO_LARGE],
    ['a huge token of dots', `Bearer ${fill('.', size)}`, 422, TOO_LARGE],
    ['a huge token of segments', `Bearer ${fill('a.', size)}`, 422, TOO_LARGE],
  ]
}

const isMissing = (status: number) => status === 401

for (const adapter of ADAPTERS) {
  describe(`${adapter}: adversarial headers over HTTP`, () => {
    test('long Authorization values get their ordinary answers', async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET })
      for (const [label, value, status, msg] of headerCases(HTTP_SIZE)) {
        const res = await call(url, '/protected', { authorization: value })
        assert.equal(res.status, status, label)
        expectError(res, status, msg, { noCredentials: isMissing(status) })
      }
    })

    test('headers + cookies: the same answers, and semicolon floods in the Cookie header', async (t) => {
      const { url, keycard } = await startApp(t, adapter, { secret: SECRET, tokenLocation: ['headers', 'cookies'] })
      for (const [label, value, status, msg] of headerCases(HTTP_SIZE)) {
        const res = await call(url, '/protected', { authorization: value })
        assert.equal(res.status, status, label)
        expectError(res, status, msg, { noCredentials: isMissing(status) })
      }
      // No Keycard cookie among thousands of empty pairs: an API client.
      expectError(await call(url, '/protected', { headers: { cookie: fill(';', HTTP_SIZE) } }), 401, 'Missing Authorization Header', {
        noCredentials: true,
      })
      expectError(await call(url, '/protected', { headers: { cookie: fill('a=b; ', HTTP_SIZE) } }), 401, 'Missing Authorization Header', {
        noCredentials: true,
      })
      expectError(await call(url, '/protected', { headers: { cookie: fill('==;', HTTP_SIZE) } }), 401, 'Missing Authorization Header', {
        noCredentials: true,
      })
      // An empty Keycard cookie after the flood: a browser without a token.
      expectError(
        await call(url, '/protected', { headers: { cookie: `${fill('; ', HTTP_SIZE)}access_token_cookie=` } }),
        401,
        'Missing JWT in headers or cookies (Missing Authorization Header; Missing cookie "access_token_cookie")',
        { noCredentials: true },
      )
      // A real cookie token found after the flood; a 15 000-character CSRF echo is compared, not trusted.
      const token = await keycard.createAccessToken('42')
      const cookie = `${fill('x=1; ', HTTP_SIZE - 1000)}access_token_cookie=${token}`
      const get = await call(url, '/protected', { headers: { cookie } })
      assert.equal(get.status, 200)
      const post = await call(url, '/protected', {
        method: 'POST',
        headers: { cookie: `access_token_cookie=${token}`, 'x-csrf-token': fill('a', HTTP_SIZE) },
      })
      assert.deepEqual({ status: post.status, body: post.body }, { status: 401, body: { msg: 'CSRF double submit tokens do not match' } })
    })
  })
}

/** A RequestView over plain values, with no size limit. */
function view(headers: Record<string, string>, cookies: Record<string, string> = {}, method = 'GET'): RequestView {
  return { method, header: (name) => headers[name], cookie: (name) => cookies[name] }
}

async function answer(promise: Promise<unknown>): Promise<{ status: number; msg: string } | 'ok'> {
  try {
    await promise
    return 'ok'
  } catch (err) {
    return { status: (err as KeycardError & { status: number }).status, msg: (err as Error).message }
  }
}

describe('adversarial input at 1 MiB, without a server in the way', () => {
  test('every Authorization case answers as at 16 KiB', { timeout: 60_000 }, async () => {
    const keycard = await createKeycard({ secret: SECRET })
    const mixed = await createKeycard({ secret: SECRET, tokenLocation: ['headers', 'cookies'] })
    for (const [label, value, status, msg] of headerCases(MIB)) {
      assert.deepEqual(await answer(keycard.verifyJwtInRequest(view({ authorization: value }))), { status, msg }, label)
      assert.deepEqual(
        await answer(mixed.verifyJwtInRequest(view({ authorization: value }))),
        { status, msg },
        `${label} (headers + cookies)`,
      )
    }
    // headerType "": the whole value is one word or a 422.
    const bare = await createKeycard({ secret: SECRET, headerType: '' })
    assert.deepEqual(await answer(bare.verifyJwtInRequest(view({ authorization: `a${fill(' ,', MIB)}b` }))), {
      status: 422,
      msg: "Bad Authorization header. Expected 'Authorization: <JWT>'",
    })
    assert.deepEqual(await answer(bare.verifyJwtInRequest(view({ authorization: fill(',', MIB) }))), {
      status: 401,
      msg: 'Missing Authorization Header',
    })
  })

  test('a valid token after a megabyte of other credentials is still found', { timeout: 60_000 }, async () => {
    const keycard = await createKeycard({ secret: SECRET })
    const token = await sign(claims())
    const ctx = await keycard.verifyJwtInRequest(view({ authorization: `${fill('Basic x,', MIB)} Bearer ${token}` }))
    assert.equal(ctx?.identity, '42')
    const spaced = await keycard.verifyJwtInRequest(view({ authorization: `${fill(', ', MIB)}Bearer ${token}${fill(' ', MIB)}` }))
    assert.equal(spaced?.identity, '42')
  })
})

/** FJE's header parsing transcribed the obvious way (quadratic on long comma runs: short inputs only). */
function reference(raw: string, headerType: string): { status: number; msg: string } | { token: string } {
  const expected = headerType ? `'Authorization: ${headerType} <JWT>'` : "'Authorization: <JWT>'"
  const value = raw.trim().replace(/^,+|,+$/g, '')
  if (value === '') return { status: 401, msg: 'Missing Authorization Header' }
  if (!headerType) {
    const parts = value.split(/\s+/).filter(Boolean)
    return parts.length === 1 ? { token: parts[0]! } : { status: 422, msg: `Bad Authorization header. Expected ${expected}` }
  }
  const entries = value.split(/,\s*/).filter((entry) => entry.trim().split(/\s+/)[0] === headerType)
  if (entries.length !== 1) return { status: 401, msg: `Missing '${headerType}' type in 'Authorization' header. Expected ${expected}` }
  const parts = entries[0]!.trim().split(/\s+/)
  return parts.length === 2 ? { token: parts[1]! } : { status: 422, msg: `Bad Authorization header. Expected ${expected}` }
}

test('the linear header parser agrees with the obvious transcription of FJE on 20 000 random short headers', async () => {
  let seed = 0x6b6579
  const rand = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff
    return seed / 0x80000000
  }
  const pieces = ['Bearer', 'bearer', 'Basic', 'B', 'Bearerx', 'x', 'tok', ' ', '  ', ',', ', ', ' ,', '\t', '\u00a0', 'a.b.c']
  for (const headerType of ['Bearer', 'JWT', '']) {
    const keycard = await createKeycard({ secret: SECRET, headerType })
    for (let n = 0; n < (headerType === 'Bearer' ? 14_000 : 3_000); n++) {
      let raw = ''
      for (let k = Math.floor(rand() * 9); k >= 0; k--) raw += pieces[Math.floor(rand() * pieces.length)]!
      if (headerType === 'JWT') raw = raw.replaceAll('Bearer', 'JWT')
      const want = reference(raw, headerType)
      const got = await answer(keycard.verifyJwtInRequest(view({ authorization: raw })))
      if ('token' in want) {
        // The header gave up this token: keycard then judges the token itself, as decodeToken does.
        assert.deepEqual(got, await answer(keycard.decodeToken(want.token)), JSON.stringify(raw))
      } else {
        assert.deepEqual(got, want, JSON.stringify(raw))
      }
    }
  }
})
