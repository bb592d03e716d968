/** loadConfig: defaults, each bad variable's message, DATABASE_URL forms, the generated secret, production. */

import assert from 'node:assert/strict'
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { ConfigError, loadConfig, resolveJwtSecret } from '../src/config.ts'
import { startServer, tempDir } from './helpers.ts'

function problems(env: Record<string, string>): readonly string[] {
  try {
    loadConfig({ INIT_CWD: '/srv/app', ...env })
  } catch (err) {
    assert.ok(err instanceof ConfigError)
    assert.match(err.message, /^Invalid configuration:\n {2}- /)
    return err.problems
  }
  assert.fail(`no error for ${JSON.stringify(env)}`)
}

test('defaults: port 3000 on 127.0.0.1, ./data/keycard.db, 15 min / 30 days, 10 s reuse, OWASP argon2id', () => {
  const config = loadConfig({ INIT_CWD: '/srv/app' })
  assert.equal(config.port, 3000)
  assert.equal(config.host, '127.0.0.1')
  assert.equal(config.databaseUrl, './data/keycard.db')
  assert.equal(config.databasePath, '/srv/app/data/keycard.db')
  assert.equal(config.dataDir, '/srv/app/data')
  assert.equal(config.jwtSecret, undefined)
  assert.equal(config.accessTokenExpires, 900)
  assert.equal(config.refreshTokenExpires, 30 * 86400)
  assert.equal(config.refreshReuseInterval, 10)
  assert.equal(config.logLevel, 'info')
  assert.deepEqual(config.argon2, { memoryCost: 7168, timeCost: 5, parallelism: 1 })
  assert.ok(Object.isFrozen(config))
})

test('valid values are read, durations with units', () => {
  const config = loadConfig({
    PORT: '8080',
    HOST: '0.0.0.0',
    ACCESS_TOKEN_EXPIRES: '5m',
    REFRESH_TOKEN_EXPIRES: '7d',
    REFRESH_REUSE_INTERVAL: '0',
    LOG_LEVEL: 'DEBUG',
    ARGON2_MEMORY_COST: '64',
    ARGON2_TIME_COST: '1',
    ARGON2_PARALLELISM: '2',
    JWT_SECRET: 's'.repeat(32),
  })
  assert.deepEqual(
    [
      config.port,
      config.host,
      config.accessTokenExpires,
      config.refreshTokenExpires,
      config.refreshReuseInterval,
      config.logLevel,
      config.jwtSecret,
    ],
    [8080, '0.0.0.0', 300, 7 * 86400, 0, 'debug', 's'.repeat(32)],
  )
  assert.deepEqual(config.argon2, { memoryCost: 64, timeCost: 1, parallelism: 2 })
  assert.equal(loadConfig({ ACCESS_TOKEN_EXPIRES: '60' }).accessTokenExpires, 60)
  assert.equal(loadConfig({ ACCESS_TOKEN_EXPIRES: '1h' }).accessTokenExpires, 3600)
})

test('DATABASE_URL takes a path, a file: or sqlite: URL, or :memory:', () => {
  const path = (url: string) => loadConfig({ INIT_CWD: '/srv/app', DATABASE_URL: url }).databasePath
  assert.equal(path('/var/lib/keycard.db'), '/var/lib/keycard.db')
  assert.equal(path('db/k.db'), '/srv/app/db/k.db')
  assert.equal(path('file:./k.db'), '/srv/app/k.db')
  assert.equal(path('file:///var/k.db'), '/var/k.db')
  assert.equal(path('sqlite:./k.db'), '/srv/app/k.db')
  assert.equal(path('sqlite://./k.db'), '/srv/app/k.db')
  assert.equal(path('sqlite:///var/k.db'), '/var/k.db')
  assert.equal(path(':memory:'), ':memory:')
})

