// Runs `npm run bench -- --keys --smoke` (one round of 1 s, autocannon) and checks that every resource
// server ran in both modes with only 2xx answers, that keycard's row and its ratios to each peer are
// there, that every verifier refused a token of an unpublished key, and that the in-process part
// measured keycard (cold and cache hit, `keys` and `jwks`) next to jose for ES256 and EdDSA. No timing
// assertions: this keeps the bench from rotting. The flag parser's checks are tested without a run.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseKeysFlags } from '../keys/flags.ts'
import { JWKS_PEERS, KEYCARD_JWKS } from '../keys/contenders.ts'
import type { KeysResult } from '../keys/report.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))

test('--keys flags: smoke defaults, overrides, and clear errors', () => {
  const smoke = parseKeysFlags(['--smoke', '--rounds', '2'])
  assert.equal(smoke.duration, 1)
  assert.equal(smoke.rounds, 2)
  assert.equal(smoke.readme, false)
  assert.equal(parseKeysFlags([]).pool, 100_000)
  assert.throws(() => parseKeysFlags(['--rounds', '0']), /--rounds expects an integer ≥ 1/)
  assert.throws(() => parseKeysFlags(['--modes', 'cold']), /--modes: unknown mode cold/)
  assert.throws(() => parseKeysFlags(['--contenders', 'x']), /unknown flag --contenders/)
  assert.throws(() => parseKeysFlags(['--duration']), /--duration needs a value/)
})

test('bench --keys --smoke: every resource server answers 2xx, keycard is compared to each peer, in process too', {
  timeout: 240_000,
}, () => {
  const out = mkdtempSync(join(tmpdir(), 'keycard-bench-keys-test-'))
  try {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--keys', '--smoke', '--out', out], {
      cwd: root,
      encoding: 'utf8',
      timeout: 230_000,
    })
    assert.equal(run.status, 0, `bench --keys --smoke failed:\n${run.stderr}\n${run.stdout}`)
    const result = JSON.parse(readFileSync(join(out, 'keys.json'), 'utf8')) as KeysResult
    assert.equal(result.schema, 1)
    assert.equal(result.smoke, true)
    assert.deepEqual(result.skipped, [], 'no resource server was skipped')
    const ids = result.http.map((r) => `${r.contender}/${r.mode}`)
    for (const id of ['fastify-bare', KEYCARD_JWKS, ...JWKS_PEERS])
      for (const mode of ['repeated', 'fresh']) assert.ok(ids.includes(`${id}/${mode}`), `missing ${id}/${mode}`)
    for (const row of result.http) {
      const name = `${row.contender}/${row.mode}`
      assert.equal(row.allOk, true, `${name}: not every response was 2xx`)
      assert.ok(row.rps.median > 0, `${name}: zero throughput`)
      if (row.contender !== 'fastify-bare') assert.ok(row.ratio && row.ratio.median > 0, `${name}: ratio`)
    }
    assert.equal(result.comparisons.length, JWKS_PEERS.length * 2, 'keycard ÷ each peer, both modes')
    for (const c of result.comparisons) assert.ok(c.rps.median > 0, `${c.peer}/${c.mode}: comparison`)
    assert.deepEqual(result.refusals.map((r) => r.id).sort(), [KEYCARD_JWKS, ...JWKS_PEERS].sort())
    for (const r of result.refusals) assert.ok(r.status >= 400, `${r.id} refused the unpublished key's token with ${r.status}`)
    assert.ok(result.jwks.fetches >= JWKS_PEERS.length + 1, 'every server fetched the key set')

    assert.ok(result.micro, 'in-process part missing')
    assert.deepEqual(result.micro.skipped, [], 'every in-process case was built')
    const cases = result.micro.cases.map((c) => c.id)
    for (const alg of ['ES256', 'EdDSA'])
      for (const id of [
        'floor',
        'keycard-keys-cold',
        'keycard-keys-hit',
        'keycard-jwks-cold',
        'keycard-jwks-hit',
        'jose-key',
        'jose-local-jwks',
      ])
        assert.ok(cases.includes(`${alg}-${id}`), `micro case ${alg}-${id}`)
    for (const c of result.micro.cases) assert.ok(c.opsPerSec.median > 0 && c.vsJoseKey.median > 0, `micro ${c.id}`)

    const markdown = readFileSync(join(out, 'keys.md'), 'utf8')
    assert.match(markdown, /\| Resource server \| Token \| req\/s \|/)
    assert.match(markdown, /\| keycard\(\{ jwks \}\) vs \| Token \|/)
    assert.match(markdown, /\| Alg \| Case \| ops\/s median/)
  } finally {
    rmSync(out, { recursive: true, force: true })
  }
})
