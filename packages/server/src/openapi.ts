/**
 * `GET /openapi.json`: an OpenAPI 3.1 document that @fastify/swagger builds from the routes' own
 * schemas (src/schemas/*.ts, one module per route file, named by each route's `schema:` line).
 *
 * Those schemas document bodies, query strings, parameters and headers; Fastify does not validate
 * them. The handlers check their input by hand with specific `{"msg", "code", "field"}` answers
 * (http-errors.ts, body.ts, the routes' query readers), and Ajv's generic messages ("body must have
 * required property 'password'") would replace those. So the validator compiler here accepts
 * everything and leaves the checks to the handlers. Response schemas are used as Fastify always uses
 * them: fast-json-stringify serializes with them, so they are exact.
 *
 * A route that wants Fastify's validation after all can set its own `validatorCompiler`.
 *
 * Adding a route: give it `schema: <one entry of its module in src/schemas/>`; test/openapi.test.ts
 * fails for a route that is not in the document.
 */

import swagger from '@fastify/swagger'
import type { FastifyInstance } from 'fastify'
import type { Services } from './services.ts'
import { SECURITY } from './schemas/common.ts'
import { OPENAPI_SCHEMA } from './schemas/openapi.ts'

/**
 * Where the document is served.
 *
 * @example
 * await fetch(`${base}${OPENAPI_PATH}`) // the OpenAPI 3.1 document
 */
export const OPENAPI_PATH = '/openapi.json'

/** The security schemes, named by SECURITY, from keycard's own cookie and header names. */
function securitySchemes(s: Services) {
  const o = s.keycard.options
  return {
    [SECURITY.bearer]: {
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
      description: 'An access token (`Authorization: Bearer <token>`); POST /auth/refresh takes the refresh token.',
    },
    [SECURITY.accessCookie]: {
      type: 'apiKey',
      in: 'cookie',
      name: o.accessCookieName,
      description: `Cookie mode (X-Token-Mode: cookie at sign-in): the HttpOnly access-token cookie. Its CSRF twin, ${o.accessCsrfCookieName}, is readable by the page.`,
    },
    [SECURITY.refreshCookie]: {
      type: 'apiKey',
      in: 'cookie',
      name: o.refreshCookieName,
      description: `Cookie mode: the HttpOnly refresh-token cookie (sent to the refresh route only). Its CSRF twin is ${o.refreshCsrfCookieName}.`,
    },
    [SECURITY.csrf]: {
      type: 'apiKey',
      in: 'header',
      name: o.accessCsrfHeaderName,
      description:
        `Double submit: with a cookie, ${[...o.csrfMethods].join('/')} requests echo the CSRF cookie's value in this header ` +
        `(${o.accessCsrfCookieName} with the access cookie, ${o.refreshCsrfCookieName} on refresh).`,
    },
    [SECURITY.metrics]: {
      type: 'http',
      scheme: 'bearer',
      description: 'GET /metrics on the main port: `Authorization: Bearer <METRICS_TOKEN>`.',
    },
  }
}

/**
 * Registers @fastify/swagger (call before any route, so it sees them all) and `GET /openapi.json`.
 *
 * @example
 * await registerOpenApi(app, services)
 * registerAuthRoutes(app, services) // …then every other route
 */
export async function registerOpenApi(app: FastifyInstance, s: Services): Promise<void> {
  // Documentation only: the handlers validate input themselves (see above).
  app.setValidatorCompiler(() => () => true)
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Keycard server',
        // The API contract's version (its answers' shapes), not the package's.
        version: '1',
        description:
          'JWT authentication: register, login, refresh, revoke, and /auth/verify for reverse proxies. Every error answers ' +
          '`{"msg", "code"}` (and `field` when one request field is to blame); decide on `code`. Besides the answers listed per ' +
          'route, any request can be refused before routing: 400 `BAD_REQUEST` (a malformed request), 408 `REQUEST_TIMEOUT`, ' +
          '431 `HEADERS_TOO_LARGE` (over 16 KiB of headers and URL), and an unknown route is a 404 `NOT_FOUND`. ' +
          'With `CORS_ORIGINS` set, a preflight or a cross-origin write (POST, PUT, PATCH, DELETE) from an origin not ' +
          'listed is a 403 `CORS_ORIGIN_NOT_ALLOWED`.',
      },
      components: { securitySchemes: securitySchemes(s) as never },
    },
  })
  let document: string | undefined
  app.get(OPENAPI_PATH, { schema: OPENAPI_SCHEMA }, (_request, reply) => {
    // Built once: the routes cannot change after the server is ready.
    document ??= JSON.stringify(app.swagger())
    return reply.header('content-type', 'application/json; charset=utf-8').send(document)
  })
}
