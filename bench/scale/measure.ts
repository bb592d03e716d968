/**
 * The scale bench's measurements, each on servers it starts itself (bench/scale/server-entry.ts,
 * bundled, pinned to the server CPU like every bench server): start-up and RSS, `/auth/verify`
 * throughput (interleaved rounds, ratios per round), the purge's event-loop stall, `/admin/users`
 * paging and revocation propagation between two instances.
 */

import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Contender, Mode } from '../contenders.ts'
import { roundRatios, spread, type Spread } from '../lib.ts'
import type { LoadSpec } from '../loadgen/spec.ts'
import { cpuSeconds, eventLoopDelay, runLoad, startServer, stopServer, type Launch, type RunningServer } from '../run.ts'
import { bearer, timed } from './tokens.ts'

export const SERVER_ENTRY = fileURLToPath(new URL('./server-entry.ts', import.meta.url))
/** How long a server on the seeded database may take to listen before the step fails (the target is 3 s). */
export const START_TIMEOUT_MS = 180_000

export const BARE_ENTRY = fileURLToPath(new URL('../servers/fastify-bare.ts', import.meta.url))

/** Where servers and the load generator run, and with what. */
export interface Rig {
  launch: Launch
  serverCpu: number | undefined
  loadCpu: number | undefined
  loadgen: 'wrk' | 'autocannon'
  tmp: string
  log: (msg: string) => void
}

/** A Keycard server on `databaseUrl` as a contender (only its env and label differ between them). */
export function keycardContender(id: string, label: string, env: Record<string, string>): Contender {
  return { id, label, script: SERVER_ENTRY, env, modes: ['repeated', 'fresh'], auth: true, method: 'GET', path: '/auth/verify' }
}

export const BARE: Contender = {
  id: 'fastify-bare',
  label: 'Fastify 5, no auth (ceiling)',
  script: BARE_ENTRY,
  modes: ['repeated', 'fresh'],
  auth: false,
  method: 'GET',
  path: '/me',
}

/** VmRSS and VmHWM (peak) of a process, in MB, from /proc. */
export function memoryMb(pid: number | undefined): { rss: number; peak: number } {
  const status = pid === undefined ? '' : readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN)
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 }
}

/** The `STARTUP {…}` line of server-entry.ts. */
function startupLine(server: RunningServer): { readyMs: number; buildAppMs: number } {
  const line = server.lines.find((l) => l.startsWith('STARTUP '))
  if (!line) throw new Error(`${server.contender.id}: no STARTUP line (is it bench/scale/server-entry.ts?)`)
  return JSON.parse(line.slice('STARTUP '.length))
}

export interface StartupResult {
  /** Spawn to the `listening` line, as the bench saw it (node's own start included). */
  wallMs: Spread
  /** Process start to listening, from inside (performance.now()). */
  readyMs: Spread
  /** Of which buildApp: migrations check, revocation view, admins, start-up purge, routes. */
  buildAppMs: Spread
  rssMb: Spread
  peakRssMb: Spread
}

/** Starts and stops `contender` `runs` times; each start is measured. */
export async function measureStartup(rig: Rig, contender: Contender, runs: number): Promise<StartupResult> {
  const wall: number[] = []
  const ready: number[] = []
  const build: number[] = []
  const rss: number[] = []
  const peak: number[] = []
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now()
    const server = await startServer(contender, rig.serverCpu, rig.launch, START_TIMEOUT_MS)
    wall.push(performance.now() - t0)
    try {
      const s = startupLine(server)
      ready.push(s.readyMs)
      build.push(s.buildAppMs)
      const m = memoryMb(server.child.pid)
      rss.push(m.rss)
      peak.push(m.peak)
    } finally {
      await stopServer(server)
    }
  }
  return { wallMs: spread(wall), readyMs: spread(ready), buildAppMs: spread(build), rssMb: spread(rss), peakRssMb: spread(peak) }
}

/** One throughput contender with what its requests carry. */
export interface LoadTarget {
  contender: Contender
  /** Repeated mode's token (none for the bare ceiling). */
  token?: string
  /** Fresh mode's pool, one token a line. */
  tokenFile: string
  baseline?: string
}

