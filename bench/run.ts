/**
 * `npm run bench`: starts every contender as its own process on loopback (pinned to one core),
 * drives each with a load generator in another process (pinned to another core), interleaving the
 * contenders round by round (A B C A B C ...), and writes a markdown table and a JSON file with
 * requests/s, p50/p99 latency and ratios to the baseline measured in the same rounds (medians with
 * min–max). Runs the in-process micro-benchmark first (bench/run-micro.ts) unless --no-micro.
 *
 *   npm run bench                               # full run, writes bench/results/latest.{json,md} and bench/README.md's table
 *   npm run bench -- --smoke                    # ~1 s per contender and mode, 1 round (what CI runs)
 *   npm run bench -- --contenders fastify-bare,fastify-keycard --rounds 3 --duration 5
 *   npm run bench -- --keys                     # asymmetric keys and JWKS (issue 14) instead: bench/keys.ts, its flags in --keys --help
 *   npm run bench -- --rejections               # rejected vs accepted requests (issue 15) instead: bench/rejections.ts
 *
 * Servers run as plain JavaScript (`node <bundle>.mjs`, bundled by bench/build.ts first), as they would
 * in production; `--tsx` runs their TypeScript through `node --import tsx` instead (see build.ts for why
 * that is not the default).
 *
 * Flags: --duration <s> --rounds <n> --warmup <s> --connections <n> --contenders <ids> --modes repeated,fresh
 *        --loadgen wrk|autocannon|auto --pool <n> --no-pin --server-cpu <n> --load-cpu <n>
 *        --out <dir> --no-micro --micro-ms <ms> --no-readme --smoke --list --tsx --keys --rejections --help
 */

import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { headerUsage } from './args.ts'
import { forEachArg, loadFlagDefaults, readLoadFlag, type LoadFlags } from './args.ts'
import { bundleEntries } from './build.ts'
import { CORE_CONTENDERS, type Contender, type Mode } from './contenders.ts'
import type { LoadResult, LoadSpec } from './loadgen/spec.ts'
import {
  BENCH_SUBJECT,
  fmtInt,
  fmtMs,
  fmtRatio,
  fmtSpread,
  markdownTable,
  mintTokens,
  roundRatios,
  sleep,
  spread,
  type Spread,
} from './lib.ts'
import { loadConfig, type LoadConfig, writeResult } from './output.ts'
import { microTable, type MicroResult } from './run-micro.ts'
import { serverContenders, type ServerContenderSetup } from './server-contenders.ts'

const BENCH_DIR = dirname(fileURLToPath(import.meta.url))
const ROOT = dirname(BENCH_DIR)

// ---- flags ----------------------------------------------------------------------------------------

interface Flags extends LoadFlags {
  contenders: string[] | undefined
  list: boolean
}

function parseFlags(argv: readonly string[]): Flags {
  const flags: Flags = { ...loadFlagDefaults(argv), contenders: undefined, list: false }
  forEachArg(argv, (arg, read) => {
    if (readLoadFlag(flags, arg, read)) return
    switch (arg) {
      case '--contenders':
        flags.contenders = read.next().split(',').filter(Boolean)
        break
      case '--list':
        flags.list = true
        break
      default:
        throw new Error(`unknown flag ${arg}; see the header of bench/run.ts`)
    }
  })
  for (const mode of flags.modes) if (mode !== 'repeated' && mode !== 'fresh') throw new Error(`--modes: unknown mode ${mode}`)
  return flags
}

// ---- processes ------------------------------------------------------------------------------------

export function has(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0
}

/** `taskset -c <cpu> cmd...` when pinning, else `cmd...`. */
/**
 * Whether the server and the load generator can each have a core of their own as `flags` ask
 * (taskset present, two distinct CPUs that exist).
 *
 * @example
 * const serverCpu = canPin(flags) ? flags.serverCpu : undefined
 */
export function canPin(flags: { pin: boolean; serverCpu: number; loadCpu: number }): boolean {
  const cores = nproc()
  return flags.pin && has('taskset') && cores >= 2 && Math.max(flags.serverCpu, flags.loadCpu) < cores && flags.serverCpu !== flags.loadCpu
}

export function pinned(cpu: number | undefined, command: string, args: string[]): [string, string[]] {
  return cpu === undefined ? [command, args] : ['taskset', ['-c', String(cpu), command, ...args]]
}

