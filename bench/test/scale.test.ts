// Runs the scale bench at 1/100 of its size (`--small`: 10 000 users, 20 000 sessions, 5 000 revoked;
// one short round) on SQLite, and on PostgreSQL when its binaries are installed, and checks what it
// seeded and that every measurement produced its figures. No timing assertions (CI machines are noisy):
// this keeps the bench from rotting and checks that the seeders write the layout they describe.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { isRevokedSession, liveSessions, sessionId, userOfSession } from '../scale/layout.ts'
import type { ScaleResult } from '../scale/report.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))

test('the layout: exactly `revoked` sessions revoked, spread evenly; live pools of each parity are disjoint', () => {
  const layout = { users: 7, sessions: 40, revoked: 10 }
  const revoked = Array.from({ length: 40 }, (_, i) => i + 1).filter((j) => isRevokedSession(layout, j))
  assert.equal(revoked.length, 10)
  assert.deepEqual(revoked, [4, 8, 12, 16, 20, 24, 28, 32, 36, 40])
  assert.equal(userOfSession(layout, 8), 1)
  assert.equal(sessionId(255), '000000ff-0000-4000-8000-0000000000ff')
  const even = liveSessions(layout, 5, 0)
  const odd = liveSessions(layout, 5, 1)
  assert.equal(new Set([...even, ...odd]).size, 10)
  for (const j of [...even, ...odd]) assert.ok(j >= 2 && !isRevokedSession(layout, j), `session ${j}`)
  assert.throws(() => liveSessions(layout, 100, 0), /fewer than 100 live sessions/)
})

test('bench:scale --small: seeds the layout and measures every step', { timeout: 300_000 }, () => {
  const out = mkdtempSync(join(tmpdir(), 'keycard-scale-test-'))
  try {
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'bench/scale.ts', '--small', '--loadgen', 'autocannon', '--revocations', '3', '--out', out],
      {
        cwd: root,
        encoding: 'utf8',
        timeout: 290_000,
      },
    )
    assert.equal(run.status, 0, `bench:scale --small failed:\n${run.stderr}\n${run.stdout}`)
    const result = JSON.parse(readFileSync(join(out, 'scale.json'), 'utf8')) as ScaleResult
    assert.equal(result.small, true)
    assert.deepEqual(result.config.layout, { users: 10_000, sessions: 20_000, revoked: 5_000 })
    const kinds = [...result.databases.map((d) => d.kind), ...result.skipped.map((s) => s.database)]
    assert.deepEqual(kinds.sort(), ['postgres', 'sqlite'], 'each database ran or was reported as skipped')
    assert.ok(
      result.databases.some((d) => d.kind === 'sqlite'),
      `SQLite must always run: ${JSON.stringify(result.skipped)}`,
    )
    for (const d of result.databases) {
      assert.deepEqual(d.seed.counts, { users: 10_000, sessions: 20_000, revokedLive: 5_000 }, `${d.kind}: rows read back`)
      assert.ok(d.startup && d.startup.seeded.wallMs.median > 0 && d.startup.seeded.rssMb.median > 0, `${d.kind}: start-up`)
      assert.equal(d.throughput?.length, 6, `${d.kind}: bare, empty, seeded × repeated, fresh`)
      for (const row of d.throughput ?? []) assert.ok(row.allOk && row.rps.median > 0, `${d.kind} ${row.id}/${row.mode}: all 2xx`)
      assert.equal(d.purge?.rows, 5_000, `${d.kind}: the purge deleted the expired rows`)
      assert.ok(d.purge.purgeEld.max > 0 && d.purge.probe.count > 0, `${d.kind}: purge figures`)
      assert.deepEqual(
        d.paging?.map((p) => p.status),
        [200, 200, 200],
        `${d.kind}: /admin/users as the seeded admin`,
      )
      if (d.kind === 'postgres') assert.ok(d.propagation && d.propagation.revocations > 0 && d.propagation.loadAllOk, 'propagation')
    }
    const markdown = readFileSync(join(out, 'scale.md'), 'utf8')
    assert.match(markdown, /\| Database \| Target \| Measured \| Met \|/)
  } finally {
    rmSync(out, { recursive: true, force: true })
  }
})
