/**
 * `npm run bench -- --keys`: asymmetric keys and JWKS (issue 14), in one run. First, in process and
 * pinned to the server core (bench/keys/micro.ts): ES256 and EdDSA verification, keycard cold and cache
 * hit next to jose's jwtVerify with an imported key and with createLocalJWKSet, same tokens. Then
 * resource servers: a local JWKS server (node:http, port 0, two ES256 keys with kids, Cache-Control
 * max-age=600, ETag) and bare Fastify, Fastify + keycard on `createKeycard({ jwks: url })`, Fastify +
 * @fastify/jwt with get-jwks, Fastify + jose createRemoteJWKSet, each its own process pinned to the
 * server core, loaded by wrk or autocannon on the other core, rounds interleaved; every server verifies
 * the same ES256 tokens (FJE claim layout, kid in the header, iss = the JWKS server's origin). Writes
 * bench/results/keys.{json,md} and the "Asymmetric keys and JWKS" section of bench/README.md.
 *
 *   npm run bench -- --keys                         # the full run (~7 min here)
 *   npm run bench -- --keys --smoke                 # 1 round of 1 s, autocannon, temp dir (checks the bench, not a measurement)
 *   npm run bench -- --keys --rounds 7 --duration 3 --no-micro
 *
 * Flags: --duration <s> --rounds <n> --warmup <s> --connections <n> --modes repeated,fresh
 *        --loadgen wrk|autocannon|auto --pool <n> --no-pin --server-cpu <n> --load-cpu <n> --out <dir>
 *        --no-micro --micro-ms <ms> --micro-pool <n> --no-readme --smoke --tsx --help
 */

import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { headerUsage } from './args.ts'
import type { Mode } from './contenders.ts'
import { BENCH_SUBJECT, roundRatios } from './lib.ts'
import { parseKeysFlags, type KeysFlags } from './keys/flags.ts'
import { JWKS_PEERS, jwksContenders, KEYCARD_JWKS } from './keys/contenders.ts'
import { generateBenchKey, jwksOf, mintSigned, startJwksServer } from './keys/material.ts'
import type { KeysMicroResult } from './keys/micro.ts'
import { renderKeys, type KeysResult } from './keys/report.ts'
import type { LoadSpec } from './loadgen/spec.ts'
import { loadavg, loadConfig, writeResult } from './output.ts'
import {
  cpuModel,
  cpuSeconds,
  has,
  launcher,
  nproc,
  pinned,
  rowResult,
  runLoad,
  startServer,
  stopServer,
  type RoundResult,
  type RunningServer,
} from './run.ts'

const BENCH_DIR = dirname(fileURLToPath(import.meta.url))
const ROOT = dirname(BENCH_DIR)
const JWKS_MAX_AGE = 600

/**
 * One request with the token (200 and the subject), one without (401), one with a token of a key the
 * JWKS never published: it must not be accepted; its status is returned, since not every peer answers
 * it as a client error (@fastify/jwt with get-jwks, as documented, answers 500).
 */
async function preflight(server: RunningServer, token: string, foreign: string): Promise<{ problem?: string; foreignStatus?: number }> {
  const get = (auth?: string) => fetch(server.url + server.contender.path, auth ? { headers: { authorization: `Bearer ${auth}` } } : {})
  const ok = await get(token)
  const text = await ok.text()
  if (ok.status !== 200 || !text.includes(`"sub":"${BENCH_SUBJECT}"`))
    return { problem: `expected 200 {"sub":"${BENCH_SUBJECT}"}, got ${ok.status} ${text.slice(0, 200)}` }
  if (!server.contender.auth) return {}
  const none = await get()
  await none.arrayBuffer()
  if (none.status !== 401) return { problem: `without a token expected 401, got ${none.status}` }
  const refused = await get(foreign)
  const body = await refused.text()
  if (refused.status < 400) return { problem: `a token signed by an unpublished key was accepted: ${refused.status} ${body.slice(0, 200)}` }
  return { foreignStatus: refused.status }
}

