/** Hono + keycard on @hono/node-server: `jwtRequired()` with the revocation check on (in-memory store), as fastify-keycard. */

import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { createKeycard, MemoryRevocationStore } from 'keycard'
import { honoKeycard } from 'keycard/hono'
import { BENCH_PATH } from '../lib.ts'
import { announce, exitOnSignal, host, port, secret } from './common.ts'

const keycard = await createKeycard({ secret, revocationStore: new MemoryRevocationStore() })
const auth = honoKeycard(keycard)

const app = new Hono()
app.get(BENCH_PATH, auth.jwtRequired(), (c) => c.json({ sub: c.get('jwt')!.identity }))

const server = serve({ fetch: app.fetch, port, hostname: host }, (info) => announce(`http://${host}:${info.port}`))
exitOnSignal(() => new Promise((resolve) => server.close(resolve)))
