/** The result of `npm run bench -- --keys` and its markdown (bench/results/keys.md, bench/README.md). */

import type { Mode } from '../contenders.ts'
import type { LoadConfig } from '../output.ts'
import { fmtInt, fmtRatio, fmtSpread, markdownTable, spread, type Spread } from '../lib.ts'
import { httpRowCells, type RowResult } from '../run.ts'
import { keysMicroTable, type KeysMicroResult } from './micro.ts'

export interface KeysResult {
  schema: 1
  date: string
  smoke: boolean
  machine: { nproc: number; cpuModel: string; node: string; platform: string; loadavg: string; loadavgAfter?: string }
  config: LoadConfig
  /** The local JWKS server: keys published, their algorithm, its Cache-Control max-age, GETs it answered in the whole run. */
  jwks: { keys: number; algorithm: 'ES256'; maxAge: number; fetches: number }
  skipped: { id: string; reason: string }[]
  /** One row per contender and mode; `ratio` is to bare Fastify for keycard, to keycard for the peers. */
  http: RowResult[]
  /** keycard's req/s ÷ the peer's (and the peer's CPU per request ÷ keycard's), per round, same mode. */
  comparisons: { peer: string; label: string; mode: Mode; rps: Spread; cpu: Spread }[]
  /** The status each verifier answered to a token signed by a key the JWKS never published (preflight). */
  refusals: { id: string; label: string; status: number }[]
  micro: KeysMicroResult | null
}

/** Server CPU seconds ÷ wall seconds per round, median (min–max): how much of a core the server got. */
function coresUsed(r: RowResult): string {
  const used = r.rounds.filter((x) => x.serverCpuSeconds !== undefined && x.seconds > 0).map((x) => x.serverCpuSeconds! / x.seconds)
  return used.length === r.rounds.length ? fmtSpread(spread(used), (n) => n.toFixed(2)) : 'n/a'
}

/**
 * The markdown of one run: resource servers, keycard vs each peer, the in-process table.
 *
 * @example
 * writeFileSync('keys.md', renderKeys(result))
 */
export function renderKeys(result: KeysResult): string {
  const c = result.config
  const m = result.machine
  const lines: string[] = []
  lines.push(
    `Run ${result.date}${result.smoke ? ' (smoke: not a measurement)' : ''} on ${m.cpuModel}, ${m.nproc} CPUs, Node ${m.node}; ` +
      `load average ${m.loadavg} before${m.loadavgAfter ? `, ${m.loadavgAfter} after` : ''}.`,
  )
  lines.push('')
  lines.push(
    `Resource servers: ${c.servers === 'tsx' ? 'TypeScript under tsx' : 'bundled (bench/build.ts)'}, ` +
      `${c.pinned ? `pinned to CPU ${c.serverCpu}, load generator (${c.loadgen}) to CPU ${c.loadCpu}` : `NOT pinned, ${c.loadgen}`}; ` +
      `${c.connections} connections, ${c.rounds} interleaved round(s) of ${c.duration} s after ${c.warmup} s warm-up; ` +
      `fresh pool of ${fmtInt(c.pool)} tokens. Every server verifies the same ES256 tokens (FJE claim layout, \`kid\` in the header, ` +
      `\`iss\` the JWKS server's origin, issuer checked) against a local JWKS server (node:http, ${result.jwks.keys} ${result.jwks.algorithm} keys, ` +
      `\`Cache-Control: public, max-age=${result.jwks.maxAge}\`, ETag), which answered ${fmtInt(result.jwks.fetches)} GET(s) in the whole run ` +
      '(preflights included: each server is first sent a token, no token, and a token of an unpublished key). ' +
      'Ratios are per round, same mode; keycard\'s "Ratio" is to bare Fastify, the peers\' to keycard. ' +
      '"Server cores used" is the server\'s CPU seconds (all threads) over the round\'s wall seconds: below 1, the server was not ' +
      'saturated (the load generator, or other processes on a busy machine, held it back) and its req/s says less than its CPU per request.',
  )
  lines.push('')
  lines.push(
    markdownTable(
      [
        'Resource server',
        'Token',
        'req/s',
        'p50 ms',
        'p99 ms',
        'Ratio (req/s)',
        'Server CPU µs/req',
        'Ratio (CPU)',
        'Server cores used',
        'All 2xx',
      ],
      result.http.map((r) => [...httpRowCells(r), coresUsed(r), r.allOk ? 'yes' : 'NO']),
      2,
    ),
  )
  if (result.comparisons.length) {
    lines.push('')
    lines.push(
      markdownTable(
        ['keycard({ jwks }) vs', 'Token', 'keycard req/s ÷ peer req/s', 'peer CPU/req ÷ keycard CPU/req'],
        result.comparisons.map((x) => [x.label, x.mode, fmtSpread(x.rps, fmtRatio), fmtSpread(x.cpu, fmtRatio)]),
        2,
      ),
    )
  }
  if (result.refusals.length) {
    lines.push('')
    lines.push(
      `A token signed by a key the JWKS never published (its kid unknown) was refused by every server: ${result.refusals.map((r) => `${r.id} ${r.status}`).join(', ')}.`,
    )
  }
  for (const s of result.skipped) lines.push('', `- Skipped **${s.id}**: ${s.reason}`)
  if (result.micro) {
    lines.push('')
    lines.push(
      `In process (one core, ${result.micro.rounds} interleaved round(s) of ${result.micro.msPerBatch} ms per case, pools of ${fmtInt(result.micro.pool)} tokens per algorithm; ` +
        '"× jose" is the case\'s ops/s ÷ jose\'s in the same round, above 1 is faster than jose):',
    )
    lines.push('')
    lines.push(keysMicroTable(result.micro))
    for (const s of result.micro.skipped) lines.push('', `- Not measured: **${s.id}**: ${s.reason}`)
  }
  return `${lines.join('\n')}\n`
}