function runMicroProcess(flags: KeysFlags, cpu: number | undefined): Promise<KeysMicroResult> {
  const args = ['--import', 'tsx', join(BENCH_DIR, 'keys', 'micro.ts'), '--json', '--rounds', String(flags.smoke ? 1 : 5)]
  args.push('--ms', String(flags.microMs), '--pool', String(flags.microPool))
  const [command, argv] = pinned(cpu, process.execPath, args)
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c))
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c))
    child.once('error', reject)
    child.once('exit', (code) => {
      const line = stdout.trim().split('\n').pop()
      if (code !== 0 || !line) reject(new Error(`bench/keys/micro.ts failed (${code}): ${stderr}`))
      else resolve(JSON.parse(line) as KeysMicroResult)
    })
  })
}

export async function main(argv: readonly string[]): Promise<KeysResult> {
  const flags = parseKeysFlags(argv)
  const log = (msg: string) => process.stderr.write(`bench:keys: ${msg}\n`)
  const cores = nproc()
  const pin =
    flags.pin && has('taskset') && cores >= 2 && Math.max(flags.serverCpu, flags.loadCpu) < cores && flags.serverCpu !== flags.loadCpu
  if (flags.pin && !pin) log(`not pinning (taskset ${has('taskset') ? 'found' : 'missing'}, ${cores} CPUs)`)
  const serverCpu = pin ? flags.serverCpu : undefined
  const loadCpu = pin ? flags.loadCpu : undefined
  const loadgen = flags.loadgen === 'auto' ? (has('wrk') ? 'wrk' : 'autocannon') : flags.loadgen
  if (loadgen === 'wrk' && !has('wrk')) throw new Error('wrk is not installed (apt-get install -y wrk), or use --loadgen autocannon')

  const result: KeysResult = {
    schema: 1,
    date: new Date().toISOString(),
    smoke: flags.smoke,
    machine: {
      nproc: cores,
      cpuModel: cpuModel(),
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      loadavg: loadavg(),
    },
    config: loadConfig(flags, { loadgen, pinned: pin, serverCpu, loadCpu }),
    jwks: { keys: 2, algorithm: 'ES256', maxAge: JWKS_MAX_AGE, fetches: 0 },
    skipped: [],
    http: [],
    comparisons: [],
    refusals: [],
    micro: null,
  }

  if (flags.micro) {
    log('in-process micro-benchmark (ES256, EdDSA)')
    result.micro = await runMicroProcess(flags, serverCpu)
  }

  const tmp = mkdtempSync(join(tmpdir(), 'keycard-bench-keys-'))
  const signing = await generateBenchKey('ES256')
  const next = await generateBenchKey('ES256')
  const jwks = await startJwksServer(jwksOf([next, signing]), JWKS_MAX_AGE)
  const servers: RunningServer[] = []
  try {
    log(`minting ${flags.pool} ES256 tokens (kid ${signing.kid.slice(0, 8)}…, iss ${jwks.origin})`)
    const pool = await mintSigned(signing, flags.pool, jwks.origin)
    const tokenFile = join(tmp, 'tokens.txt')
    writeFileSync(tokenFile, `${pool.join('\n')}\n`)
    const [repeated] = await mintSigned(signing, 1, jwks.origin)
    // Signed by a key the JWKS never published, same kid shape: every verifier must refuse it.
    const [foreign] = await mintSigned(await generateBenchKey('ES256'), 1, jwks.origin)

    const contenders = jwksContenders(jwks.url, jwks.origin)
    log(flags.tsx ? 'servers run their TypeScript under tsx (--tsx)' : 'bundling the servers (bench/build.ts)')
    const launch = await launcher(contenders, flags.tsx)
    for (const c of contenders) {
      let server: RunningServer | undefined
      try {
        server = await startServer(c, serverCpu, launch)
        const { problem, foreignStatus } = await preflight(server, repeated!, foreign!)
        if (problem) throw new Error(`preflight failed: ${problem}`)
        if (foreignStatus !== undefined) result.refusals.push({ id: c.id, label: c.label, status: foreignStatus })
        servers.push(server)
      } catch (err) {
        if (server) await stopServer(server)
        const message = err instanceof Error ? err.message : String(err)
        // keycard's row is the one this bench is about: a keycard without `jwks` is reported, and the peers still run.
        if (c.id !== KEYCARD_JWKS) throw new Error(`${c.id}: ${message}`)
        log(`skipping ${c.id}: ${message}`)
        // The server's own error line (e.g. a KeycardOptionError) says more than "exited with 1".
        const cause = message.split('\n').find((l) => /^\w*Error\b.*: /.test(l))
        result.skipped.push({ id: c.id, reason: `did not start or answer correctly: ${message.split('\n')[0]}${cause ? ` ${cause}` : ''}` })
      }
    }

    const specFor = (s: RunningServer, mode: Mode, duration: number): LoadSpec => ({
      url: s.url,
      path: s.contender.path,
      method: 'GET',
      duration,
      connections: flags.connections,
      ...(mode === 'fresh' ? { tokenFile } : { token: repeated! }),
    })
    const plan = flags.modes.flatMap((mode) => servers.map((server) => ({ server, mode })))
    if (flags.warmup > 0) {
      log(`warm-up ${flags.warmup} s each`)
      for (const p of plan) await runLoad(loadgen, specFor(p.server, p.mode, flags.warmup), loadCpu, tmp)
    }
    const rounds = new Map<string, RoundResult[]>()
    for (let round = 0; round < flags.rounds; round++) {
      for (const p of plan) {
        const key = `${p.server.contender.id}/${p.mode}`
        log(`round ${round + 1}/${flags.rounds} ${key}`)
        const before = cpuSeconds(p.server.child.pid)
        const r: RoundResult = await runLoad(loadgen, specFor(p.server, p.mode, flags.duration), loadCpu, tmp)
        const after = cpuSeconds(p.server.child.pid)
        if (before !== undefined && after !== undefined && r.requests > 0) {
          r.serverCpuSeconds = after - before
          r.serverCpuUsPerRequest = ((after - before) * 1e6) / r.requests
        }
        rounds.set(key, [...(rounds.get(key) ?? []), r])
      }
    }
    for (const p of plan) {
      const c = p.server.contender
      result.http.push(
        rowResult(
          p.server.contender,
          p.mode,
          rounds.get(`${c.id}/${p.mode}`)!,
          c.baseline ? rounds.get(`${c.baseline}/${p.mode}`) : undefined,
        ),
      )
    }
    // keycard ÷ each peer, per round: "keycard is N× the peer".
    for (const mode of flags.modes) {
      const ours = rounds.get(`${KEYCARD_JWKS}/${mode}`)
      for (const peer of JWKS_PEERS) {
        const theirs = rounds.get(`${peer}/${mode}`)
        if (!ours || !theirs) continue
        const cpu = (r: RoundResult[]) => r.map((x) => x.serverCpuUsPerRequest ?? Number.NaN)
        result.comparisons.push({
          peer,
          label: contenders.find((c) => c.id === peer)!.label,
          mode,
          rps: roundRatios(
            ours.map((r) => r.rps),
            theirs.map((r) => r.rps),
          ),
          cpu: roundRatios(cpu(theirs), cpu(ours)),
        })
      }
    }
  } finally {
    await Promise.all(servers.map(stopServer))
    result.jwks.fetches = jwks.fetches()
    await jwks.close()
    rmSync(tmp, { recursive: true, force: true })
  }

  result.machine.loadavgAfter = loadavg()
  const markdown = renderKeys(result)
  const outDir = flags.out ?? (flags.smoke ? mkdtempSync(join(tmpdir(), 'keycard-bench-keys-out-')) : join(BENCH_DIR, 'results'))
  writeResult({ outDir, name: 'keys', result, markdown, readme: flags.readme && flags.out === undefined, log })
  return result
}

/** `--help`: this file's header comment. */
export function keysUsage(): string {
  return headerUsage(import.meta.url)
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(keysUsage())
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
