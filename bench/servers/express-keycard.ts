/** Contender 5: Express 5 + keycard, `jwtRequired()` with the revocation check on (in-memory store). */

import express from 'express'
import type { Server } from 'node:http'
import { createKeycard, MemoryRevocationStore } from 'keycard'
import { expressKeycard } from 'keycard/express'
import { BENCH_PATH } from '../lib.ts'
import { announce, exitOnSignal, host, port, secret } from './common.ts'

const keycard = await createKeycard({ secret, revocationStore: new MemoryRevocationStore() })
const auth = expressKeycard(keycard)

const app = express()
app.get(BENCH_PATH, auth.jwtRequired(), (req, res) => {
  res.json({ sub: req.jwt!.identity })
})

const server: Server = app.listen(port, host, () => {
  const address = server.address() as { port: number }
  announce(`http://${host}:${address.port}`)
})
exitOnSignal(() => new Promise((resolve) => server.close(resolve)))
