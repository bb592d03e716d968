/** Contender 1, the ceiling: bare Fastify 5 answering the same JSON with no auth at all. */

import Fastify from 'fastify'
import { BENCH_PATH, BENCH_SUBJECT } from '../lib.ts'
import { announce, exitOnSignal, host, port } from './common.ts'

const app = Fastify({ logger: false })
app.get(BENCH_PATH, async () => ({ sub: BENCH_SUBJECT }))

announce(await app.listen({ port, host }))
exitOnSignal(() => app.close())
