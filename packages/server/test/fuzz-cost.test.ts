/**
 * Linear cost of hostile requests over real HTTP, as two ratios of CPU time (process.cpuUsage of this
 * process, which runs the server and the client; medians of several samples) within one run, never a
 * time: the request at 16n against the same at n (linear: at most about 16; quadratic: about 256;
 * bound 128), and the request at 16n against a benign one of the same size on the same route (its
 * headers and body replaced by plain filler of the same lengths; bound 16). HTTP's fixed cost per
 * request dilutes the first ratio at these sizes, which stay under Node's 16 KiB of headers and the
 * 64 KiB body limit so each request reaches the code under test; the second ratio is not diluted.
 *
 * The combining-mark shapes are the ones NFC normalisation is quadratic on (canonical reordering of
 * U+0301 U+0316 …): before identity-rules.ts skipped normalising inputs too long to be valid, a 60 KB
 * registration cost over half a second of CPU.
 */

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type Dialect, forEachDialect, signToken, startServer } from './helpers.ts'

const FACTOR = 16
const BOUND = FACTOR * 8
/** Hostile over benign at the same size, large: a linear parse doing more per byte stays well under. */
const PEER_BOUND = 16
const SAMPLES = 5
/** Header shapes: 16n stays under Node's 16 KiB header limit. */
const HEADER_N = 700
/** Body shapes, in characters of at most 2 UTF-8 bytes: 16n stays under the 64 KiB body limit. */
const BODY_N = 1900

const fill = (unit: string, size: number) => unit.repeat(Math.ceil(size / unit.length)).slice(0, size)
/** Combining marks of alternating classes (230, 220): what NFC has to reorder. */
const marks = (size: number) => `a${fill('\u0301\u0316', size)}`

interface Shot {
  method: string
  path: string
  headers?: Record<string, string>
  body?: string | Buffer
  /** The benign path of the same length, when the path is the hostile part. */
  peerPath?: string
}

/** The benign request of the same size: headers (but Content-Type) renamed and filled with 'a', the body a JSON string of 'a'. */
function peerOf(shot: Shot): Shot {
  const headers: Record<string, string> = {}
  let i = 0
  for (const [name, value] of Object.entries(shot.headers ?? {}))
    if (name === 'content-type') headers[name] = value
    else headers[`x-pad-${i++}`] = fill('a', value.length)
  const bytes = shot.body === undefined ? 0 : Buffer.byteLength(shot.body)
  return {
    method: shot.method,
    path: shot.peerPath ?? shot.path,
    headers,
    ...(shot.body !== undefined ? { body: `{"x":"${fill('a', Math.max(bytes - 8, 0))}"}` } : {}),
  }
}

type Shape = [label: string, n: number, shot: (size: number) => Shot]

const json = (path: string, body: unknown): Shot => ({
  method: 'POST',
  path,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
})
const raw = (path: string, body: string | Buffer): Shot => ({ method: 'POST', path, headers: { 'content-type': 'application/json' }, body })

