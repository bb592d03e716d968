// Runs the benchmark in --smoke mode (about 1 s per contender and mode, one round, autocannon, so
// nothing beyond npm dependencies is needed) and checks that every contender answered every request
// with 2xx and that the JSON output has its documented shape. No timing or performance assertions:
// CI machines are noisy and this only keeps the bench from rotting.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { CORE_CONTENDERS } from '../contenders.ts'
import { SERVER_CONTENDER_IDS } from '../server-contenders.ts'
import type { BenchResult } from '../run.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))

test('bench --smoke: every contender answers 2xx and the JSON has the expected shape', { timeout: 150_000 }, () => {
  const out = mkdtempSync(join(tmpdir(), 'keycard-bench-smoke-'))
  try {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--smoke', '--out', out], {
      cwd: root,
      encoding: 'utf8',
      timeout: 140_000,
    })
    assert.equal(run.status, 0, `bench --smoke failed:\n${run.stderr}\n${run.stdout}`)

    const result = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')) as BenchResult
    assert.equal(result.schema, 1)
    assert.equal(result.smoke, true)
    assert.ok(result.machine.nproc >= 1 && result.machine.node.startsWith('v'))
    assert.ok(['wrk', 'autocannon'].includes(result.config.loadgen))
    assert.deepEqual(result.config.modes, ['repeated', 'fresh'])
    // The servers ran as plain JavaScript (bench/build.ts), not under the tsx loader.
    assert.equal(result.config.servers, 'bundled')

    // Contenders 1–6 always run, in both modes; 7–9 run once the server exists, else they are listed as skipped.
    const ids = result.http.map((r) => `${r.contender}/${r.mode}`)
    for (const c of CORE_CONTENDERS) {
      for (const mode of ['repeated', 'fresh']) assert.ok(ids.includes(`${c.id}/${mode}`), `missing ${c.id}/${mode}`)
    }
    for (const id of SERVER_CONTENDER_IDS) {
      const ran = result.http.some((r) => r.contender === id)
      const skipped = result.skipped.some((s) => s.id === id && s.reason.length > 0)
      assert.ok(ran || skipped, `${id} neither ran nor was reported as skipped`)
    }

    for (const row of result.http) {
      const name = `${row.contender}/${row.mode}`
      assert.equal(row.rounds.length, result.config.rounds, name)
      for (const r of row.rounds) {
        assert.ok(r.requests > 0 && r.rps > 0, `${name}: no throughput`)
        assert.equal(r.non2xx, 0, `${name}: ${r.non2xx} non-2xx responses`)
        assert.equal(r.errors, 0, `${name}: ${r.errors} socket errors`)
        assert.equal(r.ok2xx, r.requests, `${name}: not every response was 2xx`)
        for (const p of ['p50', 'p90', 'p99', 'max'] as const) assert.equal(typeof r.latencyMs[p], 'number', `${name}: latency ${p}`)
      }
      assert.equal(row.allOk, true, name)
      for (const s of [row.rps, row.p50Ms, row.p99Ms]) {
        assert.ok(s.min <= s.median && s.median <= s.max, `${name}: spread out of order`)
      }
      assert.ok(row.rps.median > 0, `${name}: zero throughput`)
      if (row.baseline !== null) assert.ok(row.ratio !== null && row.ratio.median > 0, `${name}: ratio`)
    }

    assert.ok(result.micro, 'micro-benchmark missing')
    const cases = result.micro.cases.map((c) => c.id)
    for (const id of ['floor', 'keycard-cold', 'keycard-hit', 'jose', 'adversarial-commas', 'adversarial-spaces', 'adversarial-bearer'])
      assert.ok(cases.includes(id), `micro case ${id}`)
    for (const c of result.micro.cases) assert.ok(c.opsPerSec.median > 0, `micro ${c.id}: zero ops/s`)

    assert.ok(result.targets.length >= 8)
    for (const t of result.targets) {
      assert.equal(typeof t.name, 'string')
      assert.ok(t.op === '>=' || t.op === '<=')
      assert.ok(t.met === null || typeof t.met === 'boolean')
    }

    const markdown = readFileSync(join(out, 'latest.md'), 'utf8')
    assert.match(markdown, /\| Contender \| Token \| req\/s \| p50 ms \| p99 ms \| Ratio \(req\/s\) \|/)
    assert.match(markdown, /\| Target \| Measured \(req\/s\) \|/)
  } finally {
    rmSync(out, { recursive: true, force: true })
  }
})
