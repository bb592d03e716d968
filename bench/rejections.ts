/**
 * `npm run bench -- --rejections`: what a rejected request costs the server next to an accepted one
 * (issue 15: a forged or malformed token must cost no more than 1.5× an accepted cold one). Two
 * servers, each its own process pinned to the server core: Fastify + keycard (`jwtRequired()`,
 * revocation check on) and the Keycard server's `GET /auth/verify` (real SQLite store). Each is sent,
 * round by round and interleaved, accepted tokens from a pool too large for the verified-token cache
 * (the cold path), then garbage, bad signatures, expired tokens and the three adversarial
 * `Authorization` values of bench/run-micro.ts (at 15 000 characters: Node refuses a request whose
 * headers pass 16 KiB). Reports the server's CPU µs per request (/proc) and, per round, each input's
 * CPU ÷ the accepted cold CPU of the same server. Writes bench/results/rejections.{json,md} and the
 * "Rejected requests (issue 15)" table of bench/README.md.
 *
 *   npm run bench -- --rejections                          # 5 rounds of 5 s per server and input
 *   npm run bench -- --rejections --rounds 3 --duration 3  # what a shared machine can afford
 *   npm run bench -- --rejections --smoke                  # 1 round of 1 s, temp dir (checks the bench, not a measurement)
 *
 * Flags: --duration <s> --rounds <n> --warmup <s> --connections <n> --loadgen wrk|autocannon|auto
 *        --pool <n> --no-pin --server-cpu <n> --load-cpu <n> --out <dir> --no-readme --smoke --tsx --help
 */

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { createKeycard } from 'keycard'
import { forEachArg, headerUsage, loadFlagDefaults, readLoadFlag, type LoadFlags } from './args.ts'
import { CORE_CONTENDERS, type Contender } from './contenders.ts'
import {
  BENCH_SECRET,
  BENCH_SUBJECT,
  fmtInt,
  fmtMs,
  fmtRatio,
  fmtSpread,
  markdownTable,
  mintTokens,
  roundRatios,
  spread,
  type Spread,
} from './lib.ts'
import type { LoadSpec } from './loadgen/spec.ts'
import { loadavg, loadConfig, type LoadConfig, writeResult } from './output.ts'
import {
  canPin,
  cpuModel,
  cpuSeconds,
  has,
  launcher,
  nproc,
  runLoad,
  startServer,
  stopServer,
  type RoundResult,
  type RunningServer,
} from './run.ts'
import { badSignature } from './run-micro.ts'
import { serverContenders } from './server-contenders.ts'

const BENCH_DIR = dirname(fileURLToPath(import.meta.url))
/** Node's default limit is 16 KiB for all of a request's headers: the adversarial values stay under it. */
const HTTP_ADVERSARIAL_SIZE = 15_000
/** Distinct tokens per rejected input: a rejection is never cached, so only the accepted pool must be large. */
const REJECTED_POOL = 5_000
/** Issue 15's target: a rejected request costs at most this many times an accepted cold one. */
const TARGET = 1.5

/** One kind of request: the `Authorization` values sent (cycled) and what the answer must say. */
interface Input {
  id: string
  label: string
  values: string[]
  /** `undefined`: accepted (2xx); otherwise the start of the refusal's `msg`. */
  msg: string | undefined
}

/**
 * One server and input over all rounds.
 *
 * @example
 * const worst = Math.max(...result.rows.map((r) => r.costVsAccepted?.median ?? 0))
 */
export interface RejectionRow {
  server: string
  input: string
  label: string
  rounds: RoundResult[]
  rps: Spread
  cpuUsPerRequest: Spread | null
  /** This input's server CPU per request ÷ the accepted cold one's, per round (null for the baseline). */
  costVsAccepted: Spread | null
  /** Every answer had the expected class: all 2xx for accepted tokens, none for rejected ones. */
  answersAsExpected: boolean
}

/**
 * What bench/results/rejections.json holds.
 *
 * @example
 * const result = JSON.parse(readFileSync('bench/results/rejections.json', 'utf8')) as RejectionsResult
 */
