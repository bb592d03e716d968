/**
 * The `keycard` CLI, run as real processes (`node --import tsx src/cli/main.ts …`) against a SQLite
 * file in a temp dir, and the commands that use the database (migrate, useradd, users) also against a
 * PostgreSQL database of their own. The hidden password prompt is driven through a real
 * pseudo-terminal with util-linux `script`; the line editing and stdin reading of prompt.ts are also
 * tested directly.
 */

import assert from 'node:assert/strict'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { PassThrough } from 'node:stream'
import { describe, test, type TestContext } from 'node:test'
import { fileURLToPath } from 'node:url'
import { freePort } from '@keycard/test-servers'
import { HiddenLineEditor, readFirstLine } from '../src/cli/prompt.ts'
import { loadConfig, redactUrl } from '../src/config.ts'
import { migrations } from '../src/db/migrations/index.ts'
import { createPasswordHasher } from '../src/passwords.ts'
import { findUserByLogin } from '../src/users.ts'
import { dataDir, forEachDialect, listeningUrl, openBeside, startServer, tempDir, testEnv } from './helpers.ts'

const ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)))
const MAIN = join(ROOT, 'packages/server/src/cli/main.ts')
const BIN = join(ROOT, 'packages/server/bin/keycard.js')
const PASSWORD = 'correct horse battery'

interface Result {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/** The environment of a CLI run on `dir`: the test server's, minus whatever the runner's shell had set. */
function cliEnv(dir: string, overrides: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...testEnv(dir), LOG_LEVEL: 'silent', ...overrides }
  for (const name of ['NODE_ENV', 'INIT_CWD', 'HOST', 'NODE_TEST_CONTEXT']) if (!(name in overrides)) delete env[name]
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k]
  return env
}

/** Runs `keycard <args>` to completion; `input` is written to stdin, which is then closed. */
function keycard(dir: string, args: string[], options: { input?: string; env?: Record<string, string | undefined> } = {}): Promise<Result> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, env: cliEnv(dir, options.env) })
  child.stdin.end(options.input ?? '')
  return collect(child)
}

function collect(child: ChildProcess): Promise<Result> {
  let stdout = ''
  let stderr = ''
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d))
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }))
  })
}

/** Creates a user through the CLI, password on stdin; fails the test unless it exits 0. */
async function useradd(dir: string, username: string, extra: string[] = [], password = PASSWORD): Promise<Result> {
  const r = await keycard(dir, ['useradd', username, ...extra], { input: `${password}\n` })
  assert.equal(r.code, 0, r.stderr)
  return r
}

/** No stack trace: no "    at …" frame lines, no "Error:" dumps. */
function assertNoStack(text: string): void {
  assert.doesNotMatch(text, /^\s+at /m)
  assert.doesNotMatch(text, /node:internal/)
}

describe('keycard --help', { concurrency: 4 }, () => {
  const HELPS: [string[], string][] = [
    [['--help'], 'Usage: keycard <command>'],
    [['-h'], 'Usage: keycard <command>'],
    [['serve', '--help'], 'Usage: keycard serve'],
    [['migrate', '--help'], 'Usage: keycard migrate'],
    [['useradd', '--help'], 'Usage: keycard useradd <username>'],
    [['users', '--help'], 'Usage: keycard users <list|delete|rename>'],
    [['users', 'list', '--help'], 'Usage: keycard users list'],
    [['users', 'delete', '-h'], 'Usage: keycard users delete'],
    [['help', 'users', 'list'], 'Usage: keycard users list'],
  ]
  for (const [args, first] of HELPS) {
    test(`keycard ${args.join(' ')} prints its usage on stdout and exits 0`, async (t) => {
      const r = await keycard(tempDir(t), args)
      assert.equal(r.code, 0, r.stderr)
      assert.ok(r.stdout.startsWith(first), r.stdout)
      assert.equal(r.stderr, '')
    })
  }

  test('the main help lists every command and the exit codes', async (t) => {
    const r = await keycard(tempDir(t), ['--help'])
    for (const word of ['serve', 'migrate', 'useradd', 'users']) assert.match(r.stdout, new RegExp(`^  ${word} `, 'm'))
    assert.match(r.stdout, /Exit codes: 0 success; 1 error/)
  })

  test('--help does not touch the database', async (t) => {
    const dir = tempDir(t)
    await keycard(dir, ['useradd', '--help'])
    assert.equal(existsSync(join(dir, 'keycard.db')), false)
  })

  test('keycard --version prints the package version', async (t) => {
    const r = await keycard(tempDir(t), ['--version'])
    assert.equal(r.code, 0)
    assert.equal(r.stdout, '0.1.0\n')
  })

  test('the bin shim runs the same CLI', async (t) => {
    const child = spawn(process.execPath, [BIN, '--help'], { cwd: ROOT, env: cliEnv(tempDir(t)) })
    child.stdin!.end()
    const r = await collect(child)
    assert.equal(r.code, 0, r.stderr)
    assert.ok(r.stdout.startsWith('Usage: keycard <command>'))
  })
})

