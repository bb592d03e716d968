/** The scale bench's result (bench/results/scale.json) and its markdown (scale.md, bench/README.md's "Scale" table). */

import { fmtInt, fmtMs, fmtRatio, fmtSpread, markdownTable, type Spread } from '../lib.ts'
import type { DatabaseKind } from './databases.ts'
import type { Layout } from './layout.ts'
import type { DatabaseResult } from './steps.ts'

export interface ScaleResult {
  schema: 1
  date: string
  /** `--small`: a check of the bench, not a measurement. */
  small: boolean
  machine: { nproc: number; cpuModel: string; node: string; loadavg: string; loadavgAfter?: string }
  config: {
    layout: Layout
    expired: number
    loadgen: 'wrk' | 'autocannon'
    pinned: boolean
    rounds: number
    duration: number
    warmup: number
    connections: number
    pool: number
    steps: string[]
  }
  databases: DatabaseResult[]
  skipped: { database: DatabaseKind; reason: string }[]
}

const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`
const mb = (n: number) => (Number.isFinite(n) ? n.toFixed(0) : 'n/a')
const met = (ok: boolean) => (ok ? 'met' : 'MISSED')

interface TargetRow {
  database: string
  target: string
  measured: string
  met: string
}

/**
 * @example
 * process.stdout.write(renderScale(result))
 */
export function renderScale(result: ScaleResult): string {
  const c = result.config
  const m = result.machine
  const lines: string[] = []
  const targets: TargetRow[] = []
  lines.push(
    `Run ${result.date}${result.small ? ' (--small: a check of the bench, not a measurement)' : ''} on ${m.cpuModel}, ${m.nproc} CPUs, Node ${m.node}; ` +
      `load average ${m.loadavg} before, ${m.loadavgAfter ?? 'n/a'} after. ` +
      `Data set: ${fmtInt(c.layout.users)} users, ${fmtInt(c.layout.sessions)} sessions, ${fmtInt(c.layout.revoked)} of them revoked but unexpired. ` +
      `Servers bundled (bench/build.ts) ${c.pinned ? 'and pinned to CPU 0, load generator to CPU 1' : 'and NOT pinned'}; ` +
      `${c.loadgen}, ${c.connections} connections, ${c.rounds} interleaved round(s) of ${c.duration} s after ${c.warmup} s warm-up, fresh pool of ${fmtInt(c.pool)} tokens (one per seeded session).`,
  )
  for (const s of result.skipped) lines.push('', `- Skipped **${s.database}**: ${s.reason}`)

  for (const d of result.databases) {
    lines.push('', `#### ${d.label}`, '')
    const seed = d.seed
    lines.push(
      `Seeded in ${sec(seed.totalMs)} (migrations ${sec(seed.migrateMs)}, one argon2id hash ${fmtMs(seed.hashMs)} ms, users ${sec(seed.usersMs)}, ` +
        `sessions ${sec(seed.sessionsMs)}, ${d.kind === 'sqlite' ? 'WAL checkpoint' : 'VACUUM ANALYZE'} ${sec(seed.finishMs)}); read back: ` +
        `${fmtInt(seed.counts.users)} users, ${fmtInt(seed.counts.sessions)} sessions, ${fmtInt(seed.counts.revokedLive)} revoked and unexpired. ${d.describe}.`,
    )
    if (d.startup) {
      const row = (name: string, s: NonNullable<DatabaseResult['startup']>['seeded']) => [
        name,
        fmtSpread(s.wallMs, fmtInt),
        fmtSpread(s.readyMs, fmtInt),
        fmtSpread(s.buildAppMs, fmtInt),
        fmtSpread(s.rssMb, mb),
        fmtSpread(s.peakRssMb, mb),
      ]
      lines.push(
        '',
        markdownTable(
          ['Start-up', 'spawn → listening ms', 'process start → listening ms', 'of which buildApp ms', 'RSS MB after start', 'peak RSS MB'],
          [row('seeded', d.startup.seeded), row('empty', d.startup.empty)],
        ),
      )
      targets.push({
        database: d.label,
        target: 'Start-up ≤ 3 s (spawn → listening, seeded)',
        measured: fmtSpread(d.startup.seeded.wallMs, sec),
        met: met(d.startup.seeded.wallMs.median <= 3000),
      })
      targets.push({
        database: d.label,
        target: 'Server RSS ≤ 300 MB after start (seeded)',
        measured: `${fmtSpread(d.startup.seeded.rssMb, mb)} MB`,
        met: met(d.startup.seeded.rssMb.median <= 300),
      })
    }
    if (d.throughput) {
      const rows = d.throughput.map((r) => [
        r.label,
        r.mode,
        fmtSpread(r.rps, fmtInt),
        fmtSpread(r.p99Ms, fmtMs),
        r.cpuUsPerRequest ? fmtSpread(r.cpuUsPerRequest, fmtMs) : 'n/a',
        r.ratios['fastify-bare'] ? fmtSpread(r.ratios['fastify-bare'], fmtRatio) : '—',
        r.id.endsWith('-seeded') && r.ratios[`${d.kind}-empty`] ? fmtSpread(r.ratios[`${d.kind}-empty`]!, fmtRatio) : '—',
        mb(r.rssAfterMb),
        r.allOk ? 'yes' : 'NO',
      ])
      lines.push(
        '',
        markdownTable(
          [
            'GET /auth/verify',
            'Token',
            'req/s',
            'p99 ms',
            'Server CPU µs/req',
            'vs bare Fastify',
            'seeded vs empty',
            'RSS MB after',
            'All 2xx',
          ],
          rows,
          2,
        ),
      )
      for (const mode of ['repeated', 'fresh'] as const) {
        const seeded = d.throughput.find((r) => r.id === `${d.kind}-seeded` && r.mode === mode)
        const ratio = seeded?.ratios[`${d.kind}-empty`]
        if (ratio)
          targets.push({
            database: d.label,
            target: `/auth/verify seeded ≥ 0.95× empty (${mode} token)`,
            measured: fmtSpread(ratio, fmtRatio),
            met: met(ratio.median >= 0.95),
          })
      }
      const bare = d.throughput.find((r) => r.id === `${d.kind}-seeded` && r.mode === 'repeated')?.ratios['fastify-bare']
      if (bare)
        targets.push({
          database: d.label,
          target: '/auth/verify (seeded, repeated token) ≥ 0.7× bare Fastify',
          measured: fmtSpread(bare, fmtRatio),
          met: met(bare.median >= 0.7),
        })
    }
    if (d.purge) {
      const p = d.purge
      lines.push(
        '',
        markdownTable(
          ['Purge', 'rows', 'event-loop delay p99 ms', 'max ms', 'probe p50 ms', 'probe p99 ms', 'probe max ms'],
          [
            ['idle window before', '—', fmtMs(p.idleEld.p99), fmtMs(p.idleEld.max), '—', '—', '—'],
            [
              'window with the purge',
              fmtInt(p.rows),
              fmtMs(p.purgeEld.p99),
              fmtMs(p.purgeEld.max),
              fmtMs(p.probe.p50),
              fmtMs(p.probe.p99),
              fmtMs(p.probe.max),
            ],
          ],
        ),
        '',
        `The ${fmtInt(p.rows)} expired sessions were inserted (${sec(p.insertMs)}) before the server started, to expire while it ran; its purge timer (1 s here, an hour by default) deleted them. The server's poll for other processes' revocations runs at its default meanwhile (the idle window shows what it costs). ` +
          `Event-loop delay from monitorEventLoopDelay at 1 ms resolution inside the server; the probe is ${fmtInt(p.probe.count)} sequential GET /auth/verify from the bench during the purge window.`,
      )
      targets.push({
        database: d.label,
        target: 'Purge never blocks the event loop > 50 ms',
        measured: `max ${fmtMs(p.purgeEld.max)} ms (${fmtInt(p.rows)} rows)`,
        met: met(p.purgeEld.max <= 50),
      })
    }
    if (d.paging) {
      lines.push(
        '',
        markdownTable(
          ['GET /admin/users', 'status', 'p50 ms', 'p90 ms'],
          d.paging.map((r) => [r.query, String(r.status), fmtMs(r.p50), fmtMs(r.p90)]),
        ),
      )
      const first = d.paging[0]
      const last = d.paging[d.paging.length - 1]
      if (first && last && first !== last)
        targets.push({
          database: d.label,
          target: '/admin/users: deep page costs about what the first does (keyset)',
          measured: `${fmtRatio(last.p50 / first.p50)} the first page's p50 (${last.query})`,
          met: met(last.p50 <= first.p50 * 2),
        })
    }
    if (d.propagation) {
      const p = d.propagation
      lines.push(
        '',
        markdownTable(
          ['Revocation A → B', 'revocations', 'p50 ms', 'p99 ms', 'max ms', 'polls of B (median)', 'load on B req/s', 'load all 2xx'],
          [
            [
              'from A acknowledging the logout',
              fmtInt(p.revocations),
              fmtMs(p.fromAck.p50),
              fmtMs(p.fromAck.p99),
              fmtMs(p.fromAck.max),
              fmtInt(p.pollsMedian),
              fmtInt(p.loadRps),
              p.loadAllOk ? 'yes' : 'NO',
            ],
            [
              'from sending the logout',
              fmtInt(p.revocations),
              fmtMs(p.fromSend.p50),
              fmtMs(p.fromSend.p99),
              fmtMs(p.fromSend.max),
              '',
              '',
              '',
            ],
          ],
        ),
      )
      targets.push({
        database: d.label,
        target: 'Revocation enforced on another instance within 1 s (p99)',
        measured: `${fmtMs(p.fromSend.p99)} ms`,
        met: met(p.fromSend.p99 <= 1000),
      })
    }
    for (const note of d.notes) lines.push('', `- ${note}`)
  }
  if (targets.length) {
    lines.push(
      '',
      markdownTable(
        ['Database', 'Target', 'Measured', 'Met'],
        targets.map((t) => [t.database, t.target, t.measured, result.small ? '— (--small)' : t.met]),
        2,
      ),
    )
  }
  return `${lines.join('\n')}\n`
}

export type { Spread }