export interface RejectionsResult {
  schema: 1
  date: string
  smoke: boolean
  machine: { nproc: number; cpuModel: string; node: string; platform: string }
  loadavg: { before: string; after: string }
  config: LoadConfig
  skipped: { id: string; reason: string }[]
  rows: RejectionRow[]
}

function parseFlags(argv: readonly string[]): LoadFlags {
  const flags = loadFlagDefaults(argv)
  forEachArg(argv, (arg, read) => {
    if (arg === '--rejections') return
    if (!readLoadFlag(flags, arg, read)) throw new Error(`unknown flag ${arg}; see the header of bench/rejections.ts`)
  })
  return flags
}

function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>
}

/** The inputs for a server whose accepted tokens are `accepted` (`Bearer ` values), minting its expired ones with `extra` claims. */
async function inputsFor(accepted: string[], extra: Record<string, unknown>, subject: string): Promise<Input[]> {
  const keycard = await createKeycard({ secret: BENCH_SECRET, accessTokenExpires: '2h' })
  const past = Math.floor(Date.now() / 1000) - 3600
  const expired: string[] = []
  for (let i = 0; i < Math.min(REJECTED_POOL, accepted.length); i++) {
    const claims = { ...extra, iat: past - 60, nbf: past - 60, exp: past }
    expired.push(`Bearer ${await keycard.createAccessToken(subject, { additionalClaims: claims })}`)
  }
  const size = HTTP_ADVERSARIAL_SIZE
  return [
    { id: 'accepted-cold', label: 'accepted, cold (distinct tokens)', values: accepted, msg: undefined },
    { id: 'garbage', label: 'garbage (Bearer garbage)', values: ['Bearer garbage'], msg: 'Not enough segments' },
    {
      id: 'bad-signature',
      label: 'bad signature (distinct tokens)',
      values: accepted.slice(0, REJECTED_POOL).map((v) => `Bearer ${badSignature(v.slice('Bearer '.length))}`),
      msg: 'Signature verification failed',
    },
    { id: 'expired', label: 'expired (distinct tokens)', values: expired, msg: 'Token has expired' },
    {
      id: 'adversarial-commas',
      label: `adversarial header: x,,,…,x (${fmtInt(size)} chars)`,
      values: [`x${','.repeat(size - 2)}x`],
      msg: "Missing 'Bearer' type",
    },
    {
      id: 'adversarial-spaces',
      label: `adversarial header: Bearer x … y (${fmtInt(size)} chars)`,
      values: [`Bearer x${' '.repeat(size - 9)}y`],
      msg: 'Bad Authorization header',
    },
    {
      id: 'adversarial-bearer',
      label: `adversarial header: Bearer Bearer … (${fmtInt(size)} chars)`,
      values: ['Bearer '.repeat(Math.floor(size / 7))],
      msg: 'Bad Authorization header',
    },
  ]
}

/** One request of the input: accepted ones answer 2xx, rejected ones a 4xx whose `msg` starts as expected. */
async function preflight(server: RunningServer, input: Input): Promise<string | undefined> {
  const res = await fetch(server.url + server.contender.path, { headers: { authorization: input.values[0]! } })
  const text = await res.text()
  if (input.msg === undefined) return res.ok ? undefined : `${input.id}: expected 2xx, got ${res.status} ${text.slice(0, 200)}`
  let msg: unknown
  try {
    msg = (JSON.parse(text) as { msg?: unknown }).msg
  } catch {
    msg = undefined
  }
  if (res.status < 400 || res.status > 499 || typeof msg !== 'string' || !msg.startsWith(input.msg))
    return `${input.id}: expected a 4xx {"msg": "${input.msg}…"}, got ${res.status} ${text.slice(0, 200)}`
  return undefined
}

/**
 * The markdown of a run: one line on the machine and load, then a row per server and input.
 *
 * @example
 * writeFileSync('rejections.md', renderRejections(JSON.parse(readFileSync('rejections.json', 'utf8'))))
 */
