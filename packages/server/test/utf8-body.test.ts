/**
 * JSON bodies that are not valid UTF-8, over real HTTP with raw bytes: a 400 naming the field, never a
 * password silently changed to one holding U+FFFD. Fastify's protections (body limit, prototype
 * poisoning, empty and malformed bodies) still hold. And utf8.ts, the decoder behind it, directly.
 */

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { decodeUtf8, Utf8Stream } from '../src/utf8.ts'
import { PASSWORD, startServer, type TestServer, forEachDialect } from './helpers.ts'
import { codeOf } from './field-errors.ts'

forEachDialect((dialect) => {
  const NOT_UTF8 = 'must be valid UTF-8 text (it holds invalid bytes or a lone surrogate)'

  /** POSTs `parts` (strings as UTF-8, byte arrays as is) as an application/json body. */
  async function postBytes(s: TestServer, path: string, ...parts: (string | number[])[]): Promise<{ status: number; body: any }> {
    const body = Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))))
    const res = await fetch(s.url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
    return { status: res.status, body: await res.json() }
  }

  test('a password with bytes that are not UTF-8 is a 400 naming password, on register and login', async (t) => {
    const s = await startServer(t, {}, { dialect })
    // "café" in Latin-1: 0xE9 alone is not UTF-8. Fastify's decoder made it "caf\ufffd" and accepted it.
    const latin1 = [0x63, 0x61, 0x66, 0xe9, 0x20, 0x63, 0x72, 0xe8, 0x6d, 0x65]
    const register = await postBytes(s, '/auth/register', '{"username":"zoe","password":"', latin1, '"}')
    assert.equal(register.status, 400)
    assert.deepEqual(register.body, { msg: `password ${NOT_UTF8}`, ...codeOf(`password ${NOT_UTF8}`) })
    await s.register('zoe', { password: 'caf\ufffd cr\ufffdme' })
    const login = await postBytes(s, '/auth/login', '{"username":"zoe","password":"', latin1, '"}')
    assert.equal(login.status, 400)
    assert.deepEqual(login.body, { msg: `password ${NOT_UTF8}`, ...codeOf(`password ${NOT_UTF8}`) })
    // The user who really chose U+FFFD still logs in with it (sent as valid UTF-8).
    assert.equal((await s.api('POST', '/auth/login', { body: { username: 'zoe', password: 'caf\ufffd cr\ufffdme' } })).status, 200)
  })

  test('a new password that is not UTF-8 is a 400 naming new_password, and the old password still works', async (t) => {
    const s = await startServer(t, {}, { dialect })
    const { access_token } = await s.register('zoe')
    const res = await fetch(`${s.url}/auth/password`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${access_token}` },
      body: Buffer.concat([Buffer.from('{"new_password":"new p'), Buffer.of(0xe4), Buffer.from('ssword"}')]),
    })
    assert.equal(res.status, 400)
    assert.deepEqual(await res.json(), { msg: `new_password ${NOT_UTF8}`, ...codeOf(`new_password ${NOT_UTF8}`) })
    const escaped = await s.api('POST', '/auth/password', {
      token: access_token,
      raw: '{"new_password":"new p\\udc00ssword"}',
      contentType: 'application/json',
    })
    assert.deepEqual([escaped.status, escaped.body], [400, { msg: `new_password ${NOT_UTF8}`, ...codeOf(`new_password ${NOT_UTF8}`) }])
    await s.login('zoe', PASSWORD)
  })

  test('every kind of bad UTF-8 is caught, in whichever field it is', async (t) => {
    const s = await startServer(t, {}, { dialect })
    const bad: number[][] = [
      [0xff],
      [0x80],
      [0xc0, 0xaf],
      [0xe0, 0x80, 0xaf],
      [0xed, 0xa0, 0x80],
      [0xf4, 0x90, 0x80, 0x80],
      [0xf0, 0x9f, 0x98],
      [0xc3],
    ]
    for (const bytes of bad) {
      for (const field of ['username', 'password', 'email']) {
        const fields: Record<string, string> = { username: 'zoe', password: PASSWORD, email: 'zoe@example.com' }
        const before = JSON.stringify(Object.fromEntries(Object.entries(fields).filter(([k]) => k !== field))).slice(0, -1)
        const res = await postBytes(s, '/auth/register', `${before},"${field}":"ab`, bytes, 'cd"}')
        assert.equal(res.status, 400, `${field} ${bytes}`)
        assert.deepEqual(res.body, { msg: `${field} ${NOT_UTF8}`, ...codeOf(`${field} ${NOT_UTF8}`) }, `${field} ${bytes}`)
      }
    }
    // Nested, or in a field name, or outside any string.
    assert.deepEqual((await postBytes(s, '/auth/register', '{"username":"zoe","password":"x","extra":{"a":["', [0xff], '"]}}')).body, {
      msg: `extra ${NOT_UTF8}`,
      ...codeOf(`extra ${NOT_UTF8}`),
    })
    assert.deepEqual((await postBytes(s, '/auth/register', '{"user', [0xff], '":"zoe"}')).body, {
      msg: `The request body's field names ${NOT_UTF8}`,
      ...codeOf(`The request body's field names ${NOT_UTF8}`),
    })
    assert.deepEqual((await postBytes(s, '/auth/register', '{"username":"zoe"', [0xff], '}')).body, {
      msg: 'Request body must be valid UTF-8 text (it holds invalid bytes)',
      ...codeOf('Request body must be valid UTF-8 text (it holds invalid bytes)'),
    })
    assert.deepEqual((await postBytes(s, '/auth/register', '"', [0xff], '"')).body, {
      msg: `Request body ${NOT_UTF8}`,
      ...codeOf(`Request body ${NOT_UTF8}`),
    })
    assert.equal((await s.api('POST', '/auth/login', { body: { username: 'zoe', password: PASSWORD } })).status, 401)
  })

  test('a lone surrogate escape ("\\ud800") is a 400 naming the field; a pair is fine', async (t) => {
    const s = await startServer(t, {}, { dialect })
    for (const [field, raw] of [
      ['password', '{"username":"zoe","password":"abcdefgh\\ud800"}'],
      ['password', '{"username":"zoe","password":"\\uDC00abcdefgh"}'],
      ['username', '{"username":"zo\\udbff","password":"abcdefgh"}'],
    ] as const) {
      const res = await s.api('POST', '/auth/register', { raw, contentType: 'application/json' })
      assert.equal(res.status, 400, raw)
      assert.deepEqual(res.body, { msg: `${field} ${NOT_UTF8}`, ...codeOf(`${field} ${NOT_UTF8}`) }, raw)
    }
    const pair = await s.api('POST', '/auth/register', {
      raw: '{"username":"zoe","password":"emoji \\ud83d\\ude00 pw"}',
      contentType: 'application/json',
    })
    assert.equal(pair.status, 201)
    await s.login('zoe', 'emoji 😀 pw')
    // An escaped backslash before "ud800" is no escape: the walk runs and finds nothing.
    assert.equal(
      (
        await s.api('POST', '/auth/register', {
          raw: '{"username":"zoe2","password":"\\\\ud800 is text"}',
          contentType: 'application/json',
        })
      ).status,
      201,
    )
  })

  test("Fastify's protections still hold: prototype poisoning, empty, malformed and over-limit bodies, a BOM", async (t) => {
    const s = await startServer(t, {}, { dialect })
    const send = (raw: string) => s.api('POST', '/auth/register', { raw, contentType: 'application/json; charset=utf-8' })
    const proto = await send('{"username":"zoe","password":"abcdefgh","__proto__":{"admin":true}}')
    // Fastify's parser answers a poisoned body as malformed JSON, as before.
    assert.equal(proto.status, 400)
    assert.deepEqual(proto.body, { msg: 'Malformed JSON in request body', ...codeOf('Malformed JSON in request body') })
    const ctor = await send('{"username":"zoe","password":"abcdefgh","constructor":{"prototype":{"admin":true}}}')
    assert.equal(ctor.status, 400)
    assert.deepEqual(ctor.body, { msg: 'Malformed JSON in request body', ...codeOf('Malformed JSON in request body') })
    assert.deepEqual((await send('')).body, {
      msg: 'Request body is empty but Content-Type is application/json',
      ...codeOf('Request body is empty but Content-Type is application/json'),
    })
    assert.deepEqual((await send('{"username":')).body, {
      msg: 'Malformed JSON in request body',
      ...codeOf('Malformed JSON in request body'),
    })
    const big = await send(JSON.stringify({ username: 'zoe', password: 'x'.repeat(70 * 1024) }))
    assert.equal(big.status, 413)
    assert.match(big.body.msg, /^Request body is too large/)
    assert.equal((await send('\ufeff{"username":"zoe","password":"abcdefgh"}')).status, 201)
  })

  test('decodeUtf8 marks each bad byte as the lone surrogate U+DC80 + byte, and keeps valid text as is', () => {
    assert.deepEqual(decodeUtf8(Buffer.from('Zoë 😀 \ufffd')), { text: 'Zoë 😀 \ufffd', valid: true })
    assert.deepEqual(decodeUtf8(Buffer.from('\ufeffbom')), { text: '\ufeffbom', valid: true })
    assert.deepEqual(decodeUtf8(Uint8Array.of(0x61, 0xff, 0x62)), { text: 'a\udcffb', valid: false })
    // Overlong, surrogate, above U+10FFFF, truncated: every byte of them is marked.
    assert.deepEqual(decodeUtf8(Uint8Array.of(0xc0, 0xaf)), { text: '\udcc0\udcaf', valid: false })
    assert.deepEqual(decodeUtf8(Uint8Array.of(0xed, 0xa0, 0x80)), { text: '\udced\udca0\udc80', valid: false })
    assert.deepEqual(decodeUtf8(Uint8Array.of(0xf4, 0x90, 0x80, 0x80)), { text: '\udcf4\udc90\udc80\udc80', valid: false })
    assert.deepEqual(decodeUtf8(Uint8Array.of(0x78, 0xf0, 0x9f, 0x98)), { text: 'x\udcf0\udc9f\udc98', valid: false })
    // Valid text around the bad byte survives whole.
    assert.deepEqual(decodeUtf8(Buffer.concat([Buffer.from('é😀'), Buffer.of(0x80), Buffer.from('ü')])), {
      text: 'é😀\udc80ü',
      valid: false,
    })
  })

  test('Utf8Stream holds a character split across chunks, and marks bad bytes', () => {
    const whole = Buffer.from('aé€😀')
    for (let cut = 0; cut <= whole.length; cut++) {
      for (let cut2 = cut; cut2 <= whole.length; cut2++) {
        const d = new Utf8Stream()
        const text = d.write(whole.subarray(0, cut)) + d.write(whole.subarray(cut, cut2)) + d.write(whole.subarray(cut2))
        assert.equal(text, 'aé€😀', `${cut} ${cut2}`)
      }
    }
    const d = new Utf8Stream()
    assert.equal(d.write(Uint8Array.of(0xe9)), '')
    assert.equal(d.write(Uint8Array.of(0x20)), '\udce9 ')
    assert.equal(new Utf8Stream().write(Uint8Array.of(0xf0, 0x80)), '\udcf0\udc80')
  })
})
