/**
 * Where /metrics is served, never on the public surface by default: with METRICS_PORT on a listener of
 * its own (METRICS_HOST, default HOST) that serves nothing else; with METRICS_TOKEN on the main port
 * behind `Authorization: Bearer <token>` (compared in constant time). METRICS_TOKEN applies on the
 * separate listener too. Neither set: no /metrics route at all (404 like any unknown URL).
 */

import { HEALTH_SCHEMAS } from '../schemas/health.ts'
import { createHash, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import type { Config } from '../config.ts'
import type { ServerMetrics } from './metrics.ts'

const UNAUTHORIZED = { msg: 'Missing or wrong metrics token: send Authorization: Bearer <METRICS_TOKEN>', code: 'METRICS_UNAUTHORIZED' }

/** Listeners started by `serveMetrics`, by app: tests and `keycard serve` ask for the bound address. */
const listeners = new WeakMap<FastifyInstance, Server>()

/**
 * Whether an Authorization header carries `token`: both sides hashed first, so the comparison takes
 * the same time whatever the header's length.
 *
 * @example
 * bearerMatches('Bearer s3cret-token-of-16+', 's3cret-token-of-16+') // true
 */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const presented = header?.startsWith('Bearer ') ? header.slice(7) : ''
  const digest = (s: string) => createHash('sha256').update(s).digest()
  return timingSafeEqual(digest(presented), digest(token)) && presented !== ''
}

/**
 * Serves /metrics as the config says (see above); the separate listener starts with the app (onReady)
 * and closes with it.
 *
 * @example
 * serveMetrics(app, config, metrics)
 */
export function serveMetrics(app: FastifyInstance, config: Config, metrics: ServerMetrics): void {
  const token = config.metricsToken
  if (config.metricsPort === undefined) {
    if (token === undefined) return
    app.get('/metrics', { schema: HEALTH_SCHEMAS.metrics }, async (request, reply) => {
      if (!bearerMatches(request.headers.authorization, token)) return reply.code(401).send(UNAUTHORIZED)
      return reply.type(metrics.contentType).send(await metrics.text())
    })
    return
  }
  const server = createServer((req, res) => void answer(req, res, metrics, token))
  listeners.set(app, server)
  const port = config.metricsPort
  app.addHook('onReady', async () => {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, config.metricsHost, () => {
        server.off('error', reject)
        app.log.info({ url: metricsUrl(app) }, 'metrics listening (GET /metrics only)')
        resolve()
      })
    })
  })
  app.addHook('onClose', async () => {
    if (!server.listening) return
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })
}

/**
 * `http://host:port` of the app's separate metrics listener once it listens, else undefined.
 *
 * @example
 * await app.listen({ port: 0 }); const url = metricsUrl(app) // 'http://127.0.0.1:41234'
 */
export function metricsUrl(app: FastifyInstance): string | undefined {
  const address = listeners.get(app)?.address() as AddressInfo | null | undefined
  if (!address) return undefined
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  return `http://${host}:${address.port}`
}

async function answer(req: IncomingMessage, res: ServerResponse, metrics: ServerMetrics, token: string | undefined): Promise<void> {
  const json = (status: number, body: { msg: string; code: string }): void =>
    void res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }).end(JSON.stringify(body))
  const path = (req.url ?? '').split('?')[0]
  if (path !== '/metrics')
    return json(404, { msg: `Route ${req.method}:${path} not found: this listener serves only GET /metrics`, code: 'NOT_FOUND' })
  if (req.method !== 'GET' && req.method !== 'HEAD')
    return json(405, { msg: 'Only GET /metrics is served here', code: 'METHOD_NOT_ALLOWED' })
  if (token !== undefined && !bearerMatches(req.headers.authorization, token)) return json(401, UNAUTHORIZED)
  try {
    const text = await metrics.text()
    res.writeHead(200, { 'content-type': metrics.contentType, 'cache-control': 'no-store' }).end(req.method === 'HEAD' ? '' : text)
  } catch {
    json(500, { msg: 'Collecting the metrics failed', code: 'METRICS_FAILED' })
  }
}