describe('usage errors: one line, then the usage, exit 1', { concurrency: 4 }, () => {
  test('an unknown command', async (t) => {
    const r = await keycard(tempDir(t), ['frobnicate'])
    assert.equal(r.code, 1)
    assert.equal(r.stdout, '')
    const [line, blank, usage] = r.stderr.split('\n')
    assert.equal(line, 'keycard: unknown command "frobnicate"')
    assert.equal(blank, '')
    assert.equal(usage, 'Usage: keycard <command> [options]')
  })

  test('no command at all', async (t) => {
    const r = await keycard(tempDir(t), [])
    assert.equal(r.code, 1)
    assert.match(r.stderr, /^keycard: missing command\n\nUsage: keycard <command>/)
  })

  const UNKNOWN: [string[], string][] = [
    [['--bogus'], 'keycard'],
    [['serve', '--bogus'], 'keycard serve'],
    [['migrate', '--bogus'], 'keycard migrate'],
    [['useradd', 'alice', '--bogus'], 'keycard useradd'],
    [['users', '--bogus'], 'keycard users'],
    [['users', 'list', '--bogus'], 'keycard users list'],
    [['users', 'delete', 'alice', '--bogus'], 'keycard users delete'],
  ]
  for (const [args, prefix] of UNKNOWN) {
    test(`${args.join(' ')}: an unknown option`, async (t) => {
      const r = await keycard(tempDir(t), args)
      assert.equal(r.code, 1)
      const [line, blank, usage] = r.stderr.split('\n')
      assert.equal(line, `${prefix}: Unknown option '--bogus'`)
      assert.equal(blank, '')
      assert.ok(usage!.startsWith(`Usage: ${prefix}`), usage)
    })
  }

  const OTHERS: [string[], string][] = [
    [['help', 'frob'], 'keycard: unknown command "frob"'],
    [['useradd'], 'keycard useradd: missing <username>'],
    [['useradd', 'alice', 'bob'], 'keycard useradd: unexpected argument "bob"'],
    [['useradd', 'alice', '--email'], "keycard useradd: Option '--email <value>' argument missing"],
    [['migrate', 'now'], "keycard migrate: Unexpected argument 'now'"],
    [['users'], 'keycard users: missing command: list, delete or rename'],
    [['users', 'show'], 'keycard users: unknown command "users show"'],
    [['users', 'list', '--limit', '0'], 'keycard users list: --limit must be an integer from 1 to 1000, got "0"'],
    [
      ['users', 'list', '--offset', '1'],
      'keycard users list: --offset is gone: pages are by key; pass --after <the last id of the previous page>',
    ],
    [['users', 'list', '--after', '-1'], "keycard users list: Option '--after' argument is ambiguous"],
    [['users', 'list', '--after', 'x'], 'keycard users list: --after must be an integer from 0 to 9999999999, got "x"'],
    [['users', 'delete'], 'keycard users delete: missing <username|email|id>'],
  ]
  for (const [args, expected] of OTHERS) {
    test(`${args.join(' ')}: ${expected}`, async (t) => {
      const r = await keycard(tempDir(t), args)
      assert.equal(r.code, 1)
      assert.equal(r.stderr.split('\n')[0], expected)
      assert.match(r.stderr, /\n\nUsage: keycard /)
    })
  }
})

