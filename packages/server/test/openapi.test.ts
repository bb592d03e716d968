/**
 * GET /openapi.json: a valid OpenAPI 3.1 document (checked by @seriousme/openapi-schema-validator)
 * that describes every route of Fastify's route table, with the bearer and cookie + CSRF schemes.
 */

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Validator } from '@seriousme/openapi-schema-validator'
import { buildApp } from '../src/app.ts'
import { loadConfig } from '../src/config.ts'
import { type OpenApiDocument, undocumented } from './openapi-check.ts'
import { startServer, tempDir, testEnv } from './helpers.ts'
import { keyringEnv } from './keyring-env.ts'

test('the document is valid OpenAPI 3.1', async (t) => {
  const s = await startServer(t)
  const res = await s.api('GET', '/openapi.json')
  assert.equal(res.status, 200)
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/)
  assert.equal(res.body.openapi, '3.1.0')
  const validator = new Validator()
  const result = await validator.validate(res.body)
  assert.equal(validator.version, '3.1')
  assert.deepEqual(result.errors ?? [], [], 'the validator found errors')
  assert.equal(result.valid, true)
})

test('every route of the route table is in the document, in HMAC and keyring mode', async (t) => {
  for (const env of [{}, keyringEnv('ES256')]) {
    const s = await startServer(t, env)
    const doc = (await s.api('GET', '/openapi.json')).body as OpenApiDocument
    assert.deepEqual(undocumented(s.app, doc), [])
    for (const path of ['/auth/login', '/auth/verify', '/.well-known/jwks.json', '/openapi.json']) assert.ok(doc.paths[path], path)
  }
})

test('a route added without a schema is reported as undocumented (the coverage check can fail)', async (t) => {
  const app = await buildApp(loadConfig(testEnv(tempDir(t), { LOG_LEVEL: 'error' })))
  t.after(() => app.close())
  app.get('/undocumented', async () => ({ ok: true }))
  app.post('/auth/undocumented', async () => ({ ok: true }))
  // A documented one, for contrast.
  app.get(
    '/documented',
    { schema: { summary: 'Documented', response: { 200: { description: 'Yes.', type: 'object' } } } },
    async () => ({}),
  )
  await app.ready()
  const doc = JSON.parse((await app.inject({ method: 'GET', url: '/openapi.json' })).body) as OpenApiDocument
  // @fastify/swagger lists them, with a made-up 200: still undocumented.
  assert.ok(doc.paths['/undocumented'])
  assert.deepEqual(undocumented(app, doc).sort(), ['GET /undocumented', 'HEAD /undocumented', 'POST /auth/undocumented'])
})

test('security schemes: bearer JWT, the access and refresh cookies, and the X-CSRF-TOKEN double submit', async (t) => {
  const s = await startServer(t)
  const doc = (await s.api('GET', '/openapi.json')).body
  const schemes = doc.components.securitySchemes
  assert.deepEqual(schemes.bearerAuth, { ...schemes.bearerAuth, type: 'http', scheme: 'bearer', bearerFormat: 'JWT' })
  assert.deepEqual([schemes.accessCookie.in, schemes.accessCookie.name], ['cookie', 'access_token_cookie'])
  assert.deepEqual([schemes.refreshCookie.in, schemes.refreshCookie.name], ['cookie', 'refresh_token_cookie'])
  // Header names are case-insensitive; keycard keeps them in lower case.
  assert.deepEqual([schemes.csrfHeader.in, schemes.csrfHeader.name.toLowerCase()], ['header', 'x-csrf-token'])
  // A cookie on an unsafe method needs the CSRF header with it; a GET does not.
  assert.deepEqual(doc.paths['/auth/logout-all'].post.security, [{ bearerAuth: [] }, { accessCookie: [], csrfHeader: [] }])
  assert.deepEqual(doc.paths['/auth/me'].get.security, [{ bearerAuth: [] }, { accessCookie: [] }])
  assert.deepEqual(doc.paths['/auth/refresh'].post.security, [{ bearerAuth: [] }, { refreshCookie: [], csrfHeader: [] }])
  assert.deepEqual(doc.paths['/auth/verify'].get.security, [{ bearerAuth: [] }])
  assert.equal(doc.paths['/auth/login'].post.security, undefined)
  // Every guarded route documents the token errors, and the proxy route its identity headers.
  for (const [path, method] of [
    ['/auth/me', 'get'],
    ['/auth/logout', 'post'],
    ['/admin/users', 'get'],
  ] as const) {
    const responses = doc.paths[path][method].responses
    for (const status of ['401', '422', '503']) assert.ok(responses[status], `${method} ${path} ${status}`)
    assert.ok(responses['401'].content['application/json'].schema.properties.code.enum.includes('KEYCARD_NO_AUTHORIZATION'))
  }
  assert.deepEqual(Object.keys(doc.paths['/auth/verify'].get.responses['200'].headers).sort(), [
    'X-Session-Id',
    'X-User-Admin',
    'X-User-Id',
  ])
  assert.ok(doc.paths['/auth/login'].post.responses['429'].headers['Retry-After'])
})
