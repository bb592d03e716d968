/** REVOCATION_MAX_STALENESS and REVOCATION_POLL_INTERVAL: checked once, with messages that say how to fix them; the intervals they give. */

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ConfigError, loadConfig } from '../src/config.ts'
import { pollIntervals } from '../src/services.ts'
import { TEST_SECRET } from './helpers.ts'

const PG = { DATABASE_URL: 'postgres://keycard:pw@127.0.0.1:5432/keycard', JWT_SECRET: TEST_SECRET }

function problems(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(env)
  } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
  return []
}

test('the defaults: a 5 s bound, a 1 s poll on SQLite; on PostgreSQL a 1 s heartbeat and a 5 s poll while listening', () => {
  const sqlite = loadConfig({ DATABASE_URL: ':memory:' })
  assert.equal(sqlite.revocationMaxStaleness, 5)
  assert.deepEqual(pollIntervals(sqlite), { pollMs: 1000, slowPollMs: 1000, heartbeatMs: 1000, marginSeconds: 7 })
  assert.deepEqual(pollIntervals(loadConfig(PG)), { pollMs: 1000, slowPollMs: 5000, heartbeatMs: 1000, marginSeconds: 12 })
  // A short bound polls and beats faster, five times within it.
  assert.deepEqual(pollIntervals(loadConfig({ ...PG, REVOCATION_MAX_STALENESS: '2s', REVOCATION_POLL_INTERVAL: '1m' })), {
    pollMs: 400,
    slowPollMs: 60_000,
    heartbeatMs: 400,
    marginSeconds: 12,
  })
})

test('bad values are refused with the variable, what it takes, and what it got', () => {
  assert.deepEqual(problems({ ...PG, REVOCATION_MAX_STALENESS: 'soon' }), [
    'REVOCATION_MAX_STALENESS: expected a positive duration in seconds or with a unit (s, m, h, d, w), such as 900 or 15m; got "soon"',
  ])
  assert.deepEqual(problems({ ...PG, REVOCATION_MAX_STALENESS: '0' }), [
    'REVOCATION_MAX_STALENESS: expected a positive duration in seconds or with a unit (s, m, h, d, w), such as 900 or 15m; got "0"',
  ])
  assert.deepEqual(problems({ ...PG, REVOCATION_MAX_STALENESS: '2h' }), [
    'REVOCATION_MAX_STALENESS: at most 3600 seconds (past it an instance refuses tokens until it has re-read the revocations; a longer bound lets a revoked token through for that long), got "2h"',
  ])
  assert.deepEqual(problems({ ...PG, REVOCATION_POLL_INTERVAL: '-1' }), [
    'REVOCATION_POLL_INTERVAL: expected a positive duration in seconds or with a unit (s, m, h, d, w), such as 900 or 15m; got "-1"',
  ])
})