test('each bad variable gets a message naming it, what it expected and what it got', () => {
  const cases: [Record<string, string>, string][] = [
    [{ PORT: 'http' }, 'PORT: expected an integer from 0 to 65535, got "http"'],
    [{ PORT: '70000' }, 'PORT: expected an integer from 0 to 65535, got "70000"'],
    [{ HOST: 'local host' }, 'HOST: expected a hostname or IP address such as 127.0.0.1 or 0.0.0.0, got "local host"'],
    [
      { DATABASE_URL: 'postgres://u:p@db/keycard', JWT_ALGORITHM: 'HS256' },
      "JWT_SECRET: required with a PostgreSQL DATABASE_URL (every instance must sign with the same secret, and a generated one would live in one machine's data dir); generate one with `openssl rand -base64 32`",
    ],
    [
      { DATABASE_URL: 'postgresql://u:secret@db', JWT_SECRET: 'p'.repeat(32) },
      'DATABASE_URL: names no database: expected postgres://user:password@host:port/database, got postgresql://u:***@db',
    ],
    [
      { DATABASE_URL: 'mysql://db/keycard' },
      'DATABASE_URL: unsupported scheme "mysql:"; use a file path, a file: or sqlite: URL, or postgres://user:password@host:port/database',
    ],
    [{ DATABASE_POOL_SIZE: '0' }, 'DATABASE_POOL_SIZE: expected an integer from 1 to 1000, got "0"'],
    [{ DATABASE_STATEMENT_TIMEOUT_MS: 'x' }, 'DATABASE_STATEMENT_TIMEOUT_MS: expected an integer from 100 to 600000, got "x"'],
    [{ DATABASE_CONNECT_TIMEOUT_MS: '50' }, 'DATABASE_CONNECT_TIMEOUT_MS: expected an integer from 100 to 600000, got "50"'],
    [{ DATABASE_URL: 'sqlite:' }, 'DATABASE_URL: "sqlite:" names no file'],
    [{ JWT_SECRET: 'short' }, 'JWT_SECRET: must be at least 32 bytes (HS256), got 5; generate one with `openssl rand -base64 32`'],
    [
      { ACCESS_TOKEN_EXPIRES: 'soon' },
      'ACCESS_TOKEN_EXPIRES: expected a positive duration in seconds or with a unit (s, m, h, d, w), such as 900 or 15m; got "soon"',
    ],
    [
      { ACCESS_TOKEN_EXPIRES: '0' },
      'ACCESS_TOKEN_EXPIRES: expected a positive duration in seconds or with a unit (s, m, h, d, w), such as 900 or 15m; got "0"',
    ],
    [
      { REFRESH_TOKEN_EXPIRES: '-1' },
      'REFRESH_TOKEN_EXPIRES: expected a positive duration in seconds or with a unit (s, m, h, d, w), such as 900 or 15m; got "-1"',
    ],
    [
      { REFRESH_REUSE_INTERVAL: 'ten' },
      'REFRESH_REUSE_INTERVAL: expected a duration in seconds or with a unit (s, m, h, d, w), such as 900 or 15m; got "ten"',
    ],
    [
      { REFRESH_REUSE_INTERVAL: '1h' },
      'REFRESH_REUSE_INTERVAL: at most 300 seconds (it is a grace period for concurrent refreshes), got "1h"',
    ],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent; got "loud"'],
    [{ ARGON2_MEMORY_COST: '4' }, 'ARGON2_MEMORY_COST: expected an integer from 8 to 4194304, got "4"'],
    [{ ARGON2_TIME_COST: '0' }, 'ARGON2_TIME_COST: expected an integer from 1 to 100, got "0"'],
    [{ ARGON2_PARALLELISM: '0' }, 'ARGON2_PARALLELISM: expected an integer from 1 to 255, got "0"'],
    [
      { NODE_ENV: 'production', JWT_ALGORITHM: 'HS256' },
      'JWT_SECRET: required when NODE_ENV=production (a generated secret would be lost with the data dir); generate one with `openssl rand -base64 32`',
    ],
  ]
  for (const [env, message] of cases) assert.deepEqual(problems(env), [message], JSON.stringify(env))
  assert.equal(problems({ PORT: 'x', LOG_LEVEL: 'y', ACCESS_TOKEN_EXPIRES: 'z' }).length, 3, 'every problem at once')
  assert.doesNotThrow(() => loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'p'.repeat(32) }))
})

test('without JWT_SECRET a 256-bit secret is generated into the data dir with mode 0600 and reused', (t) => {
  const dir = tempDir(t)
  const config = loadConfig({ DATABASE_URL: join(dir, 'sub', 'keycard.db'), JWT_ALGORITHM: 'HS256' })
  const first = resolveJwtSecret(config)
  assert.equal(first.source, 'generated')
  const file = join(dir, 'sub', 'jwt-secret')
  assert.equal(first.path, file)
  assert.equal(statSync(file).mode & 0o777, 0o600)
  assert.equal(Buffer.from(first.secret, 'base64url').length, 32)
  const second = resolveJwtSecret(config)
  assert.deepEqual([second.source, second.secret], ['file', first.secret])
  writeFileSync(file, 'too short')
  assert.throws(() => resolveJwtSecret(config), /the secret kept in .*jwt-secret is shorter than 32 bytes/)
})

test('the server warns when it generates the secret, never logs it, and tokens survive a restart', async (t) => {
  const dir = tempDir(t)
  const first = await startServer(t, { JWT_SECRET: undefined, JWT_ALGORITHM: 'HS256' }, { dir })
  const warning = first.logLines().find((l) => l.level === 40)
  assert.equal(warning?.msg, 'JWT_SECRET is not set: generated a new secret and saved it (mode 0600); set JWT_SECRET in production')
  assert.equal(warning?.path, join(dir, 'jwt-secret'))
  const secret = readFileSync(join(dir, 'jwt-secret'), 'utf8').trim()
  assert.ok(!first.logText().includes(secret))
  const { access_token } = await first.register('alice')
  await first.close()
  const second = await startServer(t, { JWT_SECRET: undefined }, { dir })
  assert.ok(!second.logLines().some((l) => l.level === 40), `no second warning: ${second.logText()}`)
  assert.equal((await second.api('GET', '/auth/me', { token: access_token })).status, 200)
})

test('NODE_ENV=production without JWT_SECRET refuses to start and writes no secret', (t) => {
  const dir = tempDir(t)
  assert.throws(() => loadConfig({ NODE_ENV: 'production', DATABASE_URL: join(dir, 'k.db') }), ConfigError)
  assert.equal(existsSync(join(dir, 'jwt-secret')), false)
})