describe('configuration errors', { concurrency: 4 }, () => {
  test('each bad variable is one line naming it, with no stack trace, and exit 1', async (t) => {
    const r = await keycard(tempDir(t), ['users', 'list'], { env: { PORT: 'abc', JWT_SECRET: 'short' } })
    assert.equal(r.code, 1)
    assert.deepEqual(r.stderr.trimEnd().split('\n'), [
      'keycard: invalid configuration: PORT: expected an integer from 0 to 65535, got "abc"',
      'keycard: invalid configuration: JWT_SECRET: must be at least 32 bytes (HS256), got 5; generate one with `openssl rand -base64 32`',
    ])
  })

  test('a PostgreSQL DATABASE_URL without JWT_SECRET, or naming no database, is refused in one line', async (t) => {
    const noSecret = await keycard(tempDir(t), ['migrate'], {
      env: { DATABASE_URL: 'postgres://keycard:hunter2@127.0.0.1/keycard', JWT_SECRET: undefined, JWT_ALGORITHM: 'HS256' },
    })
    assert.equal(noSecret.code, 1)
    assert.match(noSecret.stderr, /^keycard: invalid configuration: JWT_SECRET: required with a PostgreSQL DATABASE_URL/)
    assert.equal(noSecret.stderr.trimEnd().split('\n').length, 1)
    const noDatabase = await keycard(tempDir(t), ['migrate'], { env: { DATABASE_URL: 'postgres://keycard:hunter2@127.0.0.1:5432' } })
    assert.equal(noDatabase.code, 1)
    assert.equal(
      noDatabase.stderr,
      'keycard: invalid configuration: DATABASE_URL: names no database: expected postgres://user:password@host:port/database, got postgres://keycard:***@127.0.0.1:5432\n',
    )
  })

  test('a PostgreSQL server that cannot be reached is one line naming the problem, not the password, exit 1', async (t) => {
    const url = `postgres://keycard:hunter2@127.0.0.1:${await freePort()}/keycard`
    const r = await keycard(tempDir(t), ['migrate'], { env: { DATABASE_URL: url, DATABASE_CONNECT_TIMEOUT_MS: '2000' } })
    assert.equal(r.code, 1)
    assert.equal(r.stdout, '')
    assert.equal(
      r.stderr,
      'keycard migrate: Database migration failed: The database is unavailable (PostgreSQL cannot be reached); retry in a moment\n',
    )
    assert.ok(!r.stderr.includes('hunter2'))
  })
})

