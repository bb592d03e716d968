/**
 * What `npm start` runs: the CLI compiled by scripts/bundle.ts into one JavaScript file and started
 * with plain `node` (no tsx). Built here into a scratch directory at the depth of dist/, so the
 * bundle's own file lookups (the account page, package.json) resolve as they do from dist/cli.
 *
 * SQLite-only: a smoke test of the bundled CLI; the database code it runs is the same on both dialects.
 */

import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { bundle, SERVER_ENTRY } from '../scripts/bundle.ts'
import { listeningUrl, tempDir, testEnv } from './helpers.ts'

const PACKAGE = fileURLToPath(new URL('..', import.meta.url))

test('the bundled server (npm start) runs under plain node: health, register, verify, account page, version', {
  timeout: 60_000,
}, async (t) => {
  const scratch = mkdtempSync(join(PACKAGE, '.bundle-test-'))
  t.after(() => rmSync(scratch, { recursive: true, force: true }))
  const file = join(scratch, 'cli', 'main.mjs')
  await bundle(SERVER_ENTRY, file)

  // Our TypeScript is inside; the dependencies stay imports of their published JavaScript.
  const code = readFileSync(file, 'utf8')
  assert.doesNotMatch(code, /from ["']keycard(\/[a-z]+)?["']/, 'the keycard package must be bundled, not imported')
  assert.match(code, /from ["']fastify["']/, 'fastify must stay an external import')
  assert.doesNotMatch(code, /\.ts["']\)/, 'no import of a .ts file may be left')

  const pkg = JSON.parse(readFileSync(join(PACKAGE, 'package.json'), 'utf8')) as { version: string }
  const version = spawn(process.execPath, [file, '--version'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  version.stdout.setEncoding('utf8').on('data', (d: string) => (out += d))
  assert.equal(await new Promise((resolve) => version.on('close', resolve)), 0)
  assert.match(out, new RegExp(`\\b${pkg.version.replace(/\./g, '\\.')}\\b`))

  const dir = tempDir(t)
  const env: NodeJS.ProcessEnv = { ...process.env, ...testEnv(dir) }
  delete env.NODE_TEST_CONTEXT
  const child = spawn(process.execPath, [file, 'serve', '--port', '0'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  t.after(() => child.kill('SIGKILL'))
  const url = await listeningUrl(child)

  assert.equal((await fetch(`${url}/healthz`)).status, 200)
  const reg = await fetch(`${url}/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'bundled', password: 'correct horse battery' }),
  })
  assert.equal(reg.status, 201)
  const { access_token } = (await reg.json()) as { access_token: string }
  const verify = await fetch(`${url}/auth/verify`, { headers: { authorization: `Bearer ${access_token}` } })
  assert.equal(verify.status, 200)
  assert.ok(verify.headers.get('x-user-id'))
  const denied = await fetch(`${url}/auth/verify`)
  assert.equal(denied.status, 401)
  assert.deepEqual(await denied.json(), { msg: 'Missing Authorization Header', code: 'KEYCARD_NO_AUTHORIZATION' })

  // The account page is found from the bundle's location (web/dist, built by npm test and npm start).
  const page = await fetch(`${url}/`)
  assert.equal(page.status, 200)
  assert.match(await page.text(), /<title>Keycard account<\/title>/)
})
