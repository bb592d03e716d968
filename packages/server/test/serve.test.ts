/**
 * `keycard serve`'s start-up line on stderr: the address actually bound (a real child process on port
 * 0), and a warning when Secure cookies are on while the server serves plain http.
 *
 * SQLite-only: the start-up lines do not depend on the database.
 */

import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { join, resolve } from 'node:path'
import { test, type TestContext } from 'node:test'
import { fileURLToPath } from 'node:url'
import { boundUrl, startupLines } from '../src/cli/serve.ts'
import { tempDir, testEnv } from './helpers.ts'

const ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)))
const MAIN = join(ROOT, 'packages/server/src/cli/main.ts')

/** Starts `keycard serve` with `args` and `env`, and resolves with its stderr up to the end of the start-up lines. */
function serveStderr(t: TestContext, args: string[], env: Record<string, string>): Promise<string> {
  const dir = tempDir(t)
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...testEnv(dir), LOG_LEVEL: 'silent', ...env }
  for (const name of ['NODE_ENV', 'HOST', 'NODE_TEST_CONTEXT']) if (!(name in env)) delete childEnv[name]
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve', '--port', '0', ...args], {
    cwd: ROOT,
    env: childEnv,
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  const exited = new Promise<void>((done) => child.once('exit', () => done()))
  t.after(async () => {
    child.kill('SIGTERM')
    await exited
  })
  return new Promise((done, fail) => {
    let err = ''
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err += d
      // The address and its warning come in one write.
      if (/Keycard listening on .*\n/.test(err)) done(err)
    })
    child.once('exit', (code) => fail(new Error(`serve exited with ${code} before listening; stderr: ${err}`)))
  })
}

test('serve prints the address actually bound: 0.0.0.0 is named as every interface, with the local address to use', {
  timeout: 60_000,
}, async (t) => {
  const err = await serveStderr(t, ['--host', '0.0.0.0'], { COOKIE_SECURE: 'false' })
  const match = /^Keycard listening on http:\/\/0\.0\.0\.0:(\d+) \(every interface; from this machine http:\/\/127\.0\.0\.1:(\d+)\)$/m.exec(
    err,
  )
  assert.ok(match, err)
  assert.notEqual(match[1], '0')
  assert.equal(match[1], match[2])
  const res = await fetch(`http://127.0.0.1:${match[1]}/healthz`)
  assert.equal(res.status, 200)
  assert.doesNotMatch(err, /Warning/)
})

test('serve warns, once and with the fix, when Secure cookies are on while it serves plain http', { timeout: 60_000 }, async (t) => {
  const err = await serveStderr(t, ['--host', '127.0.0.1'], { COOKIE_SECURE: 'true' })
  assert.match(err, /^Keycard listening on http:\/\/127\.0\.0\.1:\d+$/m)
  const warnings = err.split('\n').filter((l) => l.startsWith('Warning:'))
  assert.equal(warnings.length, 1, err)
  assert.match(warnings[0]!, /COOKIE_SECURE is on .* plain http/)
  assert.match(warnings[0]!, /HTTPS proxy/)
  assert.match(warnings[0]!, /COOKIE_SECURE=false/)
})

test('the bound address of each socket family, and the warning only with Secure cookies', () => {
  assert.equal(boundUrl({ address: '127.0.0.2', family: 'IPv4', port: 8080 }), 'http://127.0.0.2:8080')
  assert.equal(boundUrl({ address: '::1', family: 'IPv6', port: 8080 }), 'http://[::1]:8080')
  assert.equal(
    boundUrl({ address: '::', family: 'IPv6', port: 8080 }),
    'http://[::]:8080 (every interface; from this machine http://[::1]:8080)',
  )
  const address = { address: '127.0.0.1', family: 'IPv4', port: 1 }
  assert.equal(startupLines(address, { cookieSecure: false }), 'Keycard listening on http://127.0.0.1:1\n')
  assert.match(startupLines(address, { cookieSecure: true }), /^Keycard listening on http:\/\/127\.0\.0\.1:1\nWarning: .*\n$/)
})