forEachDialect((dialect) => {
  describe('keycard migrate', { concurrency: 4 }, () => {
    test('on a fresh database it creates it, runs every migration and says which', async (t) => {
      const dir = await dataDir(t, dialect)
      // SQLite: a file in a directory that does not exist yet. PostgreSQL: an empty database, named without its password.
      const db = dialect === 'sqlite' ? join(dir, 'nested', 'keycard.db') : testEnv(dir).DATABASE_URL!
      const shown = redactUrl(db)
      const first = await keycard(dir, ['migrate'], { env: { DATABASE_URL: db } })
      assert.equal(first.code, 0, first.stderr)
      // Every migration the server knows, in order (the list grows; this test should not have to).
      const names = Object.keys(migrations)
      assert.equal(
        first.stdout,
        `Database: ${shown}\n${names.map((n) => `  applied ${n}\n`).join('')}Ran ${names.length} migration${names.length === 1 ? '' : 's'}.\n`,
      )
      if (dialect === 'sqlite') assert.ok(existsSync(db))
      else assert.ok(!shown.includes(new URL(db).password), 'the password is not printed')

      const again = await keycard(dir, ['migrate'], { env: { DATABASE_URL: db } })
      assert.equal(again.code, 0, again.stderr)
      assert.equal(again.stdout, `Database: ${shown}\nAlready up to date: no migration to run.\n`)

      const status = await keycard(dir, ['migrate', '--status'], { env: { DATABASE_URL: dialect === 'sqlite' ? `sqlite:${db}` : db } })
      assert.equal(status.code, 0, status.stderr)
      assert.match(status.stdout, /^ {2}ran \d{4}-\d\d-\d\dT[\d:.]+Z {2}0001-init$/m)
    })

    test('--status on a fresh database lists the migrations as pending', async (t) => {
      const r = await keycard(await dataDir(t, dialect), ['migrate', '--status'])
      assert.equal(r.code, 0, r.stderr)
      assert.match(r.stdout, /^ {2}pending {23}0001-init$/m)
    })
  })

  describe('keycard useradd and users list', { concurrency: 4 }, () => {
    test('a user created with the password on stdin is listed, as a table and as JSON', async (t) => {
      const dir = await dataDir(t, dialect)
      const created = await useradd(dir, 'Alice', ['--email', 'Alice@Example.com', '--admin'])
      assert.equal(created.stdout, 'Created user Alice (id 1, Alice@example.com, admin).\n')
      await useradd(dir, 'bob')

      const list = await keycard(dir, ['users', 'list'])
      assert.equal(list.code, 0, list.stderr)
      const lines = list.stdout.split('\n')
      assert.match(lines[0]!, /^ID +USERNAME +EMAIL +ADMIN +REGISTERED$/)
      assert.match(lines[1]!, /^1 +Alice +Alice@example\.com +yes +\d{4}-\d\d-\d\dT/)
      assert.match(lines[2]!, /^2 +bob +- +no +\d{4}-/)
      assert.match(list.stdout, /\n2 of 2 users\n$/)

      const json = await keycard(dir, ['users', 'list', '--json'])
      assert.equal(json.code, 0, json.stderr)
      const body = JSON.parse(json.stdout)
      assert.equal(body.total, 2)
      assert.equal(body.limit, 50)
      assert.equal(body.next, null)
      assert.deepEqual(
        body.users.map((u: any) => [u.id, u.username, u.email, u.admin]),
        [
          [1, 'Alice', 'Alice@example.com', true],
          [2, 'bob', null, false],
        ],
      )
      assert.ok(!Number.isNaN(Date.parse(body.users[0].registered_on)))

      const first = await keycard(dir, ['users', 'list', '--limit', '1'])
      assert.match(first.stdout, /\n1 of 2 users\nNext page: keycard users list --limit 1 --after 1\n$/)
      const page = JSON.parse((await keycard(dir, ['users', 'list', '--json', '--limit', '1', '--after', '1'])).stdout)
      assert.deepEqual(
        page.users.map((u: any) => u.username),
        ['bob'],
      )
      assert.deepEqual([page.total, page.next], [2, null])
      const past = await keycard(dir, ['users', 'list', '--after', '2'])
      assert.equal(past.stdout, 'No users after id 2 (there are 2).\n')
    })

    test('the password is the first line of stdin, never printed, and verifies', async (t) => {
      const dir = await dataDir(t, dialect)
      const r = await keycard(dir, ['useradd', 'carol'], { input: `${PASSWORD}\r\nsecond line\n` })
      assert.equal(r.code, 0, r.stderr)
      assert.ok(!r.stdout.includes(PASSWORD) && !r.stderr.includes(PASSWORD))
      const db = openBeside(t, { dbPath: testEnv(dir).DATABASE_URL! })
      const row = await findUserByLogin(db, 'carol')
      const hasher = createPasswordHasher(loadConfig(testEnv(dir)).argon2)
      assert.equal(await hasher.verify(row!.password_hash, PASSWORD), true)
    })

    test('an empty users list says how to add one', async (t) => {
      const r = await keycard(await dataDir(t, dialect), ['users', 'list'])
      assert.equal(r.code, 0, r.stderr)
      assert.equal(r.stdout, 'No users yet. Create one with: keycard useradd <username>\n')
    })

    test('a taken username or email is an error, exit 1', async (t) => {
      const dir = await dataDir(t, dialect)
      await useradd(dir, 'alice', ['--email', 'alice@example.com'])
      const name = await keycard(dir, ['useradd', 'ALICE'], { input: `${PASSWORD}\n` })
      assert.equal(name.code, 1)
      assert.equal(name.stderr, 'keycard useradd: username "ALICE" is already taken\n')
      const email = await keycard(dir, ['useradd', 'alice2', '--email', 'ALICE@example.com'], { input: `${PASSWORD}\n` })
      assert.equal(email.code, 1)
      assert.equal(email.stderr, 'keycard useradd: email "ALICE@example.com" is already registered\n')
    })

    test('a short password is refused, naming the rule, and nothing is created', async (t) => {
      const dir = await dataDir(t, dialect)
      const r = await keycard(dir, ['useradd', 'dave'], { input: 'short\n' })
      assert.equal(r.code, 1)
      assert.equal(r.stderr, 'keycard useradd: password must be at least 8 characters\n')
      const list = await keycard(dir, ['users', 'list', '--json'])
      assert.equal(JSON.parse(list.stdout).total, 0)
    })

    test('an over-long password is refused, naming the limit', async (t) => {
      const r = await keycard(await dataDir(t, dialect), ['useradd', 'dave'], { input: `${'x'.repeat(1025)}\n` })
      assert.equal(r.code, 1)
      assert.equal(r.stderr, 'keycard useradd: password must be at most 1024 bytes\n')
    })

    test('no password on stdin is an error', async (t) => {
      const r = await keycard(await dataDir(t, dialect), ['useradd', 'dave'], { input: '' })
      assert.equal(r.code, 1)
      assert.match(r.stderr, /^keycard useradd: no password on stdin/)
    })

    test('a bad username or email is refused before the password is read', async (t) => {
      const dir = await dataDir(t, dialect)
      const name = await keycard(dir, ['useradd', 'a b'], { input: `${PASSWORD}\n` })
      assert.equal(name.code, 1)
      assert.equal(
        name.stderr,
        "keycard useradd: username may hold only letters, digits, '_', '.' and '-' (any script): ' ' (U+0020) is not allowed\n",
      )
      const email = await keycard(dir, ['useradd', 'erin', '--email', 'not-an-email'], { input: `${PASSWORD}\n` })
      assert.equal(email.code, 1)
      assert.equal(email.stderr, 'keycard useradd: email must be an email address such as name@example.com\n')
    })
  })

  describe('keycard users delete', { concurrency: 4 }, () => {
    test('deletes a user by name or id; the others stay', async (t) => {
      const dir = await dataDir(t, dialect)
      await useradd(dir, 'alice')
      await useradd(dir, 'bob', ['--email', 'bob@example.com'])
      await useradd(dir, 'carol')

      const byName = await keycard(dir, ['users', 'delete', 'alice', '--yes'])
      assert.equal(byName.code, 0, byName.stderr)
      assert.equal(byName.stdout, 'Deleted user alice (id 1); revoked 0 active sessions.\n')
      const byId = await keycard(dir, ['users', 'delete', '3', '-y'])
      assert.equal(byId.code, 0, byId.stderr)
      assert.equal(byId.stdout, 'Deleted user carol (id 3); revoked 0 active sessions.\n')

      const list = JSON.parse((await keycard(dir, ['users', 'list', '--json'])).stdout)
      assert.deepEqual(
        list.users.map((u: any) => u.username),
        ['bob'],
      )

      const byEmail = await keycard(dir, ['users', 'delete', 'bob@example.com', '--yes'])
      assert.equal(byEmail.code, 0, byEmail.stderr)
      assert.equal(JSON.parse((await keycard(dir, ['users', 'list', '--json'])).stdout).total, 0)
    })

    test('an unknown user is an error, exit 1', async (t) => {
      const r = await keycard(await dataDir(t, dialect), ['users', 'delete', 'nobody', '--yes'])
      assert.equal(r.code, 1)
      assert.equal(r.stderr, 'keycard users delete: no user "nobody"\n')
    })

    test('without --yes and without a terminal it refuses and deletes nothing', async (t) => {
      const dir = await dataDir(t, dialect)
      await useradd(dir, 'alice')
      const r = await keycard(dir, ['users', 'delete', 'alice'], { input: 'y\n' })
      assert.equal(r.code, 1)
      assert.equal(r.stderr, 'keycard users delete: not deleting alice without confirmation: stdin is not a terminal; pass --yes\n')
      assert.equal(JSON.parse((await keycard(dir, ['users', 'list', '--json'])).stdout).total, 1)
    })

    test("a number that is one user's id and another's username is refused", async (t) => {
      const dir = await dataDir(t, dialect)
      await useradd(dir, 'alice')
      await useradd(dir, 'bob')
      await useradd(dir, '002')
      const r = await keycard(dir, ['users', 'delete', '002', '--yes'])
      assert.equal(r.code, 1)
      assert.equal(
        r.stderr,
        'keycard users delete: "002" names two users: id 2 (bob) and username 002 (id 3); give the other one\'s username or id\n',
      )
      assert.equal(JSON.parse((await keycard(dir, ['users', 'list', '--json'])).stdout).total, 3)
    })

    test('a running server picks up the revocation on its next sync (SQLite) or by NOTIFY (PostgreSQL)', async (t) => {
      const dir = await dataDir(t, dialect)
      await useradd(dir, 'alice')
      // The server's revocation poll runs on a mocked setInterval, driven by tick(); the rest stays real.
      // Its staleness bound is on the real clock: long enough that the unticked poll does not trip it.
      t.mock.timers.enable({ apis: ['setInterval'] })
      const server = await startServer(t, { REVOCATION_MAX_STALENESS: '1h' }, { dialect, dir })
      const tokens = await server.login('alice')
      const verify = async () => (await server.api('GET', '/auth/verify', { token: tokens.access_token })).status
      assert.equal(await verify(), 200)
      const r = await keycard(dir, ['users', 'delete', 'alice', '--yes'])
      assert.equal(r.code, 0, r.stderr)
      // SQLite: not seen before the poll. PostgreSQL: the delete's NOTIFY reaches the server with no poll at all.
      if (dialect === 'sqlite') {
        assert.equal(await verify(), 200, 'not seen before the sync')
        t.mock.timers.tick(5_000)
      }
      // The sync's reads are promises on a synchronous driver (the notification a message on a socket); give them a bounded number of turns.
      let status = await verify()
      for (let i = 0; i < 200 && status === 200; i++) {
        await new Promise(setImmediate)
        status = await verify()
      }
      assert.equal(status, 401)
    })

    test('revokes every session of the user: their tokens fail after a restart, as after DELETE /admin/users/:id', async (t) => {
      const dir = await dataDir(t, dialect)
      await useradd(dir, 'alice')
      const first = await startServer(t, {}, { dialect, dir })
      const tokens = await first.login('alice')
      const second = await first.login('alice')
      assert.equal((await first.api('GET', '/auth/verify', { token: tokens.access_token })).status, 200)
      await first.close()

      const r = await keycard(dir, ['users', 'delete', 'alice', '--yes'])
      assert.equal(r.code, 0, r.stderr)
      assert.equal(r.stdout, 'Deleted user alice (id 1); revoked 2 active sessions.\n')

      const restarted = await startServer(t, {}, { dialect, dir })
      for (const token of [tokens.access_token, second.access_token]) {
        const verify = await restarted.api('GET', '/auth/verify', { token })
        assert.equal(verify.status, 401)
      }
      const refresh = await restarted.api('POST', '/auth/refresh', { token: tokens.refresh_token })
      assert.equal(refresh.status, 401)
    })
  })
})

