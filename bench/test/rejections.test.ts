// Runs `npm run bench -- --rejections --smoke` (one round of 1 s per server and input, autocannon) and
// checks that both servers answered every input as expected (accepted tokens 2xx, every rejected input
// a 4xx and never a 2xx) and that each rejected row has its cost next to the accepted cold one. No
// timing is asserted: smoke figures are not measurements.

import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import type { RejectionsResult } from '../rejections.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))
const INPUTS = ['accepted-cold', 'garbage', 'bad-signature', 'expired', 'adversarial-commas', 'adversarial-spaces', 'adversarial-bearer']

test('bench --rejections --help prints its usage and exits 0 without running', () => {
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--rejections', '--help'], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
  })
  assert.equal(run.status, 0, run.stderr)
  assert.match(run.stdout, /^`npm run bench -- --rejections`: what a rejected request costs/)
  for (const flag of ['--smoke', '--rounds', '--duration', '--pool', '--help']) assert.ok(run.stdout.includes(flag), flag)
  assert.doesNotMatch(run.stderr, /bench: /, 'nothing ran')
})

test('bench --rejections --smoke: both servers answer every input as expected, each refusal next to the accepted cold cost', {
  timeout: 240_000,
}, () => {
  const out = mkdtempSync(join(tmpdir(), 'keycard-bench-rejections-test-'))
  try {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--rejections', '--smoke', '--out', out], {
      cwd: root,
      encoding: 'utf8',
      timeout: 230_000,
    })
    assert.equal(run.status, 0, `bench --rejections --smoke failed:\n${run.stderr}\n${run.stdout}`)
    const result = JSON.parse(readFileSync(join(out, 'rejections.json'), 'utf8')) as RejectionsResult
    assert.equal(result.schema, 1)
    assert.equal(result.smoke, true)
    assert.deepEqual(result.skipped, [], 'no server was skipped')
    for (const server of ['Fastify 5 + keycard', 'Keycard server GET /auth/verify']) {
      const rows = result.rows.filter((r) => r.server === server)
      assert.deepEqual(
        rows.map((r) => r.input),
        INPUTS,
        `${server}: every input`,
      )
      for (const row of rows) {
        assert.equal(row.answersAsExpected, true, `${server} ${row.input}: unexpected answers`)
        assert.ok(row.rps.median > 0, `${server} ${row.input}: zero throughput`)
        if (row.input === 'accepted-cold') assert.equal(row.costVsAccepted, null)
        else assert.ok(row.costVsAccepted && row.costVsAccepted.median > 0, `${server} ${row.input}: no cost ratio`)
      }
    }
    const markdown = readFileSync(join(out, 'rejections.md'), 'utf8')
    assert.match(markdown, /\| Server \| Input \| req\/s \| Server CPU µs\/req \| CPU ÷ accepted cold \|/)
  } finally {
    rmSync(out, { recursive: true, force: true })
  }
})
