/**
 * Checks against the server's own OpenAPI document (GET /openapi.json): which routes of Fastify's route
 * table it leaves out, and whether a real HTTP answer (status, Content-Type, body, headers) is one it
 * describes. Bodies are checked with Ajv's JSON Schema 2020-12, the dialect of OpenAPI 3.1.
 */

import assert from 'node:assert/strict'
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js'
import addFormats from 'ajv-formats'
import type { FastifyInstance } from 'fastify'
import type { Reply } from './helpers.ts'

type Schema = Record<string, unknown>
interface MediaType {
  schema?: Schema
}
interface Response {
  description: string
  headers?: Record<string, { schema: Schema }>
  content?: Record<string, MediaType>
}
interface Operation {
  summary?: string
  responses: Record<string, Response>
}
/**
 * The parts of GET /openapi.json these checks read.
 *
 * @example
 * const doc = (await s.api('GET', '/openapi.json')).body as OpenApiDocument
 */
export interface OpenApiDocument {
  openapi: string
  paths: Record<string, Record<string, Operation>>
  components?: Record<string, unknown>
}

/** Headers that a response documenting them must carry (the rest, such as Set-Cookie, are sometimes there). */
const ALWAYS = new Set(['retry-after', 'x-user-id', 'x-user-admin', 'x-session-id', 'www-authenticate', 'etag'])

/**
 * Every `METHOD /path` of Fastify's route table (its radix-tree print; paths in Fastify's `:id` and `*` form).
 *
 * @example
 * routeTable(app) // ['GET /', 'HEAD /', 'GET /openapi.json', …]
 */
export function routeTable(app: FastifyInstance): string[] {
  const stack: string[] = []
  const routes: string[] = []
  for (const line of app.printRoutes().split('\n')) {
    const m = /^((?:[│ ] {3})*)[├└]── (.*?)(?: \(([A-Z, ]+)\))?$/.exec(line)
    if (!m) continue
    stack.length = m[1]!.length / 4
    stack.push(m[2]!)
    for (const method of m[3]?.split(', ') ?? []) routes.push(`${method} ${stack.join('')}`)
  }
  return routes
}

/**
 * Fastify's path (`/auth/tokens/:id`, `/assets/*`) as @fastify/swagger writes it (`/auth/tokens/{id}`, `/assets/{*}`).
 *
 * @example
 * openApiPath('/auth/tokens/:id') // '/auth/tokens/{id}'
 */
export function openApiPath(path: string): string {
  return path.replace(/:(\w+)/g, '{$1}').replace(/\*$/, '{*}')
}

/**
 * The routes of the table that the document does not describe. @fastify/swagger lists a route that has
 * no schema too, with a made-up `200: Default Response`: such a route, or one without a summary, counts
 * as undocumented (a hidden one is absent). HEAD, which Fastify adds beside each GET, is described by
 * its GET (the same answer without a body).
 *
 * @example
 * assert.deepEqual(undocumented(app, doc), [])
 */
export function undocumented(app: FastifyInstance, doc: OpenApiDocument): string[] {
  return routeTable(app).filter((route) => {
    const [method, path] = route.split(' ') as [string, string]
    const described = method === 'HEAD' ? 'get' : method.toLowerCase()
    const op = doc.paths[openApiPath(path)]?.[described]
    return !op?.summary || Object.values(op.responses ?? {}).some((r) => r.description === 'Default Response')
  })
}

/**
 * A checker of real answers against `doc`; `covered` collects the `METHOD path status` it has seen.
 *
 * @example
 * const check = responseChecker(doc)
 * check('GET', '/auth/me', await s.api('GET', '/auth/me', { token }))
 */
export function responseChecker(doc: OpenApiDocument) {
  const ajv = new Ajv2020({ strict: false, allErrors: true })
  addFormats.default(ajv)
  const compiled = new WeakMap<Schema, ValidateFunction>()
  const validate = (schema: Schema, value: unknown, what: string) => {
    let fn = compiled.get(schema)
    if (!fn) {
      fn = ajv.compile(schema)
      compiled.set(schema, fn)
    }
    assert.ok(fn(value), `${what} does not match the document: ${ajv.errorsText(fn.errors)}; got ${JSON.stringify(value)?.slice(0, 400)}`)
  }
  const covered = new Set<string>()

  function check(method: string, template: string, reply: Reply): Reply {
    const path = openApiPath(template)
    const op = doc.paths[path]?.[method === 'HEAD' ? 'get' : method.toLowerCase()]
    assert.ok(op, `${method} ${path} is not in the document`)
    const where = `${method} ${path} ${reply.status}`
    const response = op.responses[String(reply.status)]
    assert.ok(
      response,
      `${where}: status ${reply.status} is not documented (documented: ${Object.keys(op.responses).join(', ')}); body ${reply.text.slice(0, 300)}`,
    )
    covered.add(where)
    for (const [name, header] of Object.entries(response.headers ?? {})) {
      const value = reply.headers.get(name)
      if (value === null) {
        assert.ok(!ALWAYS.has(name.toLowerCase()), `${where}: header ${name} is documented but missing`)
        continue
      }
      validate(header.schema, header.schema.type === 'integer' && /^\d+$/.test(value) ? Number(value) : value, `${where} header ${name}`)
    }
    const content = response.content
    if (!content || method === 'HEAD') {
      assert.equal(reply.text, '', `${where}: documented without a body, but one came`)
      return reply
    }
    const type = reply.headers.get('content-type') ?? ''
    const media = type.split(';')[0]!.trim()
    const entry = content[media] ?? content['*/*']
    assert.ok(entry, `${where}: Content-Type ${type} is not documented (documented: ${Object.keys(content).join(', ')})`)
    if (entry.schema) validate(entry.schema, media.endsWith('json') ? JSON.parse(reply.text) : reply.text, `${where} body`)
    return reply
  }
  return { check, covered }
}
