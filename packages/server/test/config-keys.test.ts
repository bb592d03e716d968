/**
 * The keyring's configuration: which signing mode is active and why (JWT_ALGORITHM, JWT_SECRET, an
 * existing installation's jwt-secret file), KEYS_SECRET and its generated file, KEY_ROTATION_INTERVAL,
 * JWKS_MAX_AGE and ISSUER, each bad value's message.
 */

import assert from 'node:assert/strict'
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { describeSigning, ENV_VARS, loadConfig, loadKeysSecret, resolveJwtSecret } from '../src/config.ts'
import { tempDir } from './helpers.ts'
import { configProblems } from './helpers.ts'

const SECRET = 's'.repeat(32)
const PG = 'postgres://u:p@db/keycard'

test('a new installation signs ES256 with the keyring; JWT_SECRET or an existing jwt-secret file keeps HS256', (t) => {
  const fresh = loadConfig({ INIT_CWD: '/srv/app' })
  assert.deepEqual(fresh.signing, { mode: 'keyring', algorithm: 'ES256', source: 'default' })
  assert.ok(Object.isFrozen(fresh.signing))
  assert.deepEqual(loadConfig({ JWT_SECRET: SECRET }).signing, { mode: 'hmac', algorithm: 'HS256', source: 'JWT_SECRET' })
  const dir = tempDir(t)
  const url = join(dir, 'keycard.db')
  assert.equal(loadConfig({ DATABASE_URL: url }).signing.mode, 'keyring')
  writeFileSync(join(dir, 'jwt-secret'), `${'x'.repeat(43)}\n`)
  assert.deepEqual(loadConfig({ DATABASE_URL: url }).signing, { mode: 'hmac', algorithm: 'HS256', source: 'jwt-secret file' })
  // Asked for explicitly, the keyring wins over the old file.
  assert.deepEqual(loadConfig({ DATABASE_URL: url, JWT_ALGORITHM: 'ES256' }).signing, {
    mode: 'keyring',
    algorithm: 'ES256',
    source: 'JWT_ALGORITHM',
  })
})

test('JWT_ALGORITHM takes each algorithm in any case; anything else, or JWT_SECRET beside an asymmetric one, is refused', () => {
  for (const [raw, algorithm] of [
    ['ES256', 'ES256'],
    ['eddsa', 'EdDSA'],
    ['RS256', 'RS256'],
    [' PS256 ', 'PS256'],
  ] as const)
    assert.deepEqual(loadConfig({ JWT_ALGORITHM: raw }).signing, { mode: 'keyring', algorithm, source: 'JWT_ALGORITHM' })
  assert.deepEqual(loadConfig({ JWT_ALGORITHM: 'hs256', JWT_SECRET: SECRET }).signing, {
    mode: 'hmac',
    algorithm: 'HS256',
    source: 'JWT_ALGORITHM',
  })
  assert.deepEqual(configProblems({ JWT_ALGORITHM: 'ES512' }), [
    'JWT_ALGORITHM: expected one of ES256, EdDSA, RS256, PS256, HS256; got "ES512"',
  ])
  assert.deepEqual(configProblems({ JWT_ALGORITHM: 'none' }), [
    'JWT_ALGORITHM: expected one of ES256, EdDSA, RS256, PS256, HS256; got "none"',
  ])
  // A typo is one problem, not also those of a mode nobody asked for.
  assert.deepEqual(configProblems({ JWT_ALGORITHM: 'ES-256', NODE_ENV: 'production', KEYS_SECRET: SECRET, ISSUER: 'https://a.example' }), [
    'JWT_ALGORITHM: expected one of ES256, EdDSA, RS256, PS256, HS256; got "ES-256"',
  ])
  assert.deepEqual(configProblems({ JWT_ALGORITHM: 'EdDSA', JWT_SECRET: SECRET }), [
    "JWT_SECRET: set, but JWT_ALGORITHM=EdDSA signs with the keyring's key pairs, not a shared secret; unset JWT_SECRET to use the keyring, or unset JWT_ALGORITHM (or set it to HS256) to keep signing with JWT_SECRET",
  ])
})

