/** Contender 2: Fastify + keycard, `jwtRequired()` with the revocation check on (in-memory store). */

import Fastify from 'fastify'
import { createKeycard, MemoryRevocationStore } from 'keycard'
import { fastifyKeycard } from 'keycard/fastify'
import { BENCH_PATH } from '../lib.ts'
import { announce, exitOnSignal, host, port, secret } from './common.ts'

const keycard = await createKeycard({ secret, revocationStore: new MemoryRevocationStore() })
const auth = fastifyKeycard(keycard)

const app = Fastify({ logger: false })
await app.register(auth.plugin)
app.get(BENCH_PATH, { preHandler: auth.jwtRequired() }, async (request) => ({ sub: request.jwt!.identity }))

announce(await app.listen({ port, host }))
exitOnSignal(() => app.close())
