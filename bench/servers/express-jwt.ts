/** Contender 4: Express 5 + express-jwt, configured as its README shows (`expressjwt({ secret, algorithms })`). */

import express from 'express'
import { expressjwt, type Request as JWTRequest } from 'express-jwt'
import type { Server } from 'node:http'
import { BENCH_PATH } from '../lib.ts'
import { announce, exitOnSignal, host, port, secret } from './common.ts'

const app = express()
app.get(BENCH_PATH, expressjwt({ secret, algorithms: ['HS256'] }), (req: JWTRequest, res) => {
  res.json({ sub: req.auth!.sub })
})

const server: Server = app.listen(port, host, () => {
  const address = server.address() as { port: number }
  announce(`http://${host}:${address.port}`)
})
exitOnSignal(() => new Promise((resolve) => server.close(resolve)))
