/**
 * Where the Express adapter keeps `req.jwt`: an accessor on Express's shared request prototype over
 * a WeakMap (Express gives every request a hidden class of its own, so adding a property to each
 * one is slow). These tests pin the behaviour users rely on: it reads and writes like a property, per
 * request, in mounted sub-apps, and node's own IncomingMessage.prototype is never touched.
 */

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import express, { type Express } from 'express'
import { createKeycard } from 'keycard'
import { expressKeycard } from 'keycard/express'
import { SECRET } from './harness.ts'

async function listen(t: { after(fn: () => unknown): void }, handler: Express | Parameters<typeof createServer>[1]): Promise<string> {
  const server: Server = createServer(handler as Parameters<typeof createServer>[1])
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise((resolve) => server.close(resolve)))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

const get = async (url: string, token?: string) => {
  const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

test('req.jwt is per request, absent on unguarded routes, and assignable like a property', async (t) => {
  const keycard = await createKeycard({ secret: SECRET })
  const auth = expressKeycard(keycard)
  const app = express()
  app.get('/open', (req, res) => {
    res.json({ jwt: req.jwt === undefined ? 'undefined' : req.jwt, own: Object.keys(req).includes('jwt') })
  })
  app.get(
    '/guarded',
    auth.jwtRequired(),
    (req, _res, next) => {
      // Later middleware may replace it, as with a plain property.
      ;(req as { seen?: string }).seen = req.jwt!.identity
      req.jwt = null
      next()
    },
    (req, res) => {
      res.json({ seen: (req as { seen?: string }).seen, after: req.jwt })
    },
  )
  app.get('/optional', auth.jwtRequired({ optional: true }), (req, res) => {
    res.json({ jwt: req.jwt === null ? null : req.jwt!.identity })
  })
  const url = await listen(t, app)

  const alice = await keycard.createAccessToken('alice')
  const bob = await keycard.createAccessToken('bob')
  assert.deepEqual((await get(`${url}/guarded`, alice)).body, { seen: 'alice', after: null })
  assert.deepEqual((await get(`${url}/guarded`, bob)).body, { seen: 'bob', after: null })
  // Concurrent requests never see each other's context.
  const many = await Promise.all(
    Array.from({ length: 20 }, (_, i) => keycard.createAccessToken(`u${i}`).then((tok) => get(`${url}/optional`, tok))),
  )
  assert.deepEqual(
    many.map((r) => r.body.jwt),
    Array.from({ length: 20 }, (_, i) => `u${i}`),
  )
  assert.deepEqual((await get(`${url}/optional`)).body, { jwt: null })
  // A request no guard saw has no context, even after guarded ones on the same app.
  assert.deepEqual((await get(`${url}/open`, alice)).body, { jwt: 'undefined', own: false })
})

test('req.jwt set in a mounted sub-app is still there after the sub-app hands the request on', async (t) => {
  const keycard = await createKeycard({ secret: SECRET })
  const auth = expressKeycard(keycard)
  const api = express()
  api.use(auth.jwtRequired({ optional: true }))
  api.get('/inner', (req, res) => {
    res.json({ inner: req.jwt?.identity ?? null })
  })
  const app = express()
  app.use('/api', api)
  // Express restores the parent's request prototype when the sub-app calls next().
  app.use((req, res) => {
    res.json({ outer: req.jwt?.identity ?? null })
  })
  const url = await listen(t, app)
  const token = await keycard.createAccessToken('carol')
  assert.deepEqual((await get(`${url}/api/inner`, token)).body, { inner: 'carol' })
  assert.deepEqual((await get(`${url}/api/elsewhere`, token)).body, { outer: 'carol' })
  assert.deepEqual((await get(`${url}/api/elsewhere`)).body, { outer: null })
})

test('on a plain node request (no Express) the guard sets an own property and leaves IncomingMessage.prototype alone', async (t) => {
  const keycard = await createKeycard({ secret: SECRET })
  const guard = expressKeycard(keycard).jwtRequired()
  const url = await listen(t, (req: IncomingMessage, res: ServerResponse) => {
    const response = res as unknown as Parameters<typeof guard>[1]
    guard(req as Parameters<typeof guard>[0], response, () => {
      const r = req as IncomingMessage & { jwt?: { identity: string } }
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ identity: r.jwt!.identity, own: Object.hasOwn(req, 'jwt') }))
    })
  })
  assert.deepEqual((await get(url, await keycard.createAccessToken('dave'))).body, { identity: 'dave', own: true })
  assert.equal(Object.getOwnPropertyDescriptor(IncomingMessage.prototype, 'jwt'), undefined)
})