export interface RunningServer {
  contender: Contender
  child: ChildProcess
  url: string
  /** Lines the server printed after it started (the event-loop-delay probe answers here). */
  lines: string[]
  stderr: string[]
}

const ELD_PROBE = join(BENCH_DIR, 'servers', 'eld-probe.ts')

/** Node's arguments to start a server entry: its bundle (plain node), or its source under tsx (`--tsx`). */
export type Launch = (script: string, eventLoopDelay: boolean) => string[]

export async function launcher(contenders: readonly Contender[], tsx: boolean): Promise<Launch> {
  if (tsx) return (script, eld) => ['--import', 'tsx', ...(eld ? ['--import', ELD_PROBE] : []), script]
  const bundles = await bundleEntries([ELD_PROBE, ...contenders.map((c) => c.script)])
  return (script, eld) => [...(eld ? ['--import', pathToFileURL(bundles.get(ELD_PROBE)!).href] : []), bundles.get(script)!]
}

/** `timeoutMs`: how long to wait for its `listening` line (the scale bench's servers load millions of rows first). */
export async function startServer(
  contender: Contender,
  cpu: number | undefined,
  launch: Launch,
  timeoutMs = 30_000,
): Promise<RunningServer> {
  const nodeArgs = launch(contender.script, contender.eventLoopDelay === true)
  const [command, args] = pinned(cpu, process.execPath, nodeArgs)
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', NODE_ENV: 'production', ...contender.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const lines: string[] = []
  const stderr: string[] = []
  let buffered = ''
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      // Not left running: nothing else holds its handle once this rejects.
      child.kill('SIGKILL')
      reject(new Error(`${contender.id} did not print "listening <url>" within ${timeoutMs / 1000} s; stderr:\n${stderr.join('')}`))
    }, timeoutMs)
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk
      for (let nl = buffered.indexOf('\n'); nl !== -1; nl = buffered.indexOf('\n')) {
        const line = buffered.slice(0, nl)
        buffered = buffered.slice(nl + 1)
        const match = /^listening (http:\/\/\S+)/.exec(line)
        if (match) {
          clearTimeout(timer)
          resolve(match[1]!.replace('localhost', '127.0.0.1'))
        } else lines.push(line)
      }
    })
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      stderr.push(chunk)
      if (stderr.length > 200) stderr.shift()
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`${contender.id} exited with ${code} before listening; stderr:\n${stderr.join('')}`))
    })
  })
  if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(url.replace(/\/$/, ''))) throw new Error(`${contender.id} listens on ${url}, not 127.0.0.1`)
  return { contender, child, url: url.replace(/\/$/, ''), lines, stderr }
}

export async function stopServer(server: RunningServer): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return
  const exited = new Promise((resolve) => server.child.once('exit', resolve))
  server.child.kill('SIGTERM')
  await Promise.race([exited, sleep(3000)])
  if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL')
}

/** CPU seconds (user + system, all threads) the process has used so far, from /proc; undefined elsewhere. */
export function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    // fields[0] is field 3 (state): utime is field 14, stime field 15; clock ticks are 100 Hz on Linux.
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return undefined
  }
}

/** Asks the eld probe for the delay histogram since the last ask (and resets it). */
export async function eventLoopDelay(server: RunningServer): Promise<{ p50: number; p99: number; max: number } | undefined> {
  const before = server.lines.length
  server.child.kill('SIGUSR2')
  for (let i = 0; i < 100; i++) {
    for (const line of server.lines.slice(before)) {
      if (line.startsWith('ELD ')) return JSON.parse(line.slice(4))
    }
    await sleep(20)
  }
  return undefined
}

