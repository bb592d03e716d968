/**
 * The username, email and password rules in the CLI, run as real processes: `keycard useradd` keeps a
 * name as typed and refuses one taken in another case, `keycard users delete` finds a user by any
 * case of their name, and a password that is not UTF-8 (stdin or the hidden prompt) is refused. The
 * commands that touch the database run on SQLite and on PostgreSQL.
 */

import assert from 'node:assert/strict'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { join, resolve } from 'node:path'
import { PassThrough } from 'node:stream'
import { describe, test, type TestContext } from 'node:test'
import { fileURLToPath } from 'node:url'
import { readFirstLine } from '../src/cli/prompt.ts'
import { dataDir, forEachDialect, tempDir, testEnv } from './helpers.ts'

const ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)))
const MAIN = join(ROOT, 'packages/server/src/cli/main.ts')
const PASSWORD = 'correct horse battery'
const NOT_UTF8 = 'password must be valid UTF-8 text (it holds invalid bytes or a lone surrogate)'

interface Result {
  code: number | null
  stdout: string
  stderr: string
}

function cliEnv(dir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...testEnv(dir), LOG_LEVEL: 'silent' }
  for (const name of ['NODE_ENV', 'INIT_CWD', 'HOST', 'NODE_TEST_CONTEXT']) delete env[name]
  return env
}

function collect(child: ChildProcess): Promise<Result> {
  let stdout = ''
  let stderr = ''
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d))
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  return new Promise((done, fail) => {
    child.on('error', fail)
    child.on('close', (code) => done({ code, stdout, stderr }))
  })
}

/** `keycard <args>` with `input` (bytes as given) on stdin. */
function keycard(dir: string, args: string[], input: string | Buffer = `${PASSWORD}\n`): Promise<Result> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, env: cliEnv(dir) })
  child.stdin.end(input)
  return collect(child)
}

forEachDialect((dialect) => {
  describe('keycard useradd and users delete with names of any script', { concurrency: 4 }, () => {
    test('a name is kept as typed (NFC), the email normalised; the same name in another case is taken', async (t) => {
      const dir = await dataDir(t, dialect)
      const created = await keycard(dir, ['useradd', 'Zoe\u0308', '--email', ' Zoë@Example.COM '])
      assert.equal(created.code, 0, created.stderr)
      assert.equal(created.stdout, 'Created user Zoë (id 1, Zoë@example.com).\n')
      const name = await keycard(dir, ['useradd', 'ZOË'])
      assert.deepEqual([name.code, name.stderr], [1, 'keycard useradd: username "ZOË" is already taken\n'])
      const email = await keycard(dir, ['useradd', 'zoey', '--email', 'ZOË@example.com'])
      assert.deepEqual([email.code, email.stderr], [1, 'keycard useradd: email "ZOË@example.com" is already registered\n'])
      const list = JSON.parse((await keycard(dir, ['users', 'list', '--json'])).stdout)
      assert.deepEqual(
        list.users.map((u: any) => [u.username, u.email]),
        [['Zoë', 'Zoë@example.com']],
      )

      const deleted = await keycard(dir, ['users', 'delete', 'ZOE\u0308', '--yes'])
      assert.equal(deleted.code, 0, deleted.stderr)
      assert.equal(deleted.stdout, 'Deleted user Zoë (id 1); revoked 0 active sessions.\n')
    })

    test('emoji, spaces and controls in a name, and controls in an email, are refused before the password is read', async (t) => {
      const dir = await dataDir(t, dialect)
      const emoji = await keycard(dir, ['useradd', 'zoë😀'], '')
      assert.deepEqual(
        [emoji.code, emoji.stderr],
        [1, "keycard useradd: username may hold only letters, digits, '_', '.' and '-' (any script): '😀' (U+1F600) is not allowed\n"],
      )
      const control = await keycard(dir, ['useradd', 'zoe', '--email', 'zoe\u0007@example.com'], '')
      assert.deepEqual(
        [control.code, control.stderr],
        [1, 'keycard useradd: email must not contain control characters such as NUL or a line break (U+0007)\n'],
      )
    })

    test('a password on stdin that is not UTF-8 is refused, naming password, and nothing is created', async (t) => {
      const dir = await dataDir(t, dialect)
      // "café crème" in Latin-1; Buffer's decoder made it "caf\ufffd cr\ufffdme" and created the user.
      const r = await keycard(dir, ['useradd', 'zoe'], Buffer.from('café crème\n', 'latin1'))
      assert.deepEqual([r.code, r.stderr], [1, `keycard useradd: ${NOT_UTF8}\n`])
      assert.equal(JSON.parse((await keycard(dir, ['users', 'list', '--json'])).stdout).total, 0)
    })

    test('readFirstLine returns bad bytes as lone surrogates, a character split across chunks whole', async () => {
      const input = new PassThrough()
      const line = readFirstLine(input)
      const e = Buffer.from('é')
      input.write(Buffer.concat([Buffer.from('caf'), e.subarray(0, 1)]))
      input.write(Buffer.concat([e.subarray(1), Buffer.of(0xe9), Buffer.from('\n')]))
      assert.equal(await line, 'caf\u00e9\udce9')
    })
  })
})

