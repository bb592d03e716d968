/**
 * The floor under Express 5: the least work any HS256 verifier must do per request, written inline
 * with node:crypto, as a reference row and not a verifier to use (no strict parsing, no header, type
 * or `nbf` checks, no error bodies beyond a status). It answers "how close to free can a cold token
 * check get here?": a verifier cannot do less than one HMAC, one base64url decode of the signature
 * and of the payload, one JSON.parse, an expiry check and a revocation lookup.
 */

import express from 'express'
import type { Server } from 'node:http'
import { createHmac, createSecretKey, timingSafeEqual } from 'node:crypto'
import { BENCH_PATH } from '../lib.ts'
import { announce, exitOnSignal, host, port, secret } from './common.ts'

const key = createSecretKey(Buffer.from(secret))
const revoked = new Set<string>()

const app = express()
app.get(
  BENCH_PATH,
  (req, res, next) => {
    const header = req.headers.authorization
    if (header === undefined || !header.startsWith('Bearer ')) return void res.sendStatus(401)
    const token = header.slice(7)
    const first = token.indexOf('.')
    const last = token.lastIndexOf('.')
    if (first === -1 || first === last) return void res.sendStatus(422)
    const mac = createHmac('sha256', key).update(token.slice(0, last)).digest()
    const signature = Buffer.from(token.slice(last + 1), 'base64url')
    if (mac.length !== signature.length || !timingSafeEqual(mac, signature)) return void res.sendStatus(422)
    const claims = JSON.parse(Buffer.from(token.slice(first + 1, last), 'base64url').toString('latin1')) as {
      sub: string
      exp?: number
      jti?: string
    }
    if (typeof claims.exp === 'number' && claims.exp <= Date.now() / 1000) return void res.sendStatus(401)
    if (typeof claims.jti === 'string' && revoked.has(claims.jti)) return void res.sendStatus(401)
    res.locals.sub = claims.sub
    next()
  },
  (_req, res) => {
    res.json({ sub: res.locals.sub as string })
  },
)

const server: Server = app.listen(port, host, () => {
  const address = server.address() as { port: number }
  announce(`http://${host}:${address.port}`)
})
exitOnSignal(() => new Promise((resolve) => server.close(resolve)))