// util-linux `script` runs the command on a new pseudo-terminal and relays our pipe to it.
const HAS_SCRIPT = spawnSync('script', ['--version']).status === 0

/** `keycard <args>` on a real terminal; `send(text)` types, `waitFor(text)` waits for the screen to show it. */
function onTerminal(t: TestContext, dir: string, args: string[]) {
  const command = [process.execPath, '--import', 'tsx', MAIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ')
  const child = spawn('script', ['-qec', command, '/dev/null'], { cwd: ROOT, env: { ...cliEnv(dir), TERM: 'dumb' } })
  let screen = ''
  const waiters: (() => void)[] = []
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    screen += d
    for (const w of waiters.splice(0)) w()
  })
  const done = collect(child)
  t.after(() => child.kill())
  return {
    send: (text: string) => child.stdin.write(text),
    screen: () => screen,
    /** Resolves once `text` has appeared `count` times in all output so far. */
    waitFor(text: string, count = 1): Promise<void> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`timed out waiting for ${JSON.stringify(text)}; screen: ${JSON.stringify(screen)}`)),
          15_000,
        )
        const check = () => {
          if (screen.split(text).length - 1 >= count) {
            clearTimeout(timer)
            resolve()
          } else waiters.push(check)
        }
        check()
      })
    },
    async exit(): Promise<Result> {
      const r = await done
      child.stdin.end()
      return r
    },
  }
}

