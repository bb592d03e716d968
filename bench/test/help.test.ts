/** `npm run bench -- --help` prints the usage from bench/run.ts's header and exits 0, without running anything. */

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'

test('bench --help prints the usage and every flag, and exits 0', () => {
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--help'], { encoding: 'utf8', timeout: 60_000 })
  assert.equal(run.status, 0, run.stderr)
  assert.match(run.stdout, /^`npm run bench`: starts every contender/)
  for (const flag of ['--smoke', '--rounds', '--no-micro', '--micro-ms', '--list', '--help']) assert.ok(run.stdout.includes(flag), flag)
  assert.doesNotMatch(run.stdout, /^\s*\*/m, 'comment markers are stripped')
  assert.doesNotMatch(run.stdout, /bench: /, 'nothing ran')
})

test('bench --keys --help prints the issue-14 bench usage and its flags, and exits 0', () => {
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--keys', '--help'], { encoding: 'utf8', timeout: 60_000 })
  assert.equal(run.status, 0, run.stderr)
  assert.match(run.stdout, /^`npm run bench -- --keys`: asymmetric keys and JWKS/)
  for (const flag of ['--smoke', '--rounds', '--no-micro', '--micro-ms', '--micro-pool', '--pool', '--help'])
    assert.ok(run.stdout.includes(flag), flag)
  assert.doesNotMatch(run.stdout, /^\s*\*/m, 'comment markers are stripped')
  assert.doesNotMatch(run.stdout, /bench:keys: /, 'nothing ran')
})

test('bench --help names --keys', () => {
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--help'], { encoding: 'utf8', timeout: 60_000 })
  assert.equal(run.status, 0, run.stderr)
  assert.ok(run.stdout.includes('--keys'))
})