test('KEYS_SECRET: at least 32 bytes; required in production and with PostgreSQL, where JWT_SECRET no longer is', () => {
  assert.deepEqual(configProblems({ KEYS_SECRET: 'short' }), [
    'KEYS_SECRET: must be at least 32 bytes, got 5; generate one with `openssl rand -base64 32`',
  ])
  assert.deepEqual(configProblems({ DATABASE_URL: PG }), [
    "KEYS_SECRET: required with a PostgreSQL DATABASE_URL (every instance must decrypt the same signing keys, and a generated secret would live in one machine's data dir); generate one with `openssl rand -base64 32`",
  ])
  const pg = loadConfig({ DATABASE_URL: PG, KEYS_SECRET: SECRET })
  assert.deepEqual([pg.signing.mode, pg.keysSecret, pg.jwtSecret], ['keyring', SECRET, undefined])
  // HS256 on PostgreSQL still needs JWT_SECRET, as before; KEYS_SECRET is not read in HMAC mode.
  assert.match(configProblems({ DATABASE_URL: PG, JWT_ALGORITHM: 'HS256' })[0]!, /^JWT_SECRET: required with a PostgreSQL DATABASE_URL/)
  assert.equal(loadConfig({ JWT_SECRET: SECRET, KEYS_SECRET: 'short' }).keysSecret, undefined)
  assert.deepEqual(configProblems({ NODE_ENV: 'production' }), [
    'KEYS_SECRET: required when NODE_ENV=production (it encrypts the signing keys in the database; a generated one would be lost with the data dir); generate one with `openssl rand -base64 32`',
    "ISSUER: required in keyring mode when NODE_ENV=production (every token carries it as `iss` and resource servers check it); set the server's public URL, such as https://auth.example.com",
  ])
  const production = loadConfig({ NODE_ENV: 'production', KEYS_SECRET: SECRET, ISSUER: 'https://auth.example.com/' })
  assert.deepEqual([production.signing.mode, production.issuer], ['keyring', 'https://auth.example.com'])
  // HS256 in production needs no ISSUER: its tokens carry none.
  assert.doesNotThrow(() => loadConfig({ NODE_ENV: 'production', JWT_SECRET: SECRET }))
})

test('KEY_ROTATION_INTERVAL (90 days) and JWKS_MAX_AGE (600 s): durations; the interval must outlast two cache lifetimes', () => {
  const defaults = loadConfig({})
  assert.deepEqual([defaults.keyRotationInterval, defaults.jwksMaxAge, defaults.keyPublishLead], [90 * 86400, 600, 1200])
  const set = loadConfig({ KEY_ROTATION_INTERVAL: '30d', JWKS_MAX_AGE: '5m' })
  assert.deepEqual([set.keyRotationInterval, set.jwksMaxAge, set.keyPublishLead], [30 * 86400, 300, 600])
  assert.deepEqual([loadConfig({ KEY_ROTATION_INTERVAL: '3', JWKS_MAX_AGE: '1' }).keyPublishLead], [2])
  assert.deepEqual(configProblems({ KEY_ROTATION_INTERVAL: '20m' }), [
    'KEY_ROTATION_INTERVAL: must be longer than two JWKS cache lifetimes (2 × JWKS_MAX_AGE = 1200s: a new key is published that long before it signs); got "20m"',
  ])
  assert.deepEqual(configProblems({ JWKS_MAX_AGE: '60d' }), [
    'JWKS_MAX_AGE: at most 7 days (a new key waits two of these before it signs, and a retired key stays cached that long by verifiers that ignore retirement), got "60d"',
  ])
  assert.deepEqual(configProblems({ JWKS_MAX_AGE: '0' }), [
    'JWKS_MAX_AGE: expected a positive duration in seconds or with a unit (s, m, h, d, w), such as 900 or 15m; got "0"',
  ])
  assert.deepEqual(configProblems({ KEY_ROTATION_INTERVAL: 'quarterly' }), [
    'KEY_ROTATION_INTERVAL: expected a positive duration in seconds or with a unit (s, m, h, d, w), such as 900 or 15m; got "quarterly"',
  ])
})