describe('the hidden password prompt, on a real terminal', {
  concurrency: 4,
  skip: HAS_SCRIPT ? false : 'util-linux script is not installed',
}, () => {
  test('asks twice without echoing; backspace and Ctrl-U edit the line', async (t) => {
    const dir = tempDir(t)
    const term = onTerminal(t, dir, ['useradd', 'tess', '--admin'])
    await term.waitFor('Password: ')
    // "garbage", Ctrl-U clears it; a typo "x" is backspaced; an arrow key is ignored.
    term.send(`garbage\u0015${PASSWORD}x\u007f\u001b[D\r`)
    await term.waitFor('Repeat password: ')
    term.send(`${PASSWORD}\r`)
    const r = await term.exit()
    assert.equal(r.code, 0, r.stdout)
    assert.match(r.stdout, /Created user tess \(id 1, admin\)\./)
    assert.ok(!r.stdout.includes(PASSWORD), `the password was echoed: ${JSON.stringify(r.stdout)}`)
    assert.ok(!r.stdout.includes('garbage'))

    const db = openBeside(t, { dbPath: join(dir, 'keycard.db') })
    const row = await findUserByLogin(db, 'tess')
    const hasher = createPasswordHasher(loadConfig(testEnv(dir)).argon2)
    assert.equal(await hasher.verify(row!.password_hash, PASSWORD), true)
  })

  test('two different passwords: an error, nothing created', async (t) => {
    const dir = tempDir(t)
    const term = onTerminal(t, dir, ['useradd', 'tess'])
    await term.waitFor('Password: ')
    term.send(`${PASSWORD}\r`)
    await term.waitFor('Repeat password: ')
    term.send(`${PASSWORD}!\r`)
    const r = await term.exit()
    assert.equal(r.code, 1)
    assert.match(r.stdout, /keycard useradd: the passwords do not match; nothing was created/)
    assert.equal(JSON.parse((await keycard(dir, ['users', 'list', '--json'])).stdout).total, 0)
  })

  test('a short password is refused before it is asked again', async (t) => {
    const term = onTerminal(t, tempDir(t), ['useradd', 'tess'])
    await term.waitFor('Password: ')
    term.send('short\r')
    const r = await term.exit()
    assert.equal(r.code, 1)
    assert.match(r.stdout, /keycard useradd: password must be at least 8 characters/)
    assert.doesNotMatch(r.stdout, /Repeat password/)
  })

  test('Ctrl-C cancels with exit code 130 and leaves the terminal usable', async (t) => {
    const dir = tempDir(t)
    const term = onTerminal(t, dir, ['useradd', 'tess'])
    await term.waitFor('Password: ')
    term.send('abc\u0003')
    const r = await term.exit()
    assert.equal(r.code, 130)
    assert.match(r.stdout, /keycard useradd: cancelled; nothing was changed/)
    assert.equal(JSON.parse((await keycard(dir, ['users', 'list', '--json'])).stdout).total, 0)
  })

  test('users delete asks for confirmation on a terminal', async (t) => {
    const dir = tempDir(t)
    await useradd(dir, 'alice')
    await useradd(dir, 'bob')

    const no = onTerminal(t, dir, ['users', 'delete', 'alice'])
    await no.waitFor('[y/N] ')
    no.send('\r')
    const kept = await no.exit()
    assert.equal(kept.code, 1)
    assert.match(kept.stdout, /Delete user alice \(id 1\) and revoke all their sessions\? \[y\/N\] /)
    assert.match(kept.stdout, /Nothing deleted\./)

    const yes = onTerminal(t, dir, ['users', 'delete', 'bob'])
    await yes.waitFor('[y/N] ')
    yes.send('y\r')
    const deleted = await yes.exit()
    assert.equal(deleted.code, 0, deleted.stdout)
    assert.match(deleted.stdout, /Deleted user bob \(id 2\)/)
    const list = JSON.parse((await keycard(dir, ['users', 'list', '--json'])).stdout)
    assert.deepEqual(
      list.users.map((u: any) => u.username),
      ['alice'],
    )
  })
})