export interface ThroughputRow {
  id: string
  label: string
  mode: Mode
  rps: Spread
  p99Ms: Spread
  cpuUsPerRequest: Spread | null
  /** Per round, against each named row of the same mode and round. */
  ratios: Record<string, Spread>
  allOk: boolean
  /** RSS after every round had run (MB). */
  rssAfterMb: number
}

/**
 * Interleaved rounds (A B C … A B C …) of every target in every mode, after a warm-up; each row gets
 * its ratio per round to every other row of the same mode, so the caller picks the pairs it reports.
 */
export async function measureThroughput(
  rig: Rig,
  targets: readonly LoadTarget[],
  options: { modes: readonly Mode[]; rounds: number; duration: number; warmup: number; connections: number },
): Promise<ThroughputRow[]> {
  const servers: RunningServer[] = []
  try {
    for (const t of targets) servers.push(await startServer(t.contender, rig.serverCpu, rig.launch, START_TIMEOUT_MS))
    const spec = (i: number, mode: Mode, duration: number): LoadSpec => {
      const t = targets[i]!
      const s: LoadSpec = { url: servers[i]!.url, path: t.contender.path, method: 'GET', duration, connections: options.connections }
      if (mode === 'fresh') s.tokenFile = t.tokenFile
      else if (t.token) s.token = t.token
      return s
    }
    const plan = options.modes.flatMap((mode) => targets.map((_, i) => ({ i, mode })))
    if (options.warmup > 0) for (const p of plan) await runLoad(rig.loadgen, spec(p.i, p.mode, options.warmup), rig.loadCpu, rig.tmp)
    const results = new Map<string, { rps: number; p99: number; cpu?: number; ok: boolean }[]>()
    for (let round = 0; round < options.rounds; round++) {
      for (const p of plan) {
        const key = `${targets[p.i]!.contender.id}/${p.mode}`
        rig.log(`throughput round ${round + 1}/${options.rounds} ${key}`)
        const pid = servers[p.i]!.child.pid
        const before = cpuSeconds(pid)
        const r = await runLoad(rig.loadgen, spec(p.i, p.mode, options.duration), rig.loadCpu, rig.tmp)
        const after = cpuSeconds(pid)
        const cpu = before !== undefined && after !== undefined && r.requests > 0 ? ((after - before) * 1e6) / r.requests : undefined
        const ok = r.non2xx === 0 && r.errors === 0 && r.requests > 0
        results.set(key, [...(results.get(key) ?? []), { rps: r.rps, p99: r.latencyMs.p99, ok, ...(cpu !== undefined ? { cpu } : {}) }])
      }
    }
    const rows: ThroughputRow[] = []
    for (const mode of options.modes) {
      targets.forEach((t, i) => {
        const rs = results.get(`${t.contender.id}/${mode}`)!
        const ratios: Record<string, Spread> = {}
        for (const other of targets) {
          if (other === t) continue
          const os = results.get(`${other.contender.id}/${mode}`)!
          ratios[other.contender.id] = roundRatios(
            rs.map((r) => r.rps),
            os.map((r) => r.rps),
          )
        }
        rows.push({
          id: t.contender.id,
          label: t.contender.label,
          mode,
          rps: spread(rs.map((r) => r.rps)),
          p99Ms: spread(rs.map((r) => r.p99)),
          cpuUsPerRequest: rs.every((r) => r.cpu !== undefined) ? spread(rs.map((r) => r.cpu!)) : null,
          ratios,
          allOk: rs.every((r) => r.ok),
          rssAfterMb: memoryMb(servers[i]!.child.pid).rss,
        })
      })
    }
    return rows
  } finally {
    await Promise.all(servers.map(stopServer))
  }
}