test('ISSUER: the server address by default; a given URL loses its trailing slash; a query, fragment or password is refused', () => {
  const issuer = (env: Record<string, string>) => loadConfig(env).issuer
  assert.equal(issuer({}), 'http://localhost:3000')
  assert.equal(issuer({ HOST: '0.0.0.0', PORT: '8080' }), 'http://localhost:8080')
  assert.equal(issuer({ HOST: '::' }), 'http://localhost:3000')
  assert.equal(issuer({ HOST: '::1' }), 'http://localhost:3000')
  assert.equal(issuer({ HOST: 'auth.internal' }), 'http://auth.internal:3000')
  assert.equal(issuer({ HOST: '10.0.0.5', PORT: '80' }), 'http://10.0.0.5:80')
  assert.equal(issuer({ HOST: 'fd00::1' }), 'http://[fd00::1]:3000')
  assert.equal(issuer({ ISSUER: 'https://auth.example.com/' }), 'https://auth.example.com')
  assert.equal(issuer({ ISSUER: 'https://example.com/auth//' }), 'https://example.com/auth')
  assert.equal(issuer({ ISSUER: 'HTTPS://Auth.Example.com:8443' }), 'https://auth.example.com:8443')
  assert.deepEqual(configProblems({ ISSUER: 'auth.example.com' }), [
    'ISSUER: expected an http or https URL such as https://auth.example.com, got "auth.example.com"',
  ])
  assert.deepEqual(configProblems({ ISSUER: 'ftp://auth.example.com' }), [
    'ISSUER: must be an http or https URL, such as https://auth.example.com; got "ftp://auth.example.com"',
  ])
  assert.deepEqual(configProblems({ ISSUER: 'https://auth.example.com/?x=1' }), [
    'ISSUER: must not have a query string or a fragment, such as https://auth.example.com; got "https://auth.example.com/?x=1"',
  ])
  assert.deepEqual(configProblems({ ISSUER: 'https://auth.example.com/#top' }), [
    'ISSUER: must not have a query string or a fragment, such as https://auth.example.com; got "https://auth.example.com/#top"',
  ])
  const withPassword = configProblems({ ISSUER: 'https://admin:hunter2@auth.example.com' })
  assert.deepEqual(withPassword, [
    'ISSUER: must not hold a user name or password (it is published in every token), such as https://auth.example.com',
  ])
})

test('loadKeysSecret: KEYS_SECRET, else a 256-bit secret generated into the data dir (0600) and reused', (t) => {
  const dir = tempDir(t)
  const config = loadConfig({ DATABASE_URL: join(dir, 'sub', 'keycard.db') })
  const first = loadKeysSecret(config)
  const file = join(dir, 'sub', 'keys-secret')
  assert.deepEqual([first.source, first.path], ['generated', file])
  assert.equal(statSync(file).mode & 0o777, 0o600)
  assert.equal(statSync(join(dir, 'sub')).mode & 0o777, 0o700)
  assert.equal(Buffer.from(first.secret, 'base64url').length, 32)
  assert.equal(readFileSync(file, 'utf8'), `${first.secret}\n`)
  const second = loadKeysSecret(config)
  assert.deepEqual([second.source, second.secret], ['file', first.secret])
  // No jwt-secret appears beside it: the next start is still a keyring start.
  assert.equal(existsSync(join(dir, 'sub', 'jwt-secret')), false)
  assert.equal(loadConfig({ DATABASE_URL: join(dir, 'sub', 'keycard.db') }).signing.mode, 'keyring')
  writeFileSync(file, 'too short\n')
  assert.throws(() => loadKeysSecret(config), /KEYS_SECRET: the secret kept in .*keys-secret is shorter than 32 bytes; delete the file/)
  assert.deepEqual(loadKeysSecret(loadConfig({ KEYS_SECRET: SECRET })), { secret: SECRET, source: 'env' })
})

test('each mode refuses the other mode’s secret loader', () => {
  assert.throws(() => loadKeysSecret(loadConfig({ JWT_SECRET: SECRET })), /KEYS_SECRET: not used in HMAC mode/)
  assert.throws(() => resolveJwtSecret(loadConfig({ KEYS_SECRET: SECRET })), /JWT_SECRET: not used in keyring mode \(JWT_ALGORITHM=ES256\)/)
})

test('describeSigning says which mode is active, why, and how to switch, with no secret', () => {
  assert.equal(
    describeSigning(loadConfig({ KEYS_SECRET: SECRET })),
    "signing ES256 tokens with the keyring's keys (the default for a new installation); public keys at /.well-known/jwks.json",
  )
  assert.equal(
    describeSigning(loadConfig({ JWT_ALGORITHM: 'RS256' })),
    "signing RS256 tokens with the keyring's keys (JWT_ALGORITHM); public keys at /.well-known/jwks.json",
  )
  const hmac = describeSigning(loadConfig({ JWT_SECRET: SECRET }))
  assert.match(hmac, /^signing HS256 tokens with JWT_SECRET; to switch to asymmetric keys .* unset JWT_SECRET and set JWT_ALGORITHM=ES256$/)
  assert.ok(!hmac.includes(SECRET))
  assert.match(
    describeSigning({ signing: { mode: 'hmac', algorithm: 'HS256', source: 'jwt-secret file' } }),
    /an existing installation keeps HS256/,
  )
})

test('ENV_VARS lists the keyring variables', () => {
  for (const name of ['JWT_ALGORITHM', 'KEYS_SECRET', 'KEY_ROTATION_INTERVAL', 'JWKS_MAX_AGE', 'ISSUER'])
    assert.ok((ENV_VARS as readonly string[]).includes(name), name)
})