const SHAPES: Shape[] = [
  [
    'register: a username of combining marks',
    BODY_N,
    (n) => json('/auth/register', { username: marks(n), password: 'correct horse battery' }),
  ],
  [
    'register: an email of combining marks',
    BODY_N,
    (n) => json('/auth/register', { username: 'alice', email: `${marks(n)}@x.org`, password: 'p' }),
  ],
  ['register: a long password', BODY_N, (n) => json('/auth/register', { username: 'alice', password: fill('é', n) })],
  ['login: a login name of combining marks', BODY_N, (n) => json('/auth/login', { username: marks(n), password: 'x' })],
  ['login: an email of combining marks', BODY_N, (n) => json('/auth/login', { username: `${marks(n)}@x.org`, password: 'x' })],
  ['body: nested arrays', BODY_N, (n) => raw('/auth/login', `${fill('[', n)}${fill(']', n)}`)],
  ['body: many keys', BODY_N, (n) => raw('/auth/login', `{${fill('"k":0,', n)}"username":"a"}`)],
  ['body: lone surrogate escapes', BODY_N, (n) => raw('/auth/register', `{"username":"${fill('\\ud800', n)}"}`)],
  [
    'body: invalid UTF-8',
    BODY_N,
    (n) => raw('/auth/register', Buffer.concat([Buffer.from('{"username":"'), Buffer.alloc(n, 0xc3), Buffer.from('"}')])),
  ],
  [
    'Authorization: a run of commas',
    HEADER_N,
    (n) => ({ method: 'GET', path: '/auth/me', headers: { authorization: `x${fill(',', n)}x` } }),
  ],
  [
    'Authorization: "Bearer " repeated',
    HEADER_N,
    (n) => ({ method: 'GET', path: '/auth/me', headers: { authorization: fill('Bearer ', n) } }),
  ],
  [
    'Cookie: a semicolon flood',
    HEADER_N,
    (n) => ({ method: 'GET', path: '/auth/me', headers: { cookie: `${fill(';', n)}access_token_cookie=x` } }),
  ],
  [
    'X-CSRF-TOKEN: a huge value',
    HEADER_N,
    (n) => ({ method: 'POST', path: '/auth/logout', headers: { cookie: 'access_token_cookie=a.b.c', 'x-csrf-token': fill('x', n) } }),
  ],
  [
    'X-Forwarded-For: many hops',
    HEADER_N,
    (n) => ({
      ...json('/auth/login', { username: 'alice', password: 'x' }),
      headers: { 'content-type': 'application/json', 'x-forwarded-for': fill('1.2.3.4, ', n) },
    }),
  ],
  [
    'X-Forwarded-For: garbage',
    HEADER_N,
    (n) => ({
      ...json('/auth/login', { username: 'alice', password: 'x' }),
      headers: { 'content-type': 'application/json', 'x-forwarded-for': fill(':,[', n) },
    }),
  ],
  [
    'X-Token-Mode: spaces',
    HEADER_N,
    (n) => ({
      ...json('/auth/login', { username: 'alice', password: 'x' }),
      headers: { 'content-type': 'application/json', 'x-token-mode': `${fill(' ', n)}x` },
    }),
  ],
  [
    'query string: an ampersand flood',
    HEADER_N,
    (n) => ({ method: 'GET', path: `/admin/users?${fill('&', n)}limit=1`, peerPath: `/admin/users?x=${fill('a', n - 2)}limit=1` }),
  ],
  ['path: a long asset name', HEADER_N, (n) => ({ method: 'GET', path: `/assets/${fill('a.', n)}`, peerPath: `/assets/${fill('a', n)}` })],
  [
    'a token of many segments',
    HEADER_N,
    (n) => ({ method: 'GET', path: '/auth/verify', headers: { authorization: `Bearer ${fill('a.', n)}` } }),
  ],
  [
    'a signed token with a huge claim',
    HEADER_N,
    (n) => ({ method: 'GET', path: '/auth/me', headers: { authorization: `Bearer ${signToken({ x: fill('a', n / 2) })}` } }),
  ],
]

async function send(url: string, shot: Shot): Promise<number> {
  const res = await fetch(url + shot.path, {
    method: shot.method,
    ...(shot.headers ? { headers: shot.headers } : {}),
    ...(shot.body !== undefined ? { body: shot.body } : {}),
  })
  await res.arrayBuffer()
  return res.status
}

async function cpuPerRequest(url: string, shot: Shot, count: number): Promise<number> {
  const start = process.cpuUsage()
  for (let i = 0; i < count; i++) await send(url, shot)
  const used = process.cpuUsage(start)
  return (used.user + used.system) / count
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!

forEachDialect((dialect: Dialect) => {
  test('hostile requests cost linear CPU in their size', async (t) => {
    // TRUST_PROXY: X-Forwarded-For is parsed. Throttling off (once it exists), so every request reaches its parse.
    const s = await startServer(t, { TRUST_PROXY: 'true', LOGIN_THROTTLE: 'off' }, { dialect })
    for (const [label, n, shot] of SHAPES) {
      const small = shot(n)
      const large = shot(n * FACTOR)
      const status = await send(s.url, small)
      assert.ok(status < 500 && status === (await send(s.url, large)), `${label}: the same answer at both sizes (got ${status})`)
      const peer = peerOf(large)
      await send(s.url, peer)
      const smallCosts: number[] = []
      const largeCosts: number[] = []
      const peerCosts: number[] = []
      for (let i = 0; i < SAMPLES; i++) {
        smallCosts.push(await cpuPerRequest(s.url, small, 8))
        largeCosts.push(await cpuPerRequest(s.url, large, 2))
        peerCosts.push(await cpuPerRequest(s.url, peer, 2))
      }
      const growth = median(largeCosts) / Math.max(median(smallCosts), 1)
      const overPeer = median(largeCosts) / Math.max(median(peerCosts), 1)
      t.diagnostic(
        `${label}: ${status}, ${growth.toFixed(1)}× the CPU for ${FACTOR}× the size, ${overPeer.toFixed(1)}× a benign request as large`,
      )
      assert.ok(growth < BOUND, `${label}: ${growth.toFixed(1)}× the CPU for ${FACTOR}× the size (bound ${BOUND}×)`)
      assert.ok(overPeer < PEER_BOUND, `${label}: ${overPeer.toFixed(1)}× the CPU of a benign request as large (bound ${PEER_BOUND}×)`)
    }
  })
})
