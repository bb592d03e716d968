/**
 * `keycard import`'s arguments and sources: bad arguments and unreadable sources are one clear line
 * and exit 1; a custom column mapping imports from any table (here a SQLite file made by better-sqlite3).
 */

import assert from 'node:assert/strict'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import BetterSqlite3 from 'better-sqlite3'
import { dataDir, tempDir, testEnv } from './helpers.ts'
import { keycardCli } from './instances.ts'

const BCRYPT = '$2b$04$7Cq2aGnGMuasXSw2c33jBO8S.EVglWPasXYNHn7SfukYano2eatYi'

describe('keycard import arguments', { concurrency: 4 }, () => {
  test('bad arguments and unreadable sources: one line naming the problem, exit 1', async (t) => {
    const dir = await dataDir(t, 'sqlite')
    const url = testEnv(dir).DATABASE_URL!
    const file = join(tempDir(t), 'flask.db')
    const source = new BetterSqlite3(file)
    source.exec('CREATE TABLE users (id INTEGER PRIMARY KEY, username TEXT, password TEXT)')
    source.close()
    const cases: [string[], RegExp][] = [
      [[], /^keycard import: missing --from <sqlite file \| postgres URL>\n/],
      [
        ['--from', file, '--preset', 'django'],
        /^keycard import: unknown --preset "django": use flask-jwt-tutorial or flask-bcrypt-tutorial\n/,
      ],
      [
        ['--from', file, '--table', 'users; drop table users', '--username', 'username'],
        /^keycard import: --table must be a plain SQL name/,
      ],
      [['--from', file], /^keycard import: the source needs a --username or an --email column \(or a --preset\)\n/],
      [
        ['--from', join(tempDir(t), 'missing.db'), '--preset', 'flask-jwt-tutorial'],
        /^keycard import: cannot open the Flask database .*missing\.db: /,
      ],
      [
        ['--from', file, '--preset', 'flask-bcrypt-tutorial'],
        /^keycard import: cannot read table "users" of .*flask\.db: no such column: "email"\n$/,
      ],
      [['--from', file, '--preset', 'flask-jwt-tutorial', 'extra'], /^keycard import: unexpected argument "extra"/],
    ]
    for (const [args, message] of cases) {
      const res = await keycardCli(t, url, ['import', ...args])
      assert.equal(res.code, 1, args.join(' '))
      assert.match(res.stderr, message, args.join(' '))
    }
  })

  test('a custom mapping: other table and column names, text output without hashes', async (t) => {
    const dir = await dataDir(t, 'sqlite')
    const file = join(tempDir(t), 'flask.db')
    const source = new BetterSqlite3(file)
    source.exec('CREATE TABLE accounts (user_id INTEGER PRIMARY KEY, login TEXT, mail TEXT, pw TEXT, is_admin INTEGER)')
    source.prepare('INSERT INTO accounts VALUES (?, ?, ?, ?, ?)').run(12, 'dora', 'Dora@Example.COM', BCRYPT, 1)
    source.prepare('INSERT INTO accounts VALUES (?, ?, ?, ?, ?)').run(13, 'eve', 'eve@example.com', 'sha1$x$y', 0)
    source.close()
    const args = ['import', '--from', file, '--table', 'accounts', '--id', 'user_id', '--username', 'login', '--email', 'mail']
    const res = await keycardCli(t, testEnv(dir).DATABASE_URL!, [...args, '--password', 'pw', '--admin', 'is_admin'])
    assert.equal(res.code, 0, res.stderr)
    assert.equal(
      res.stdout,
      'Imported 1 user; 0 already imported; skipped 1.\n' +
        '  + id 12 dora <Dora@example.com> admin (bcrypt hash)\n' +
        '  - id 13 "eve": password hash: unknown hash format\n',
    )
  })
})
