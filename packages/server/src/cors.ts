/**
 * CORS for the origins CORS_ORIGINS lists (`@fastify/cors`): a listed origin gets its own origin back
 * with `Access-Control-Allow-Credentials: true`, so its page can call the API with the sign-in
 * cookies; preflights are answered with the methods and headers the API reads. Every other origin
 * gets no Access-Control-Allow-* header at all, so the browser keeps its page from reading answers.
 *
 * Beyond what the browser enforces, a request from an unlisted origin is refused outright, 403
 * CORS_ORIGIN_NOT_ALLOWED, when it is a preflight or a state-changing request (POST, PUT, PATCH,
 * DELETE) that the browser marks as coming from another origin (`Sec-Fetch-Site: same-site` or
 * `cross-site`), the Fetch Metadata check Go's CrossOriginProtection makes. Cookie-mode writes
 * already need the CSRF header, which no unlisted page can send (that needs a preflight), so this adds
 * a clear answer and a second lock, not the only one. GETs are not refused (links and navigations are
 * GETs from other sites; their answers stay unreadable), nor are requests without Sec-Fetch-Site
 * (API clients, old browsers): the server's own origin is not known behind a proxy, so it is never
 * guessed from Host. With CORS_ORIGINS empty none of this is registered: no CORS headers, no refusal.
 */

import fastifyCors from '@fastify/cors'
import type { FastifyInstance } from 'fastify'
import type { ErrorBody } from './api-types.ts'
import type { Config } from './config.ts'

/** Every method a route of this server answers. */
export const CORS_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const
/**
 * Headers a page may read from answers: when to retry (429, 503), why a token was refused (401), and
 * what /auth/verify says about the token.
 */
export const CORS_EXPOSED_HEADERS = ['Retry-After', 'WWW-Authenticate', 'X-User-Id', 'X-User-Admin', 'X-Session-Id'] as const
/** Seconds a browser may reuse a preflight's answer (Chromium caps it at 7200). */
export const CORS_MAX_AGE = 600
/** Methods whose cross-origin requests from unlisted origins are refused. */
const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])
/** What browsers put in Sec-Fetch-Site for a request from a page of another origin. */
const OTHER_ORIGIN = new Set(['same-site', 'cross-site'])

/**
 * The 403 an unlisted origin gets; names the origin (a public value) and the variable to change.
 *
 * @example
 * reply.code(403).send(originRefusal('https://evil.example')) // {msg: 'Origin "https://evil.example" may not …', code}
 */
export function originRefusal(origin: string): ErrorBody & { code: 'CORS_ORIGIN_NOT_ALLOWED' } {
  const shown = origin.length > 200 ? `${origin.slice(0, 200)}…` : origin
  return {
    msg: `Origin ${JSON.stringify(shown)} may not call this server: add it to CORS_ORIGINS to allow its pages`,
    code: 'CORS_ORIGIN_NOT_ALLOWED',
  }
}

/**
 * The request headers a page may send: the token (bearer), JSON bodies, the token mode of sign-in and
 * the CSRF header(s) of cookie mode, by the names the keycard is configured with.
 *
 * @example
 * corsAllowedHeaders(['X-CSRF-TOKEN']) // ['Authorization', 'Content-Type', 'Accept', 'X-Token-Mode', 'X-CSRF-TOKEN']
 */
export function corsAllowedHeaders(csrfHeaders: readonly string[]): string[] {
  return [...new Set(['Authorization', 'Content-Type', 'Accept', 'X-Token-Mode', ...csrfHeaders])]
}

/**
 * Registers CORS for `config.corsOrigins` (nothing when it is empty). Await it before registering
 * routes, so its hooks run for all of them.
 *
 * @example
 * await registerCors(app, config, [keycard.options.accessCsrfHeaderName, keycard.options.refreshCsrfHeaderName])
 */
export async function registerCors(
  app: FastifyInstance,
  config: Pick<Config, 'corsOrigins'>,
  csrfHeaders: readonly string[],
): Promise<void> {
  if (config.corsOrigins.length === 0) return
  const listed = new Set(config.corsOrigins)
  app.log.info({ corsOrigins: config.corsOrigins }, 'CORS: pages of these origins may call the API with credentials')

  app.addHook('onRequest', (request, reply, done) => {
    const origin = request.headers.origin
    if (origin === undefined || listed.has(origin)) return done()
    const preflight = request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined
    const site = request.headers['sec-fetch-site']
    if (preflight || (WRITES.has(request.method) && typeof site === 'string' && OTHER_ORIGIN.has(site))) {
      reply.header('vary', 'Origin').code(403).send(originRefusal(origin))
      return
    }
    done()
  })

  await app.register(fastifyCors, {
    // Exact matches only; no Origin (same-origin GETs, API clients) gets no CORS headers.
    origin: (origin, callback) => callback(null, origin !== undefined && listed.has(origin)),
    credentials: true,
    methods: [...CORS_METHODS],
    allowedHeaders: corsAllowedHeaders(csrfHeaders),
    exposedHeaders: [...CORS_EXPOSED_HEADERS],
    maxAge: CORS_MAX_AGE,
    // An OPTIONS without Access-Control-Request-Method from a listed origin: answered, not a text/plain 400.
    strictPreflight: false,
  })
}