export function renderRejections(result: RejectionsResult): string {
  const c = result.config
  const lines = [
    `Run ${result.date}${result.smoke ? ' (smoke: not a measurement)' : ''} on ${result.machine.cpuModel}, ${result.machine.nproc} CPUs, Node ${result.machine.node}; ` +
      `load average ${result.loadavg.before} before, ${result.loadavg.after} after. ${c.loadgen}, ${c.connections} connections, ` +
      `${c.pinned ? `server pinned to CPU ${c.serverCpu}, load generator to CPU ${c.loadCpu}` : 'NOT pinned'}; ${c.rounds} interleaved round(s) of ${c.duration} s ` +
      `per server and input after ${c.warmup} s warm-up; accepted pool of ${fmtInt(c.pool)} tokens. "CPU ÷ accepted cold" is this input's server CPU per request ` +
      `over the accepted cold one's, per round of the same server (median, min–max); the target is ≤ ${TARGET}×.`,
    '',
    markdownTable(
      ['Server', 'Input', 'req/s', 'Server CPU µs/req', 'CPU ÷ accepted cold', 'Target', 'Answers as expected'],
      result.rows.map((r) => [
        r.server,
        r.label,
        fmtSpread(r.rps, fmtInt),
        r.cpuUsPerRequest ? fmtSpread(r.cpuUsPerRequest, fmtMs) : 'n/a',
        r.costVsAccepted ? fmtSpread(r.costVsAccepted, fmtRatio) : '1×',
        r.costVsAccepted ? (result.smoke ? '—' : r.costVsAccepted.median <= TARGET ? 'met' : 'MISSED') : '—',
        r.answersAsExpected ? 'yes' : 'NO',
      ]),
      2,
    ),
  ]
  for (const s of result.skipped) lines.push('', `- Skipped **${s.id}**: ${s.reason}`)
  return `${lines.join('\n')}\n`
}

/**
 * Runs the bench with `argv`'s flags, writes rejections.{json,md} (and the README table), returns the result.
 *
 * @example
 * const result = await main(['--smoke', '--out', dir])
 */
