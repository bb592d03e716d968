/**
 * `npm run bench:scale`: the Keycard server on a large database (issue 13, "Scale on one machine").
 * Seeds 1 000 000 users and 2 000 000 sessions, 500 000 of them revoked but unexpired, into a database
 * made by the server's own migrations, then measures on each database (SQLite, PostgreSQL):
 * start-up to listening with the revocation view loaded and the RSS after it (seeded vs empty),
 * `GET /auth/verify` throughput on the seeded vs the empty database and bare Fastify (interleaved
 * rounds, ratios per round), the purge of many expired sessions (the server's event-loop delay and a
 * client's wait meanwhile), `/admin/users` paging at the first vs deep pages, and (PostgreSQL)
 * revocation propagation between two instances under load. Writes bench/results/scale.{json,md} and
 * the "Scale" table of bench/README.md.
 *
 *   npm run bench:scale                              # the full run (SQLite and PostgreSQL)
 *   npm run bench:scale -- --small                   # 1/100 of the data set, short rounds (checks the bench, not a measurement)
 *   npm run bench:scale -- --db sqlite --steps startup,throughput
 *
 * Flags: --db sqlite,postgres --steps seed,startup,throughput,purge,paging,propagation --users <n> --sessions <n>
 *        --revoked <n> --expired <n> --small --rounds <n> --duration <s> --warmup <s> --connections <n>
 *        --pool <n> --startup-runs <n> --revocations <n> --loadgen wrk|autocannon --no-pin --out <dir> --no-readme --help
 */

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { headerUsage } from './args.ts'
import { BENCH_SECRET, mintTokens } from './lib.ts'
import { loadavg, writeResult } from './output.ts'
import { cpuModel, has, launcher, nproc } from './run.ts'
import { FULL_LAYOUT, liveSessions, type Layout } from './scale/layout.ts'
import { parseScaleFlags, STEPS } from './scale/flags.ts'
import { runOnDatabase, type DatabaseResult } from './scale/steps.ts'
import { openDatabases } from './scale/open.ts'
import { renderScale, type ScaleResult } from './scale/report.ts'
import { BARE, keycardContender, SERVER_ENTRY, type Rig } from './scale/measure.ts'

const BENCH_DIR = dirname(fileURLToPath(import.meta.url))

export async function main(argv: readonly string[]): Promise<ScaleResult> {
  const flags = parseScaleFlags(argv)
  const log = (msg: string) => process.stderr.write(`bench:scale: ${msg}\n`)
  const layout: Layout = flags.layout
  const loadgen = flags.loadgen ?? (has('wrk') ? 'wrk' : 'autocannon')
  if (loadgen === 'wrk' && !has('wrk')) throw new Error('wrk is not installed (apt-get install -y wrk), or pass --loadgen autocannon')
  const cores = nproc()
  const pin = flags.pin && has('taskset') && cores >= 2
  if (flags.pin && !pin) log(`not pinning (taskset ${has('taskset') ? 'found' : 'missing'}, ${cores} CPUs)`)

  const tmp = mkdtempSync(join(tmpdir(), 'keycard-scale-'))
  const result: ScaleResult = {
    schema: 1,
    date: new Date().toISOString(),
    small: flags.small,
    machine: { nproc: cores, cpuModel: cpuModel(), node: process.version, loadavg: loadavg() },
    config: {
      layout,
      expired: flags.expired,
      loadgen,
      pinned: pin,
      rounds: flags.rounds,
      duration: flags.duration,
      warmup: flags.warmup,
      connections: flags.connections,
      pool: flags.pool,
      steps: [...flags.steps],
    },
    databases: [],
    skipped: [],
  }
  const { databases, skipped } = await openDatabases(flags.databases, tmp, log)
  result.skipped.push(...skipped)
  try {
    log('bundling the servers (bench/build.ts)')
    const launch = await launcher([BARE, keycardContender('x', 'x', {})], false)
    const rig: Rig = { launch, serverCpu: pin ? 0 : undefined, loadCpu: pin ? 1 : undefined, loadgen, tmp, log }
    // The bare ceiling's pool: tokens it ignores, of the same size as the servers'.
    const barePool = join(tmp, 'bare-pool.txt')
    writeFileSync(barePool, `${(await mintTokens(Math.min(flags.pool, 2000))).join('\n')}\n`)
    const poolSessions = liveSessions(layout, flags.pool, 0)
    for (const db of databases) {
      log(`--- ${db.label}`)
      try {
        const r: DatabaseResult = await runOnDatabase(db, { rig, flags, layout, poolSessions, barePool, secret: BENCH_SECRET })
        result.databases.push(r)
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err)
        log(`${db.label} failed: ${err instanceof Error ? err.stack : message}`)
        result.skipped.push({ database: db.kind, reason: message.split('\n')[0]! })
      }
    }
  } finally {
    for (const db of databases) await db.close().catch(() => undefined)
    rmSync(tmp, { recursive: true, force: true })
  }
  result.machine.loadavgAfter = loadavg()
  const markdown = renderScale(result)
  const outDir = flags.out ?? join(BENCH_DIR, 'results')
  writeResult({ outDir, name: 'scale', result, markdown, readme: flags.readme && flags.out === undefined && !flags.small, log })
  return result
}

/** `--help`: this file's header comment. */
function usage(): string {
  return headerUsage(import.meta.url)
}

export { FULL_LAYOUT, SERVER_ENTRY, STEPS }

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(usage())
    process.exit(0)
  }
  main(process.argv.slice(2)).then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err instanceof Error ? err.stack : err)
      process.exit(1)
    },
  )
}