function runProcess(command: string, args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c))
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.once('error', reject)
    child.once('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

// ---- load generators ------------------------------------------------------------------------------

export async function runLoad(tool: 'wrk' | 'autocannon', spec: LoadSpec, cpu: number | undefined, tmp: string): Promise<LoadResult> {
  const timeout = (spec.duration + 30) * 1000
  if (tool === 'autocannon') {
    const [command, args] = pinned(cpu, process.execPath, [
      '--import',
      'tsx',
      join(BENCH_DIR, 'loadgen', 'autocannon.ts'),
      JSON.stringify(spec),
    ])
    const out = await runProcess(command, args, timeout)
    const line = out.stdout.trim().split('\n').pop()
    if (out.code !== 0 || !line) throw new Error(`autocannon failed (${out.code}): ${out.stderr}`)
    return JSON.parse(line) as LoadResult
  }
  let bodyFile = '-'
  if (spec.body !== undefined) {
    bodyFile = join(tmp, 'body.json')
    writeFileSync(bodyFile, spec.body)
  }
  const wrkArgs = ['-t1', `-c${spec.connections}`, `-d${spec.duration}s`, '--timeout', '10s', '-s', join(BENCH_DIR, 'loadgen', 'wrk.lua')]
  if (!spec.tokenFile && spec.token) wrkArgs.push('-H', `Authorization: Bearer ${spec.token}`)
  if (spec.body !== undefined) wrkArgs.push('-H', 'Content-Type: application/json')
  wrkArgs.push(spec.url + spec.path, '--', spec.tokenFile ?? '-', bodyFile, spec.method)
  if (spec.rawAuthorization) wrkArgs.push('raw')
  const [command, args] = pinned(cpu, 'wrk', wrkArgs)
  const out = await runProcess(command, args, timeout)
  const line = out.stdout.split('\n').find((l) => l.startsWith('WRKJSON '))
  if (out.code !== 0 || !line) throw new Error(`wrk failed (${out.code}): ${out.stdout}\n${out.stderr}`)
  const r = JSON.parse(line.slice('WRKJSON '.length)) as {
    requests: number
    duration_us: number
    status_errors: number
    errors: number
    p50: number
    p90: number
    p99: number
    max: number
  }
  const seconds = r.duration_us / 1e6
  return {
    requests: r.requests,
    seconds,
    rps: r.requests / seconds,
    ok2xx: r.requests - r.status_errors,
    non2xx: r.status_errors,
    errors: r.errors,
    latencyMs: { p50: r.p50 / 1000, p90: r.p90 / 1000, p99: r.p99 / 1000, max: r.max / 1000 },
  }
}

// ---- preflight ------------------------------------------------------------------------------------

/** One request with the token and (for auth contenders) one without: proves the server does the work. */
async function preflight(
  server: RunningServer,
  token: string | undefined,
  extraHeaders: Record<string, string> = {},
): Promise<string | undefined> {
  const c = server.contender
  const init = (auth: boolean): RequestInit => ({
    method: c.method,
    headers: {
      ...(auth && token ? { authorization: `Bearer ${token}` } : {}),
      ...(c.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...extraHeaders,
    },
    ...(c.body !== undefined ? { body: c.body } : {}),
  })
  const res = await fetch(server.url + c.path, init(true))
  const text = await res.text()
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    body = text
  }
  const problem = c.expect
    ? c.expect(res.status, body)
    : res.status !== 200 || (body as { sub?: unknown }).sub !== BENCH_SUBJECT
      ? `expected 200 {"sub":"${BENCH_SUBJECT}"}, got ${res.status} ${text.slice(0, 200)}`
      : undefined
  if (problem) return problem
  if (c.auth && c.body === undefined && !c.chain) {
    const denied = await fetch(server.url + c.path, init(false))
    await denied.arrayBuffer()
    const want = c.unauthStatus ?? 401
    if (denied.status !== want) return `without a token expected ${want}, got ${denied.status}`
  }
  return undefined
}

// ---- results --------------------------------------------------------------------------------------

/** One measurement: the load generator's figures plus the server's CPU use during it. */
export interface RoundResult extends LoadResult {
  /** CPU seconds the server process used during the run (user + system, all threads; /proc, 10 ms ticks). */
  serverCpuSeconds?: number
  /** Server CPU microseconds per request: insensitive to other load on a shared machine. */
  serverCpuUsPerRequest?: number
}

export interface RowResult {
  contender: string
  label: string
  mode: Mode
  baseline: string | null
  rounds: RoundResult[]
  /** Server CPU µs per request, median with min–max (absent where /proc is unavailable). */
  cpuUsPerRequest: Spread | null
  /** Baseline's CPU per request ÷ this row's, per round: the throughput ratio a quiet, saturated core would show. */
  cpuRatio: Spread | null
  rps: Spread
  p50Ms: Spread
  p99Ms: Spread
  /** Ratio of requests/s to the baseline's, per round (same mode), as median with min–max. */
  ratio: Spread | null
  /** Every response of every round was 2xx and no socket errors. */
  allOk: boolean
  eventLoopDelayMs?: { p50: Spread; p99: Spread; max: Spread }
}

/**
 * One contender's row in one mode from its rounds and, where it has one, its baseline's rounds.
 *
 * @example
 * rowResult(contender, 'fresh', rounds, baselineRounds).ratio // { median: 0.93, min: 0.9, max: 0.95 }
 */
export function rowResult(c: Contender, mode: Mode, rs: RoundResult[], base: RoundResult[] | undefined): RowResult {
  const cpu = (r: RoundResult[]) => r.map((x) => x.serverCpuUsPerRequest ?? Number.NaN)
  const hasCpu = (r: RoundResult[]) => r.every((x) => x.serverCpuUsPerRequest)
  return {
    contender: c.id,
    label: c.label,
    mode,
    baseline: base ? c.baseline! : null,
    rounds: rs,
    rps: spread(rs.map((r) => r.rps)),
    p50Ms: spread(rs.map((r) => r.latencyMs.p50)),
    p99Ms: spread(rs.map((r) => r.latencyMs.p99)),
    ratio: base
      ? roundRatios(
          rs.map((r) => r.rps),
          base.map((r) => r.rps),
        )
      : null,
    cpuUsPerRequest: hasCpu(rs) ? spread(cpu(rs)) : null,
    cpuRatio: base && hasCpu(rs) && hasCpu(base) ? roundRatios(cpu(base), cpu(rs)) : null,
    allOk: rs.every((r) => r.non2xx === 0 && r.errors === 0 && r.requests > 0),
  }
}

export interface TargetResult {
  name: string
  /** The measured ratio (or value) as median with min–max. */
  value: Spread | null
  /** The same ratio from server CPU per request (see RowResult.cpuRatio), where it applies. */
  cpuValue?: Spread | null
  op: '>=' | '<='
  threshold: number
  met: boolean | null
  note?: string
}

export interface BenchResult {
  schema: 1
  date: string
  smoke: boolean
  machine: { nproc: number; cpuModel: string; node: string; platform: string }
  /** `servers` is absent in older results. */
  config: Omit<LoadConfig, 'servers'> & Partial<Pick<LoadConfig, 'servers'>>
  contenders: { id: string; label: string; baseline: string | null }[]
  skipped: { id: string; reason: string }[]
  http: RowResult[]
  micro: MicroResult | null
  targets: TargetResult[]
}

export function cpuModel(): string {
  const out = spawnSync('lscpu', [], { encoding: 'utf8' })
  const line = out.stdout?.split('\n').find((l) => l.startsWith('Model name:'))
  return line ? line.slice('Model name:'.length).trim() : (cpus()[0]?.model ?? 'unknown')
}

export function nproc(): number {
  const out = spawnSync('nproc', [], { encoding: 'utf8' })
  const n = Number(out.stdout?.trim())
  return Number.isInteger(n) && n > 0 ? n : cpus().length
}

function rowOf(result: BenchResult, contender: string, mode: Mode): RowResult | undefined {
  return result.http.find((r) => r.contender === contender && r.mode === mode)
}

function target(result: BenchResult, name: string, a: [string, Mode], b: [string, Mode], op: '>=' | '<=', threshold: number): TargetResult {
  const ra = rowOf(result, ...a)
  const rb = rowOf(result, ...b)
  if (!ra || !rb) return { name, value: null, op, threshold, met: null, note: 'not measured in this run' }
  const value = roundRatios(
    ra.rounds.map((r) => r.rps),
    rb.rounds.map((r) => r.rps),
  )
  const cpu = (rs: RoundResult[]) => rs.map((r) => r.serverCpuUsPerRequest ?? NaN)
  const cpuValue = ra.cpuUsPerRequest && rb.cpuUsPerRequest ? roundRatios(cpu(rb.rounds), cpu(ra.rounds)) : null
  return { name, value, cpuValue, op, threshold, met: op === '>=' ? value.median >= threshold : value.median <= threshold }
}

function computeTargets(result: BenchResult): TargetResult[] {
  const targets = [
    target(
      result,
      'Fastify + keycard, repeated token ≥ 0.8× bare Fastify',
      ['fastify-keycard', 'repeated'],
      ['fastify-bare', 'repeated'],
      '>=',
      0.8,
    ),
    target(
      result,
      'Fastify + keycard, fresh token ≥ 1.1× Fastify + @fastify/jwt',
      ['fastify-keycard', 'fresh'],
      ['fastify-jwt', 'fresh'],
      '>=',
      1.1,
    ),
    target(
      result,
      'Express + keycard, repeated token ≥ 0.85× bare Express',
      ['express-keycard', 'repeated'],
      ['express-bare', 'repeated'],
      '>=',
      0.85,
    ),
    target(
      result,
      'Express + keycard, fresh token ≥ 0.85× bare Express',
      ['express-keycard', 'fresh'],
      ['express-bare', 'fresh'],
      '>=',
      0.85,
    ),
    target(
      result,
      'Express + keycard, repeated token ≥ 3× express-jwt',
      ['express-keycard', 'repeated'],
      ['express-jwt', 'repeated'],
      '>=',
      3,
    ),
    target(result, 'Express + keycard, fresh token ≥ 3× express-jwt', ['express-keycard', 'fresh'], ['express-jwt', 'fresh'], '>=', 3),
    target(
      result,
      'Keycard server GET /auth/verify, repeated token ≥ 0.7× bare Fastify',
      ['server-verify', 'repeated'],
      ['fastify-bare', 'repeated'],
      '>=',
      0.7,
    ),
    target(
      result,
      'Keycard server GET /auth/verify on PostgreSQL, repeated token ≥ 0.7× bare Fastify',
      ['pg-verify', 'repeated'],
      ['fastify-bare', 'repeated'],
      '>=',
      0.7,
    ),
  ]
  const login = rowOf(result, 'server-login', 'repeated')
  if (login) {
    targets.push({
      name: 'Logins ≥ 100/s on one core (argon2id)',
      value: login.rps,
      op: '>=',
      threshold: 100,
      met: login.rps.median >= 100,
    })
    const eld = login.eventLoopDelayMs?.p99
    targets.push({
      name: 'Event-loop delay p99 during logins < 20 ms',
      value: eld ?? null,
      op: '<=',
      threshold: 20,
      met: eld ? eld.median < 20 : null,
    })
  } else {
    targets.push({
      name: 'Logins ≥ 100/s on one core (argon2id)',
      value: null,
      op: '>=',
      threshold: 100,
      met: null,
      note: 'not measured in this run',
    })
  }
  const micro = result.micro
  const cost = (id: string) => micro?.cases.find((c) => c.id === id)?.costVsFloor ?? null
  const microTarget = (name: string, id: string, threshold: number): TargetResult => {
    const value = cost(id)
    return value
      ? { name, value, op: '<=', threshold, met: value.median <= threshold }
      : { name, value: null, op: '<=', threshold, met: null, note: 'not measured in this run' }
  }
  targets.push(microTarget('In-process verify, cold ≤ 1.5× the floor', 'keycard-cold', 1.5))
  targets.push(microTarget('In-process verify, cache hit ≤ 0.5× the floor', 'keycard-hit', 0.5))
  return targets
}

/**
 * The cells an HTTP row's markdown starts with (contender to CPU ratio), in run.ts's and keys.ts's tables alike.
 *
 * @example
 * markdownTable(head, result.http.map((r) => [...httpRowCells(r), r.allOk ? 'yes' : 'NO']), 2)
 */
export function httpRowCells(r: RowResult): string[] {
  return [
    r.label,
    r.mode,
    fmtSpread(r.rps, fmtInt),
    fmtSpread(r.p50Ms, fmtMs),
    fmtSpread(r.p99Ms, fmtMs),
    r.ratio ? `${fmtSpread(r.ratio, fmtRatio)} of ${r.baseline}` : '—',
    r.cpuUsPerRequest ? fmtSpread(r.cpuUsPerRequest, fmtMs) : 'n/a',
    r.cpuRatio ? fmtSpread(r.cpuRatio, fmtRatio) : '—',
  ]
}

export function renderMarkdown(result: BenchResult): string {
  const c = result.config
  const m = result.machine
  const lines: string[] = []
  lines.push(`Run ${result.date}${result.smoke ? ' (smoke: not a measurement)' : ''} on ${m.cpuModel}, ${m.nproc} CPUs, Node ${m.node}.`)
  lines.push(
    `Load generator: ${c.loadgen}, ${c.connections} connections; ${c.pinned ? `server pinned to CPU ${c.serverCpu}, load generator to CPU ${c.loadCpu} (taskset)` : 'NOT pinned'}; ` +
      `${c.rounds} interleaved round(s) of ${c.duration} s per contender and mode after ${c.warmup} s warm-up; fresh-token pool of ${fmtInt(c.pool)} tokens. ` +
      (c.servers === 'tsx'
        ? 'Servers ran their TypeScript under `node --import tsx` (--tsx). '
        : c.servers === 'bundled'
          ? 'Servers ran as plain JavaScript bundled from their source (bench/build.ts), no loader. '
          : '') +
      'Figures are medians over rounds with (min–max); ratios are taken per round against the baseline measured in the same round. ' +
      '"Server CPU µs/req" is the server process\'s CPU time (all threads, /proc) over the requests it served; "Ratio (CPU)" is the baseline\'s CPU per request over this row\'s, the throughput ratio a quiet, saturated core would show. "Met" judges the req/s ratio.',
  )
  lines.push('')
  const rows = result.http.map((r) => [...httpRowCells(r), r.allOk ? 'yes' : 'NO'])
  lines.push(
    markdownTable(
      ['Contender', 'Token', 'req/s', 'p50 ms', 'p99 ms', 'Ratio (req/s)', 'Server CPU µs/req', 'Ratio (CPU)', 'All 2xx'],
      rows,
      2,
    ),
  )
  const eld = result.http.filter((r) => r.eventLoopDelayMs)
  if (eld.length) {
    lines.push('')
    lines.push(
      markdownTable(
        ['Contender', 'Event-loop delay p50 ms', 'p99 ms', 'max ms'],
        eld.map((r) => [
          r.label,
          fmtSpread(r.eventLoopDelayMs!.p50, fmtMs),
          fmtSpread(r.eventLoopDelayMs!.p99, fmtMs),
          fmtSpread(r.eventLoopDelayMs!.max, fmtMs),
        ]),
      ),
    )
  }
  if (result.skipped.length) {
    lines.push('')
    for (const s of result.skipped) lines.push(`- Skipped **${s.id}**: ${s.reason}`)
  }
  if (result.micro) {
    lines.push('')
    lines.push(`In-process (one core, ${result.micro.rounds} interleaved rounds of ${result.micro.msPerBatch} ms per case):`)
    lines.push('')
    lines.push(microTable(result.micro))
  }
  lines.push('')
  lines.push(
    markdownTable(
      ['Target', 'Measured (req/s)', 'Measured (CPU/req)', 'Met'],
      result.targets.map((t) => [
        t.name,
        t.value
          ? fmtSpread(t.value, t.name.startsWith('Logins') ? fmtInt : t.name.startsWith('Event-loop') ? fmtMs : fmtRatio)
          : (t.note ?? 'n/a'),
        t.cpuValue ? fmtSpread(t.cpuValue, fmtRatio) : '—',
        t.met === null ? '—' : t.met ? 'met' : 'MISSED',
      ]),
    ),
  )
  return `${lines.join('\n')}\n`
}

// ---- main -----------------------------------------------------------------------------------------

export async function main(argv: readonly string[]): Promise<BenchResult> {
  const flags = parseFlags(argv)
  const pin = canPin(flags)
  if (flags.pin && !pin) console.error(`bench: not pinning (taskset ${has('taskset') ? 'found' : 'missing'}, ${nproc()} CPUs)`)
  const serverCpu = pin ? flags.serverCpu : undefined
  const loadCpu = pin ? flags.loadCpu : undefined
  // --list starts no database server: the PostgreSQL rows are listed as started only when selected.
  const setup: ServerContenderSetup = await serverContenders({ pool: flags.pool, wanted: flags.list ? [] : flags.contenders, serverCpu })
  const all: Contender[] = [...CORE_CONTENDERS, ...setup.contenders]
  if (flags.list) {
    for (const c of all) console.log(`${c.id.padEnd(18)} ${c.label}`)
    for (const s of setup.skipped) console.log(`${s.id.padEnd(18)} (unavailable: ${s.reason})`)
    return undefined as never
  }
  const wanted = flags.contenders ?? all.map((c) => c.id)
  for (const id of wanted) {
    if (!all.some((c) => c.id === id) && !setup.skipped.some((s) => s.id === id))
      throw new Error(`unknown contender ${id}; --list shows them`)
  }
  const contenders = all.filter((c) => wanted.includes(c.id))
  const skipped: { id: string; reason: string }[] = setup.skipped.filter((s) => flags.contenders === undefined || wanted.includes(s.id))

  const loadgen = flags.loadgen === 'auto' ? (has('wrk') ? 'wrk' : 'autocannon') : flags.loadgen
  if (loadgen === 'wrk' && !has('wrk')) throw new Error('wrk is not installed (apt-get install -y wrk), or use --loadgen autocannon')

  const tmp = mkdtempSync(join(tmpdir(), 'keycard-bench-'))
  const outDir = flags.out ?? (flags.smoke ? tmp : join(BENCH_DIR, 'results'))
  const log = (msg: string) => process.stderr.write(`bench: ${msg}\n`)

  const result: BenchResult = {
    schema: 1,
    date: new Date().toISOString(),
    smoke: flags.smoke,
    machine: { nproc: nproc(), cpuModel: cpuModel(), node: process.version, platform: `${process.platform} ${process.arch}` },
    config: loadConfig(flags, { loadgen, pinned: pin, serverCpu, loadCpu }),
    contenders: contenders.map((c) => ({ id: c.id, label: c.label, baseline: c.baseline ?? null })),
    skipped: [...skipped],
    http: [],
    micro: null,
    targets: [],
  }

  // Micro-benchmark first, on a quiet machine, pinned to the server core.
  if (flags.micro) {
    log('micro-benchmark')
    const microArgs = [
      '--import',
      'tsx',
      join(BENCH_DIR, 'run-micro.ts'),
      '--json',
      '--rounds',
      String(flags.smoke ? 1 : 5),
      '--ms',
      String(flags.microMs),
    ]
    if (flags.smoke) microArgs.push('--pool', '500')
    const [command, args] = pinned(serverCpu, process.execPath, microArgs)
    const out = await runProcess(command, args, 300_000)
    if (out.code !== 0) throw new Error(`run-micro failed: ${out.stderr}`)
    result.micro = JSON.parse(out.stdout.trim().split('\n').pop()!) as MicroResult
  }

  log(`minting ${flags.pool} tokens`)
  const pool = await mintTokens(flags.pool)
  const tokenFile = join(tmp, 'tokens.txt')
  writeFileSync(tokenFile, `${pool.join('\n')}\n`)
  const [repeatedToken] = await mintTokens(1)

  const servers: RunningServer[] = []
  try {
    log(flags.tsx ? 'servers run their TypeScript under tsx (--tsx)' : 'bundling the servers (bench/build.ts)')
    const launch = await launcher(contenders, flags.tsx)
    log(`starting ${contenders.length} servers`)
    // Contenders 7–9 depend on packages/server: if one cannot start, it is reported as skipped
    // (with the error) and the rest of the run goes on. Contenders 1–6 failing is a bench bug: throw.
    const optional = new Set(setup.contenders.map((c) => c.id))
    for (const c of contenders) {
      let server: RunningServer | undefined
      try {
        server = await startServer(c, serverCpu, launch)
        await setup.prepare?.(c, server.url)
        const own = setup.requestToken?.(c)
        const problem = await preflight(server, own === null ? undefined : (own ?? repeatedToken))
        if (problem) throw new Error(`preflight failed: ${problem}`)
        servers.push(server)
      } catch (err) {
        if (server) await stopServer(server)
        const message = err instanceof Error ? err.message : String(err)
        if (!optional.has(c.id)) throw new Error(`${c.id}: ${message}`)
        log(`skipping ${c.id}: ${message}`)
        skipped.push({ id: c.id, reason: `did not start or answer correctly: ${message.split('\n')[0]}` })
      }
    }
    result.skipped = skipped
    result.contenders = servers.map((s) => ({ id: s.contender.id, label: s.contender.label, baseline: s.contender.baseline ?? null }))

    const specFor = (s: RunningServer, mode: Mode, duration: number): LoadSpec => {
      const c = s.contender
      const spec: LoadSpec = { url: s.url, path: c.path, method: c.method, duration, connections: c.connections ?? flags.connections }
      if (c.body !== undefined) spec.body = c.body
      if (c.chain) spec.chain = true
      if (mode === 'fresh') spec.tokenFile = setup.tokenFile?.(c) ?? tokenFile
      else {
        const own = setup.requestToken?.(c)
        if (own !== null) spec.token = own ?? repeatedToken
      }
      return spec
    }
    const plan: { server: RunningServer; mode: Mode }[] = []
    for (const mode of flags.modes) for (const s of servers) if (s.contender.modes.includes(mode)) plan.push({ server: s, mode })
    if (plan.length === 0) throw new Error('nothing to run: no contender runs in the selected modes')

    if (flags.warmup > 0) {
      log(`warm-up ${flags.warmup} s each`)
      for (const p of plan) await runLoad(p.server.contender.loadgen ?? loadgen, specFor(p.server, p.mode, flags.warmup), loadCpu, tmp)
    }

    const rounds = new Map<string, RoundResult[]>()
    const eld = new Map<string, { p50: number; p99: number; max: number }[]>()
    for (let round = 0; round < flags.rounds; round++) {
      for (const p of plan) {
        const key = `${p.server.contender.id}/${p.mode}`
        log(`round ${round + 1}/${flags.rounds} ${key}`)
        if (p.server.contender.eventLoopDelay) await eventLoopDelay(p.server) // reset
        const cpuBefore = cpuSeconds(p.server.child.pid)
        const r: RoundResult = await runLoad(p.server.contender.loadgen ?? loadgen, specFor(p.server, p.mode, flags.duration), loadCpu, tmp)
        const cpuAfter = cpuSeconds(p.server.child.pid)
        if (cpuBefore !== undefined && cpuAfter !== undefined && r.requests > 0) {
          r.serverCpuSeconds = cpuAfter - cpuBefore
          r.serverCpuUsPerRequest = ((cpuAfter - cpuBefore) * 1e6) / r.requests
        }
        if (p.server.contender.eventLoopDelay) {
          const d = await eventLoopDelay(p.server)
          if (d) eld.set(key, [...(eld.get(key) ?? []), d])
        }
        rounds.set(key, [...(rounds.get(key) ?? []), r])
      }
    }

    for (const p of plan) {
      const c = p.server.contender
      const rs = rounds.get(`${c.id}/${p.mode}`)!
      const base = c.baseline ? rounds.get(`${c.baseline}/${p.mode}`) : undefined
      const d = eld.get(`${c.id}/${p.mode}`)
      result.http.push({
        ...rowResult(c, p.mode, rs, base),
        ...(d
          ? { eventLoopDelayMs: { p50: spread(d.map((x) => x.p50)), p99: spread(d.map((x) => x.p99)), max: spread(d.map((x) => x.max)) } }
          : {}),
      })
    }
  } finally {
    await Promise.all(servers.map(stopServer))
    await setup.cleanup?.()
  }

  result.targets = computeTargets(result)
  // A smoke run proves the bench works; its figures are not measurements, so no target is judged.
  if (flags.smoke) for (const t of result.targets) Object.assign(t, { met: null, note: 'smoke run: not judged' })
  const markdown = renderMarkdown(result)
  writeResult({ outDir, name: 'latest', result, markdown, readme: flags.readme && flags.out === undefined, log })
  return result
}

/** `--help`: the usage lines of this file's header comment, from the file itself so they cannot drift. */
function usage(): string {
  return headerUsage(import.meta.url)
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  // The issue-14 and issue-15 benches have flags of their own: their script runs them (its --help, its exit status).
  const other = process.argv.includes('--keys') ? 'keys.ts' : process.argv.includes('--rejections') ? 'rejections.ts' : undefined
  if (other !== undefined) {
    const child = spawnSync(process.execPath, ['--import', 'tsx', join(BENCH_DIR, other), ...process.argv.slice(2)], { stdio: 'inherit' })
    process.exit(child.status ?? 1)
  }
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(usage())
    process.exit(0)
  }
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err instanceof Error ? err.stack : err)
    process.exit(1)
  })
}