export async function main(argv: readonly string[]): Promise<RejectionsResult> {
  const flags = parseFlags(argv)
  const pin = canPin(flags)
  const serverCpu = pin ? flags.serverCpu : undefined
  const loadCpu = pin ? flags.loadCpu : undefined
  const loadgen = flags.loadgen === 'auto' ? (has('wrk') ? 'wrk' : 'autocannon') : flags.loadgen
  if (loadgen === 'wrk' && !has('wrk')) throw new Error('wrk is not installed (apt-get install -y wrk), or use --loadgen autocannon')
  const log = (msg: string) => process.stderr.write(`bench: ${msg}\n`)
  const tmp = mkdtempSync(join(tmpdir(), 'keycard-bench-rejections-'))
  const outDir = flags.out ?? (flags.smoke ? tmp : join(BENCH_DIR, 'results'))
  const before = loadavg()

  const setup = await serverContenders({ pool: flags.pool, wanted: ['server-verify'], serverCpu })
  const verify = setup.contenders.find((c) => c.id === 'server-verify')
  const contenders: Contender[] = [CORE_CONTENDERS.find((c) => c.id === 'fastify-keycard')!, ...(verify ? [verify] : [])]
  const skipped = setup.skipped.filter((s) => s.id === 'server-verify')
  const servers: { server: RunningServer; inputs: { input: Input; file: string }[] }[] = []
  const rows: RejectionRow[] = []
  try {
    const launch = await launcher(contenders, flags.tsx)
    log(`minting ${flags.pool} tokens`)
    const pool = (await mintTokens(flags.pool)).map((t) => `Bearer ${t}`)
    for (const c of contenders) {
      const server = await startServer(c, serverCpu, launch)
      try {
        await setup.prepare?.(c, server.url)
        let inputs: Input[]
        if (c.id === 'server-verify') {
          const own = setup.requestToken?.(c)
          const file = setup.tokenFile?.(c)
          if (!own || !file) throw new Error('server-verify prepared no token pool')
          const { sub, sid, dbid, admin } = claimsOf(own)
          const accepted = readFileSync(file, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((t) => `Bearer ${t}`)
          inputs = await inputsFor(accepted, { sid, dbid, admin }, String(sub))
        } else inputs = await inputsFor(pool, {}, BENCH_SUBJECT)
        const files = inputs.map((input) => {
          const file = join(tmp, `${c.id}-${input.id}.txt`)
          writeFileSync(file, `${input.values.join('\n')}\n`)
          return { input, file }
        })
        for (const { input } of files) {
          const problem = await preflight(server, input)
          if (problem) throw new Error(`preflight failed: ${problem}`)
        }
        servers.push({ server, inputs: files })
      } catch (err) {
        await stopServer(server)
        if (c.id !== 'server-verify') throw err
        skipped.push({ id: c.id, reason: `did not start or answer correctly: ${(err as Error).message.split('\n')[0]}` })
      }
    }

    const spec = (server: RunningServer, file: string, duration: number): LoadSpec => ({
      url: server.url,
      path: server.contender.path,
      method: 'GET',
      duration,
      connections: flags.connections,
      tokenFile: file,
      rawAuthorization: true,
    })
    if (flags.warmup > 0) {
      log(`warm-up ${flags.warmup} s each`)
      for (const { server, inputs } of servers)
        for (const { file } of inputs) await runLoad(loadgen, spec(server, file, flags.warmup), loadCpu, tmp)
    }
    const measured = new Map<string, RoundResult[]>()
    for (let round = 0; round < flags.rounds; round++) {
      for (const { server, inputs } of servers) {
        for (const { input, file } of inputs) {
          log(`round ${round + 1}/${flags.rounds} ${server.contender.id}/${input.id}`)
          const cpuBefore = cpuSeconds(server.child.pid)
          const r: RoundResult = await runLoad(loadgen, spec(server, file, flags.duration), loadCpu, tmp)
          const cpuAfter = cpuSeconds(server.child.pid)
          if (cpuBefore !== undefined && cpuAfter !== undefined && r.requests > 0) {
            r.serverCpuSeconds = cpuAfter - cpuBefore
            r.serverCpuUsPerRequest = ((cpuAfter - cpuBefore) * 1e6) / r.requests
          }
          const key = `${server.contender.id}/${input.id}`
          measured.set(key, [...(measured.get(key) ?? []), r])
        }
      }
    }
    for (const { server, inputs } of servers) {
      const id = server.contender.id
      const cpu = (rs: RoundResult[]) => rs.map((r) => r.serverCpuUsPerRequest ?? Number.NaN)
      const hasCpu = (rs: RoundResult[]) => rs.every((r) => r.serverCpuUsPerRequest !== undefined)
      const accepted = measured.get(`${id}/accepted-cold`)!
      for (const { input } of inputs) {
        const rs = measured.get(`${id}/${input.id}`)!
        const ok = input.msg === undefined ? rs.every((r) => r.non2xx === 0) : rs.every((r) => r.ok2xx === 0)
        rows.push({
          server: server.contender.label,
          input: input.id,
          label: input.label,
          rounds: rs,
          rps: spread(rs.map((r) => r.rps)),
          cpuUsPerRequest: hasCpu(rs) ? spread(cpu(rs)) : null,
          costVsAccepted: input.msg !== undefined && hasCpu(rs) && hasCpu(accepted) ? roundRatios(cpu(rs), cpu(accepted)) : null,
          answersAsExpected: ok && rs.every((r) => r.errors === 0 && r.requests > 0),
        })
      }
    }
  } finally {
    await Promise.all(servers.map(({ server }) => stopServer(server)))
    await setup.cleanup?.()
  }

  const result: RejectionsResult = {
    schema: 1,
    date: new Date().toISOString(),
    smoke: flags.smoke,
    machine: { nproc: nproc(), cpuModel: cpuModel(), node: process.version, platform: `${process.platform} ${process.arch}` },
    loadavg: { before, after: loadavg() },
    config: loadConfig(flags, { loadgen, pinned: pin, serverCpu, loadCpu }),
    skipped,
    rows,
  }
  writeResult({
    outDir,
    name: 'rejections',
    result,
    markdown: renderRejections(result),
    readme: flags.readme && flags.out === undefined,
    log,
  })
  if (outDir !== tmp) rmSync(tmp, { recursive: true, force: true })
  return result
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(headerUsage(import.meta.url))
    process.exit(0)
  }
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err instanceof Error ? err.stack : err)
    process.exit(1)
  })
}