describe('prompt.ts, without a terminal', { concurrency: 4 }, () => {
  const edit = (...chunks: string[]) => {
    const editor = new HiddenLineEditor()
    const states = chunks.map((c) => editor.feed(c))
    return { value: editor.value, state: states.at(-1) }
  }

  test('the line editor: Enter, backspace by code point, Ctrl-U, escape sequences split across chunks', () => {
    assert.deepEqual(edit('secret\r'), { value: 'secret', state: 'done' })
    assert.deepEqual(edit('secret\n'), { value: 'secret', state: 'done' })
    assert.deepEqual(edit('sec', 'ret'), { value: 'secret', state: 'editing' })
    assert.deepEqual(edit('abcé😀\u007f\u007f\b\r'), { value: 'ab', state: 'done' })
    assert.deepEqual(edit('\u007f\u007fab\r'), { value: 'ab', state: 'done' })
    assert.deepEqual(edit('old\u0015new\r'), { value: 'new', state: 'done' })
    assert.deepEqual(edit('a\u001b[1;5Db\u001bOAc\u001b', '[', '3~d\r'), { value: 'abcd', state: 'done' })
    assert.deepEqual(edit('\u001b[200~pasted pw\u001b[201~\r'), { value: 'pasted pw', state: 'done' })
    assert.deepEqual(edit('tab\there\u0001\u0007\r'), { value: 'tab\there', state: 'done' })
    assert.deepEqual(edit('first\rsecond\r'), { value: 'first', state: 'done' })
  })

  test('the line editor: Ctrl-C cancels; Ctrl-D cancels only an empty line', () => {
    assert.equal(edit('abc\u0003').state, 'cancelled')
    assert.equal(edit('\u0004').state, 'cancelled')
    assert.deepEqual(edit('ab\u0004c\r'), { value: 'abc', state: 'done' })
  })

  test('readFirstLine: the first line without its ending, across chunks, or null for empty input', async () => {
    const read = async (...chunks: (string | Buffer)[]) => {
      const input = new PassThrough()
      const line = readFirstLine(input)
      for (const c of chunks) input.write(c)
      input.end()
      return line
    }
    assert.equal(await read('pass word\n', 'next\n'), 'pass word')
    assert.equal(await read('pass', ' word\r\n'), 'pass word')
    assert.equal(await read('no newline at the end'), 'no newline at the end')
    assert.equal(await read(' spaces kept \n'), ' spaces kept ')
    const euro = Buffer.from('€uro\n')
    assert.equal(await read(euro.subarray(0, 1), euro.subarray(1)), '€uro')
    assert.equal(await read('\n'), '')
    assert.equal(await read(), null)
  })

  test('readFirstLine stops reading after maxBytes', async () => {
    const input = new PassThrough()
    const line = readFirstLine(input, 10)
    input.write('x'.repeat(16))
    assert.equal(await line, 'x'.repeat(16))
  })
})

