/**
 * A client generated from GET /openapi.json works: openapi-typescript turns the document into types,
 * openapi-fetch calls the real server with them (register, login, me, refresh, logout), and tsc
 * type-checks the client code first, so a type the document gets wrong fails here.
 */

import assert from 'node:assert/strict'
import { symlinkSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath, pathToFileURL } from 'node:url'
import openapiTS, { astToString } from 'openapi-typescript'
import ts from 'typescript'
import { PASSWORD, startServer, tempDir } from './helpers.ts'

const REPO_MODULES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'node_modules')

/** What a client's own code does with the generated types: the sign-in cycle, returning what it saw. */
const CLIENT = `
import createClient from 'openapi-fetch'
import type { paths } from './schema.ts'

export async function signInCycle(baseUrl: string, password: string) {
  const client = createClient<paths>({ baseUrl })
  const registered = await client.POST('/auth/register', { body: { username: 'erin', password, email: 'erin@example.test' } })
  if (!registered.data || !('access_token' in registered.data)) throw new Error('register: ' + JSON.stringify(registered.error))
  const userId: number = registered.data.user.id
  const email: string | null = registered.data.user.email

  const login = await client.POST('/auth/login', { body: { username: 'erin', password }, params: { header: { 'x-token-mode': 'header' } } })
  if (!login.data || !('access_token' in login.data)) throw new Error('login: ' + JSON.stringify(login.error))
  const { access_token, refresh_token } = login.data

  const me = await client.GET('/auth/me', { headers: { Authorization: 'Bearer ' + access_token } })
  if (!me.data) throw new Error('me: ' + JSON.stringify(me.error))
  const admin: boolean = me.data.admin

  const refreshed = await client.POST('/auth/refresh', { headers: { Authorization: 'Bearer ' + refresh_token } })
  if (!refreshed.data || !('refresh_token' in refreshed.data)) throw new Error('refresh: ' + JSON.stringify(refreshed.error))

  const logout = await client.POST('/auth/logout', { headers: { Authorization: 'Bearer ' + refreshed.data.access_token } })
  if (!logout.data) throw new Error('logout: ' + JSON.stringify(logout.error))
  const msg: string = logout.data.msg

  // The session is over: the token errors are typed too.
  const after = await client.GET('/auth/me', { headers: { Authorization: 'Bearer ' + refreshed.data.access_token } })
  const code: string | undefined = after.error?.code
  return { userId, email, username: me.data.username, admin, msg, status: after.response.status, code }
}
`

/** tsc's diagnostics for each of `files` (one program), under the repo's strict settings (DOM for fetch's types). */
function typeErrors(files: string[]): Map<string, string[]> {
  const program = ts.createProgram(files, {
    target: ts.ScriptTarget.ES2022,
    lib: ['lib.es2023.d.ts', 'lib.dom.d.ts'],
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    noUncheckedIndexedAccess: true,
    allowImportingTsExtensions: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  })
  const errors = new Map(files.map((f) => [f, [] as string[]]))
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const list = (d.file && errors.get(d.file.fileName)) || errors.get(files[0]!)!
    list.push(ts.flattenDiagnosticMessageText(d.messageText, '\n'))
  }
  return errors
}

test('a typed client generated from the document type-checks and runs the sign-in cycle', async (t) => {
  const s = await startServer(t)
  const doc = (await s.api('GET', '/openapi.json')).body
  const dir = tempDir(t)
  // The generated code resolves openapi-fetch (and TypeScript's libs) from the repo's node_modules.
  symlinkSync(REPO_MODULES, join(dir, 'node_modules'), 'dir')
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }))
  const schema = astToString(await openapiTS(doc))
  writeFileSync(join(dir, 'schema.ts'), schema)
  assert.match(schema, /"\/auth\/login": \{/)
  writeFileSync(join(dir, 'client.ts'), CLIENT)
  assert.deepEqual(typeErrors([join(dir, 'client.ts')]).get(join(dir, 'client.ts')), [])

  const client = (await import(pathToFileURL(join(dir, 'client.ts')).href)) as {
    signInCycle(url: string, password: string): Promise<unknown>
  }
  const seen = await client.signInCycle(s.url, PASSWORD)
  assert.deepEqual(seen, {
    userId: 1,
    email: 'erin@example.test',
    username: 'erin',
    admin: false,
    msg: 'Successfully logged out',
    status: 401,
    code: 'KEYCARD_TOKEN_REVOKED',
  })
})

test('a client that misuses the generated types fails to type-check (the check can fail)', async (t) => {
  const s = await startServer(t)
  const dir = tempDir(t)
  symlinkSync(REPO_MODULES, join(dir, 'node_modules'), 'dir')
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }))
  writeFileSync(join(dir, 'schema.ts'), astToString(await openapiTS((await s.api('GET', '/openapi.json')).body)))
  const cases = {
    // The same preamble with a right use: no error, so each wrong one fails for its own line.
    right: `const me = await client.GET('/auth/me'); if (me.data) { const id: number = me.data.id; void id }`,
    'the user id is a number': `const me = await client.GET('/auth/me'); if (me.data) { const id: string = me.data.id; void id }`,
    'login needs a password': `await client.POST('/auth/login', { body: { username: 'erin' } })`,
    'no such route': `await client.GET('/auth/nope')`,
    'x-token-mode is cookie or header': `await client.POST('/auth/login', { body: { username: 'a', password: 'b' }, params: { header: { 'x-token-mode': 'both' } } })`,
  }
  const files = Object.entries(cases).map(([why, line]) => {
    const file = join(dir, `case-${why.replace(/\W+/g, '-')}.ts`)
    writeFileSync(
      file,
      `import createClient from 'openapi-fetch'\nimport type { paths } from './schema.ts'\nconst client = createClient<paths>({ baseUrl: 'http://x' })\n${line}\n`,
    )
    return [why, file] as const
  })
  const errors = typeErrors(files.map(([, file]) => file))
  for (const [why, file] of files) {
    if (why === 'right') assert.deepEqual(errors.get(file), [], why)
    else assert.notDeepEqual(errors.get(file), [], why)
  }
})