/** Latencies (ms) of `count` sequential GETs. */
async function sequentialMs(url: string, headers: Record<string, string>, count: number): Promise<{ ms: number[]; statuses: Set<number> }> {
  const ms: number[] = []
  const statuses = new Set<number>()
  for (let i = 0; i < count; i++) {
    const r = await timed(url, { headers })
    ms.push(r.ms)
    statuses.add(r.status)
  }
  return { ms, statuses }
}

/** The q-quantile (0..1) of `values`. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!
}

export interface PurgeResult {
  /** Rows the purge reported deleting. */
  rows: number
  /** The server's event-loop delay (1 ms resolution) over a window as long, before the purge (the sync poll included). */
  idleEld: { p99: number; max: number }
  /** The same over the window in which the purge ran. */
  purgeEld: { p99: number; max: number }
  /** Sequential `/auth/verify` probes during the purge window: how long a client waited at worst. */
  probe: { count: number; p50: number; p99: number; max: number }
}

/**
 * Waits for the server's own log lines `purged expired sessions` (it runs at LOG_LEVEL=info) to add
 * up to `rows` rows, probing `/auth/verify` back to back meanwhile, then reads the event-loop delay
 * histogram of that window. `expiresAt` (epoch s) is when the rows inserted beforehand expire; the
 * window starts just before. The wait is bounded by `deadlineMs`.
 */
export async function measurePurge(
  server: RunningServer,
  options: { rows: number; expiresAt: number; token: string; deadlineMs: number },
): Promise<PurgeResult> {
  const url = `${server.url}/auth/verify`
  const headers = bearer(options.token)
  const deadline = performance.now() + options.deadlineMs
  // Idle window: from now until a second before the rows expire, then the purge window.
  await eventLoopDelay(server)
  while (Date.now() < options.expiresAt * 1000 - 1000) {
    if (performance.now() > deadline) throw new Error('purge: timed out before the rows expired')
    await sequentialMs(url, headers, 20)
  }
  const idle = await eventLoopDelay(server)
  const from = server.lines.length
  const probe: number[] = []
  let purged = 0
  while (purged < options.rows) {
    if (performance.now() > deadline)
      throw new Error(`purge: the "purged expired sessions" lines did not add up to ${options.rows} rows in time (${purged})`)
    const r = await sequentialMs(url, headers, 5)
    if (r.statuses.size !== 1 || !r.statuses.has(200)) throw new Error(`purge: probe got ${[...r.statuses].join(',')}`)
    probe.push(...r.ms)
    // A purge that outlasts the timer's interval overlaps the next one: each logs its own share.
    purged = 0
    for (const line of server.lines.slice(from)) {
      if (line.includes('purged expired sessions')) purged += Number((JSON.parse(line) as { rows?: number }).rows ?? 0)
    }
  }
  // A few more probes after the line: the stall may end after the log call (the commit, a checkpoint).
  probe.push(...(await sequentialMs(url, headers, 50)).ms)
  const during = await eventLoopDelay(server)
  if (!idle || !during) throw new Error('purge: the server did not answer SIGUSR2 with its ELD line')
  return {
    rows: purged,
    idleEld: { p99: idle.p99, max: idle.max },
    purgeEld: { p99: during.p99, max: during.max },
    probe: { count: probe.length, p50: quantile(probe, 0.5), p99: quantile(probe, 0.99), max: Math.max(...probe) },
  }
}

export interface PagingRow {
  /** What was asked, e.g. `offset=0` or `after=999950`. */
  query: string
  status: number
  p50: number
  p90: number
}

/** `count` sequential `GET /admin/users?<query>` per query (as the admin), latency per query. */
export async function measurePaging(url: string, adminToken: string, queries: readonly string[], count: number): Promise<PagingRow[]> {
  const rows: PagingRow[] = []
  for (const query of queries) {
    const r = await sequentialMs(`${url}/admin/users?${query}`, bearer(adminToken), count)
    if (r.statuses.size !== 1) throw new Error(`paging ${query}: mixed statuses ${[...r.statuses].join(',')}`)
    rows.push({ query, status: [...r.statuses][0]!, p50: quantile(r.ms, 0.5), p90: quantile(r.ms, 0.9) })
  }
  return rows
}
