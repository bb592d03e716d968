/** Contender 3: Fastify + @fastify/jwt (fast-jwt underneath), configured as its README shows. */

import Fastify from 'fastify'
import fastifyJwt from '@fastify/jwt'
import { BENCH_PATH } from '../lib.ts'
import { announce, exitOnSignal, host, port, secret } from './common.ts'

const app = Fastify({ logger: false })
await app.register(fastifyJwt, { secret })
app.addHook('onRequest', async (request, reply) => {
  try {
    await request.jwtVerify()
  } catch (err) {
    return reply.send(err)
  }
})
app.get(BENCH_PATH, async (request) => ({ sub: (request.user as { sub: string }).sub }))

announce(await app.listen({ port, host }))
exitOnSignal(() => app.close())
