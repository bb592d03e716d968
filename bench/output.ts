/**
 * What the bench entry points (run.ts, keys.ts, scale.ts) record alike: the machine's load average,
 * the load `config` of a result, and writing `<name>.json`, `<name>.md` and bench/README.md's section.
 */

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { LoadFlags } from './args.ts'
import type { Mode } from './contenders.ts'

const BENCH_DIR = dirname(fileURLToPath(import.meta.url))

/**
 * The 1, 5 and 15 minute load averages from /proc/loadavg, or `n/a` where there is none.
 *
 * @example
 * loadavg() // '0.52 0.41 0.38'
 */
export function loadavg(): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')
  } catch {
    return 'n/a'
  }
}

/** How the HTTP load of `npm run bench` and `npm run bench -- --keys` was generated. */
export interface LoadConfig {
  loadgen: 'wrk' | 'autocannon'
  pinned: boolean
  serverCpu: number | null
  loadCpu: number | null
  duration: number
  rounds: number
  warmup: number
  connections: number
  pool: number
  modes: Mode[]
  /** `bundled`: servers ran as plain JavaScript (bench/build.ts); `tsx`: their source under tsx. */
  servers: 'bundled' | 'tsx'
}

/**
 * The `config` of a result from the parsed flags and what was resolved from them (the load
 * generator, whether and where it pinned).
 *
 * @example
 * loadConfig(flags, { loadgen: 'wrk', pinned: true, serverCpu: 0, loadCpu: 1 }).servers // 'bundled'
 */
export function loadConfig(
  flags: LoadFlags,
  resolved: { loadgen: 'wrk' | 'autocannon'; pinned: boolean; serverCpu: number | undefined; loadCpu: number | undefined },
): LoadConfig {
  return {
    loadgen: resolved.loadgen,
    pinned: resolved.pinned,
    serverCpu: resolved.serverCpu ?? null,
    loadCpu: resolved.loadCpu ?? null,
    duration: flags.duration,
    rounds: flags.rounds,
    warmup: flags.warmup,
    connections: flags.connections,
    pool: flags.pool,
    modes: flags.modes,
    servers: flags.tsx ? 'tsx' : 'bundled',
  }
}

/**
 * Replaces what stands between the markers `<!-- bench:<section>:start -->` and `…:end -->` in
 * bench/README.md with `markdown` (nothing happens when the file or the markers are missing).
 *
 * @example
 * updateReadmeSection('latest', markdown)
 */
export function updateReadmeSection(section: string, markdown: string): void {
  const path = join(BENCH_DIR, 'README.md')
  if (!existsSync(path)) return
  const startMark = `<!-- bench:${section}:start -->`
  const text = readFileSync(path, 'utf8')
  const start = text.indexOf(startMark)
  const end = text.indexOf(`<!-- bench:${section}:end -->`)
  if (start === -1 || end < start) return
  writeFileSync(path, `${text.slice(0, start + startMark.length)}\n${markdown}${text.slice(end)}`)
}

/**
 * Writes `<outDir>/<name>.json` and `<name>.md`, the README section `<name>` when `readme`, the
 * markdown to stdout, and logs where it went.
 *
 * @example
 * writeResult({ outDir: 'bench/results', name: 'keys', result, markdown, readme: true, log })
 */
export function writeResult(opts: {
  outDir: string
  name: string
  result: unknown
  markdown: string
  readme: boolean
  log: (msg: string) => void
}): void {
  const { outDir, name, markdown } = opts
  mkdirSync(outDir, { recursive: true })
  writeFileSync(join(outDir, `${name}.json`), `${JSON.stringify(opts.result, null, 2)}\n`)
  writeFileSync(join(outDir, `${name}.md`), markdown)
  if (opts.readme) updateReadmeSection(name, markdown)
  process.stdout.write(markdown)
  opts.log(`wrote ${join(outDir, `${name}.json`)} and ${name}.md`)
}