const HAS_SCRIPT = spawnSync('script', ['--version']).status === 0

describe('the hidden prompt, on a real terminal', () => {
  test('script(1) is installed to give the CLI a real terminal', () => {
    // A missing tool is a failure that says what to install, never a skip (Debian: bsdutils, Essential).
    assert.ok(HAS_SCRIPT, 'script(1) is missing: install util-linux (Debian: apt-get install bsdutils)')
  })

  test('a typed password that is not UTF-8 is refused before it is asked again', { timeout: 20_000 }, async (t: TestContext) => {
    const dir = tempDir(t)
    const command = [process.execPath, '--import', 'tsx', MAIN, 'useradd', 'zoe'].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ')
    const child = spawn('script', ['-qec', command, '/dev/null'], { cwd: ROOT, env: { ...cliEnv(dir), TERM: 'dumb' } })
    t.after(() => child.kill())
    let screen = ''
    const prompted = new Promise<void>((ready) => {
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        screen += d
        if (screen.includes('Password: ')) ready()
      })
    })
    const done = new Promise<number | null>((exit) => child.on('close', exit))
    await prompted
    child.stdin.write(Buffer.from('café crème\r', 'latin1'))
    assert.equal(await done, 1)
    assert.match(screen, new RegExp(`keycard useradd: ${NOT_UTF8.replace(/[()]/g, '\\$&')}`))
    assert.doesNotMatch(screen, /Repeat password/)
  })
})

forEachDialect((dialect) => {
  describe('keycard users rename', { concurrency: 4 }, () => {
    test("renames by the rules: own name in another case is fine, another user's in any case is not", async (t) => {
      const dir = await dataDir(t, dialect)
      assert.equal((await keycard(dir, ['useradd', 'alice'])).code, 0)
      assert.equal((await keycard(dir, ['useradd', 'Zoë'])).code, 0)
      const recased = await keycard(dir, ['users', 'rename', 'ALICE', 'Alice'])
      assert.deepEqual([recased.code, recased.stdout], [0, 'Renamed user alice (id 1) to Alice.\n'])
      const taken = await keycard(dir, ['users', 'rename', 'alice', 'ZOE\u0308'])
      assert.deepEqual([taken.code, taken.stderr], [1, 'keycard users rename: username "ZOË" is already taken by another user\n'])
      const bad = await keycard(dir, ['users', 'rename', '1', 'a b'])
      assert.deepEqual(
        [bad.code, bad.stderr],
        [1, "keycard users rename: username may hold only letters, digits, '_', '.' and '-' (any script): ' ' (U+0020) is not allowed\n"],
      )
      const missing = await keycard(dir, ['users', 'rename', 'nobody', 'somebody'])
      assert.deepEqual([missing.code, missing.stderr], [1, 'keycard users rename: no user "nobody"\n'])
      const moved = await keycard(dir, ['users', 'rename', '2', 'Zoey'])
      assert.equal(moved.code, 0, moved.stderr)
      const list = JSON.parse((await keycard(dir, ['users', 'list', '--json'])).stdout)
      assert.deepEqual(
        list.users.map((u: any) => u.username),
        ['Alice', 'Zoey'],
      )
      // The old name is free again, and the new one is matched in any case.
      assert.equal((await keycard(dir, ['useradd', 'zoë'])).code, 0)
      assert.equal(
        (await keycard(dir, ['users', 'delete', 'ZOEY', '--yes'])).stdout,
        'Deleted user Zoey (id 2); revoked 0 active sessions.\n',
      )
    })
  })
})
