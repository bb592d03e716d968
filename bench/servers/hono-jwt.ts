/** Contender 6: Hono + hono/jwt on @hono/node-server. */

import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { jwt } from 'hono/jwt'
import { BENCH_PATH } from '../lib.ts'
import { announce, exitOnSignal, host, port, secret } from './common.ts'

const app = new Hono()
app.use(BENCH_PATH, jwt({ secret, alg: 'HS256' }))
app.get(BENCH_PATH, (c) => c.json({ sub: (c.get('jwtPayload') as { sub: string }).sub }))

const server = serve({ fetch: app.fetch, port, hostname: host }, (info) => announce(`http://${host}:${info.port}`))
exitOnSignal(() => new Promise((resolve) => server.close(resolve)))
