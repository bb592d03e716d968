/** Contender 4's baseline: bare Express 5 answering the same JSON with no auth. */

import express from 'express'
import type { Server } from 'node:http'
import { BENCH_PATH, BENCH_SUBJECT } from '../lib.ts'
import { announce, exitOnSignal, host, port } from './common.ts'

const app = express()
app.get(BENCH_PATH, (_req, res) => {
  res.json({ sub: BENCH_SUBJECT })
})

const server: Server = app.listen(port, host, () => {
  const address = server.address() as { port: number }
  announce(`http://${host}:${address.port}`)
})
exitOnSignal(() => new Promise((resolve) => server.close(resolve)))
