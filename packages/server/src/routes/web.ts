/**
 * The account page: `GET /` serves the built `web/dist/index.html`, `GET /assets/<file>` the bundle
 * Vite wrote next to it. Files are read from disk on each request (a rebuild needs no restart); asset
 * names are one path segment of safe characters, so nothing outside `web/dist/assets` can be named.
 * Hashed assets are cached for a year, the page itself is revalidated every time. Every answer carries
 * a Content-Security-Policy that allows only this origin, and may not be framed.
 */

import { readFile, stat } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { extname, join, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance, FastifyReply } from 'fastify'
import { NOT_FOUND_BODY } from '../http-errors.ts'
import { WEB_SCHEMAS as S } from '../schemas/web.ts'

/** Where `npm run -w keycard-server build:web` writes the page. */
export const WEB_DIST = fileURLToPath(new URL('../../web/dist/', import.meta.url))
export const PAGE_NOT_BUILT = 'account page not built: run npm run -w keycard-server build:web'

/** `'self'` only; `data:` images for the page's empty favicon; no inline script or style. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ')

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-frame-options': 'DENY',
  'referrer-policy': 'same-origin',
  'x-content-type-options': 'nosniff',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.txt': 'text/plain; charset=utf-8',
}

/** One path segment: no slash, no backslash, no leading dot (so never `.` or `..`). */
const ASSET_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,200}$/
/** Vite's content hash before the extension: `index-BZZ23LhY.js`. */
const HASHED = /-[A-Za-z0-9_-]{8,}\.[a-z0-9]+$/
const IMMUTABLE = 'public, max-age=31536000, immutable'

export interface WebRoutes {
  dir: string
  /** Whether `index.html` was there when the routes were registered. */
  built: boolean
}

export function registerWebRoutes(app: FastifyInstance, dir: string): WebRoutes {
  const root = resolve(dir)
  const assets = join(root, 'assets')
  const index = join(root, 'index.html')

  const secure = (reply: FastifyReply) => reply.headers(SECURITY_HEADERS)

  app.get('/', { schema: S.page }, async (_request, reply) => {
    secure(reply)
    let html: Buffer
    try {
      html = await readFile(index)
    } catch {
      return reply.code(503).header('cache-control', 'no-store').send({ msg: PAGE_NOT_BUILT, code: 'PAGE_NOT_BUILT' })
    }
    // Revalidated on every load, so a rebuild's new asset names are picked up at once.
    return reply.header('content-type', CONTENT_TYPES['.html']).header('cache-control', 'no-cache').send(html)
  })

  app.get<{ Params: { '*': string } }>('/assets/*', { schema: S.asset }, async (request, reply) => {
    const name = request.params['*']
    const path = join(assets, name)
    if (!ASSET_NAME.test(name) || !path.startsWith(assets + sep)) return reply.code(404).send(NOT_FOUND_BODY)
    let body: Buffer
    try {
      if (!(await stat(path)).isFile()) return reply.code(404).send(NOT_FOUND_BODY)
      body = await readFile(path)
    } catch {
      return reply.code(404).send(NOT_FOUND_BODY)
    }
    secure(reply)
    return reply
      .header('content-type', CONTENT_TYPES[extname(name).toLowerCase()] ?? 'application/octet-stream')
      .header('cache-control', HASHED.test(name) ? IMMUTABLE : 'no-cache')
      .send(body)
  })

  return { dir: root, built: existsSync(index) }
}