describe('keycard serve', { concurrency: 4 }, () => {
  test('prints the address it listens on, answers GET /healthz, and exits 0 on SIGTERM', async (t) => {
    const dir = tempDir(t)
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve', '--port', '0'], {
      cwd: ROOT,
      env: cliEnv(dir, { LOG_LEVEL: 'info' }),
    })
    t.after(() => child.kill('SIGKILL'))
    const done = collect(child)
    const url = await listeningUrl(child)
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/)
    const res = await fetch(`${url}/healthz`)
    assert.equal(res.status, 200)
    assert.deepEqual(await res.json(), { status: 'ok' })

    child.kill('SIGTERM')
    const r = await done
    assert.equal(r.code, 0, r.stderr)
    // The logs on stdout stay JSON lines: the address line went to stderr.
    for (const line of r.stdout.split('\n').filter(Boolean)) JSON.parse(line)
    assert.match(r.stdout, /shutting down/)
  })

  test('a bad --port is a configuration error naming PORT', async (t) => {
    const r = await keycard(tempDir(t), ['serve', '--port', 'http'])
    assert.equal(r.code, 1)
    assert.equal(r.stderr, 'keycard: invalid configuration: PORT: expected an integer from 0 to 65535, got "http"\n')
    assertNoStack(r.stderr)
  })

  test('a port in use is one line, exit 1', async (t) => {
    const dir = tempDir(t)
    const busy = await startServer(t, {}, { dir: tempDir(t) })
    const port = new URL(busy.url).port
    const r = await keycard(dir, ['serve', '--port', port])
    assert.equal(r.code, 1)
    assert.match(r.stderr, /^keycard serve: listen EADDRINUSE/m)
    assertNoStack(r.stderr)
  })
})
