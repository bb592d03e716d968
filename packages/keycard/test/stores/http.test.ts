/**
 * The stores behind a real keycard + Fastify app on 127.0.0.1:0: a logout is refused at once, a
 * revocation made through another store on the same backend is refused once it has arrived (awaited on
 * the store's event), and while the store is stale (its backend cut off past a short `maxStaleness`,
 * awaited on its `stale` event) a valid token gets 503 `{"msg": …}` with Retry-After, never a 401 or a
 * 500; once the backend is back the same token passes again, with no restart.
 */

import assert from 'node:assert/strict'
import type { AddressInfo } from 'node:net'
import { after, afterEach, before, describe, test } from 'node:test'
import express from 'express'
import Fastify, { type FastifyInstance } from 'fastify'
import { createKeycard, type Keycard, type RevocationStore } from 'keycard'
import { expressKeycard } from 'keycard/express'
import { fastifyKeycard } from 'keycard/fastify'
import { storeErrorResponse } from 'keycard/stores/kysely'
import { type Backend, next, type Opened, STORES, type SharedStore, seen, startBackend } from './backends.ts'

const SECRET = 'keycard-stores-secret-0123456789-abcdef'
const TIMEOUT = { timeout: 60_000 }

/** An app guarded by `keycard`; `handler` adds the documented error handler that renders store errors as `{"msg": …}`. */
async function serve(keycard: Keycard, handler: boolean): Promise<{ app: FastifyInstance; url: string }> {
  const auth = fastifyKeycard(keycard)
  const app = Fastify()
  await app.register(auth.plugin)
  if (handler)
    app.setErrorHandler((err, _request, reply) => {
      const response = storeErrorResponse(err)
      if (response) return auth.sendError(reply, response)
      reply.send(err)
    })
  app.get('/protected', { preHandler: auth.jwtRequired() }, (req) => ({ user: req.jwt!.identity }))
  app.delete('/logout', { preHandler: auth.jwtRequired() }, async (req) => {
    await keycard.revokeToken(req.jwt!.claims)
    return { msg: 'Token revoked' }
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  return { app, url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` }
}

/** The same guard on Express 5, with Express's default error handler. */
async function serveExpress(keycard: Keycard): Promise<{ close(): Promise<void>; url: string }> {
  const auth = expressKeycard(keycard)
  const app = express()
  app.get('/protected', auth.jwtRequired(), (req, res) => {
    res.json({ user: req.jwt!.identity })
  })
  const server = app.listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}

async function call(url: string, token: string, method = 'GET') {
  const res = await fetch(url, { method, headers: { authorization: `Bearer ${token}` } })
  const text = await res.text()
  const body = res.headers.get('content-type')?.startsWith('application/json') ? (JSON.parse(text) as Record<string, unknown>) : { text }
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body }
}

for (const kind of STORES) {
  describe(`keycard + Fastify on the ${kind} store`, () => {
    let backend: Backend
    const cleanup: Array<() => Promise<void>> = []
    before(async () => {
      backend = await startBackend(kind)
    })
    afterEach(async () => {
      for (const fn of cleanup.splice(0).reverse()) await fn()
    })
    after(async () => {
      await backend?.close()
    })

    async function setUp() {
      // A short bound so the outage below makes it stale soon; heartbeats and polls run 30 times within it.
      const opened: Opened = await backend.open({ cuttable: true, maxStaleness: 1500, interval: 50 })
      cleanup.push(opened.close)
      const store = opened.store
      if ('ready' in store) await store.ready()
      const keycard = await createKeycard({ secret: SECRET, revocationStore: store as RevocationStore })
      const guarded = await serve(keycard, true)
      const plain = await serve(keycard, false)
      const onExpress = await serveExpress(keycard)
      cleanup.push(
        () => guarded.app.close(),
        () => plain.app.close(),
        () => onExpress.close(),
      )
      const token = async (user: string) => {
        const access = await keycard.createAccessToken(user)
        return { access, jti: (await keycard.decodeToken(access)).jti as string }
      }
      return { store, keycard, guarded: guarded.url, plain: plain.url, express: onExpress.url, token }
    }

    test('a logged-out token is refused with 401 at once; other tokens pass', TIMEOUT, async () => {
      const { guarded, token } = await setUp()
      const [alice, bob] = [await token('alice'), await token('bob')]
      assert.deepEqual(await call(`${guarded}/protected`, alice.access), { status: 200, retryAfter: null, body: { user: 'alice' } })
      assert.equal((await call(`${guarded}/logout`, alice.access, 'DELETE')).status, 200)
      assert.deepEqual(await call(`${guarded}/protected`, alice.access), {
        status: 401,
        retryAfter: null,
        body: { msg: 'Token has been revoked' },
      })
      assert.equal((await call(`${guarded}/protected`, bob.access)).status, 200)
    })

    // Only where a backend is shared: the memory store has none.

    if (kind !== 'memory')
      test('a token revoked through another store on the backend is refused once it has arrived', TIMEOUT, async () => {
        const { store, guarded, token } = await setUp()
        const other = await backend.open()
        cleanup.push(other.close)
        await (other.store as SharedStore).ready()
        const carol = await token('carol')
        assert.equal((await call(`${guarded}/protected`, carol.access)).status, 200)
        await other.store.revoke(carol.jti, null)
        await seen(store as SharedStore, carol.jti)
        assert.deepEqual(await call(`${guarded}/protected`, carol.access), {
          status: 401,
          retryAfter: null,
          body: { msg: 'Token has been revoked' },
        })
      })

    // Only where a backend is shared: the memory store has none.

    if (kind !== 'memory')
      test('a stale store answers 503 with a msg and Retry-After (never 401 or 500), and recovers by itself', TIMEOUT, async () => {
        const { store, guarded, plain, express: onExpress, token } = await setUp()
        const shared = store as SharedStore
        const [dave, erin] = [await token('dave'), await token('erin')]
        assert.equal((await call(`${guarded}/logout`, erin.access, 'DELETE')).status, 200)
        const stale = next(shared, 'stale')
        await backend.outage!.begin()
        await stale
        const refused = await call(`${guarded}/protected`, dave.access)
        assert.equal(refused.status, 503)
        assert.equal(refused.retryAfter, '2')
        assert.match(String(refused.body.msg), /^Revocations cannot be checked right now/)
        assert.deepEqual(Object.keys(refused.body), ['msg'])
        // Without an error handler of the app's, the adapter itself answers it, on Fastify and on Express.
        for (const url of [plain, onExpress]) {
          const bare = await call(`${url}/protected`, dave.access)
          assert.equal(bare.status, 503)
          assert.equal(bare.retryAfter, '2')
          assert.deepEqual(bare.body, refused.body)
        }
        // A token it knows to be revoked is still refused as revoked.
        assert.equal((await call(`${guarded}/protected`, erin.access)).status, 401)
        const live = next(shared, 'live')
        await backend.outage!.end()
        await live
        assert.deepEqual(await call(`${guarded}/protected`, dave.access), { status: 200, retryAfter: null, body: { user: 'dave' } })
      })
  })
}
