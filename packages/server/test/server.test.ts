/** start(): a real process; SIGTERM lets the in-flight request finish, closes the database (file or pool) and exits 0. On both dialects. */

import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { PASSWORD, testEnv, forEachDialect, dataDir } from './helpers.ts'

forEachDialect((dialect) => {
  // `keycard serve`, which calls start().
  const CLI = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url))

  test('SIGTERM drains the in-flight request, closes the database and exits 0', async (t) => {
    const dir = await dataDir(t, dialect)
    // A slow hash (~0.3 s) keeps the login in flight when the signal arrives.
    const env = { ...process.env, ...testEnv(dir, { ARGON2_MEMORY_COST: '19456', ARGON2_TIME_COST: '12' }) } as NodeJS.ProcessEnv
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    t.after(() => child.kill('SIGKILL'))
    let out = ''
    // Every waiter re-checks on each chunk of output and on exit: woken by events, never by a timer.
    const checks = new Set<() => void>()
    const recheck = () => {
      for (const check of checks) check()
    }
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk
      recheck()
    })
    child.once('exit', recheck)
    const waitFor = (pattern: RegExp) =>
      new Promise<RegExpExecArray>((resolve, reject) => {
        const check = () => {
          const match = pattern.exec(out)
          if (match) {
            checks.delete(check)
            resolve(match)
          } else if (child.exitCode !== null) {
            checks.delete(check)
            reject(new Error(`server exited ${child.exitCode}: ${out}`))
          }
        }
        checks.add(check)
        check()
      })
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))

    const url = (await waitFor(/"msg":"Server listening at (http:\/\/[^"]+)"/))[1]!
    const register = await fetch(`${url}/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'alice', password: PASSWORD }),
    })
    assert.equal(register.status, 201)

    const inFlight = fetch(`${url}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', connection: 'close' },
      body: JSON.stringify({ username: 'alice', password: PASSWORD }),
    })
    await waitFor(/"url":"\/auth\/login"[^\n]*"msg":"incoming request"/)
    child.kill('SIGTERM')
    const login = await inFlight
    assert.equal(login.status, 200)
    assert.deepEqual(Object.keys((await login.json()) as object).sort(), ['access_token', 'device_token', 'refresh_token'])
    assert.equal(await exited, 0)
    assert.match(out, /"msg":"shutting down: draining requests"/)
    // better-sqlite3 checkpoints and removes the WAL file when the last connection closes.
    if (dialect === 'sqlite') assert.equal(existsSync(join(dir, 'keycard.db-wal')), false)
    await assert.rejects(fetch(`${url}/healthz`))
  })
})
