/**
 * The argv reader (and `--help` text) every bench entry point uses, and the load flags `bench/run.ts` and `bench/keys.ts`
 * share (same names, same defaults, same checks), so the two cannot drift apart.
 */

import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Mode } from './contenders.ts'

/** Reads the value of the flag being handled; both throw an Error naming the flag. */
export interface ArgReader {
  /** The next argument, the flag's value. */
  next(): string
  /** The next argument as an integer ≥ `min`. */
  int(min: number): number
}

/**
 * Calls `onArg` for every flag in `argv`; `onArg` pulls the flag's value through the reader (which
 * advances past it) and throws on a flag it does not know.
 *
 * @example
 * let rounds = 1
 * forEachArg(['--rounds', '3'], (arg, read) => {
 *   if (arg === '--rounds') rounds = read.int(1)
 *   else throw new Error(`unknown flag ${arg}`)
 * })
 * rounds // 3
 */
export function forEachArg(argv: readonly string[], onArg: (arg: string, read: ArgReader) => void): void {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    const next = () => {
      const v = argv[++i]
      if (v === undefined) throw new Error(`${arg} needs a value`)
      return v
    }
    const int = (min: number) => {
      const v = Number(next())
      if (!Number.isInteger(v) || v < min) throw new Error(`${arg} expects an integer ≥ ${min}`)
      return v
    }
    onArg(arg, { next, int })
  }
}

/** The HTTP-load flags of `npm run bench` and `npm run bench -- --keys`. */
export interface LoadFlags {
  smoke: boolean
  duration: number
  rounds: number
  warmup: number
  connections: number
  modes: Mode[]
  loadgen: 'wrk' | 'autocannon' | 'auto'
  pool: number
  pin: boolean
  serverCpu: number
  loadCpu: number
  out: string | undefined
  micro: boolean
  microMs: number
  readme: boolean
  /** Run the servers' TypeScript under `node --import tsx` instead of bundled JavaScript. */
  tsx: boolean
}

/**
 * The defaults of the load flags; `--smoke` (anywhere in `argv`) picks the short ones.
 *
 * @example
 * loadFlagDefaults(['--smoke']).rounds // 1
 */
export function loadFlagDefaults(argv: readonly string[]): LoadFlags {
  const smoke = argv.includes('--smoke')
  return {
    smoke,
    duration: smoke ? 1 : 5,
    rounds: smoke ? 1 : 5,
    warmup: smoke ? 0 : 2,
    connections: smoke ? 8 : 50,
    modes: ['repeated', 'fresh'],
    loadgen: smoke ? 'autocannon' : 'auto',
    // Fresh mode must miss keycard's verified-token cache (bench/README.md, "What it does"): with
    // 25 000 tokens cycling, about a fifth of its requests were cache hits. ES256 (bench/keys.ts)
    // verifies at ~10-20k/s per core: 100 000 tokens never cycle within a 5 s round.
    pool: smoke ? 2_000 : 100_000,
    pin: true,
    serverCpu: 0,
    loadCpu: 1,
    out: undefined,
    micro: true,
    microMs: smoke ? 20 : 300,
    readme: !smoke,
    tsx: false,
  }
}

/**
 * Applies `arg` to `flags` when it is a load flag (`--smoke` included, already read by the
 * defaults); returns false for any other flag, which the caller then handles.
 *
 * @example
 * const flags = loadFlagDefaults([])
 * forEachArg(['--no-pin'], (arg, read) => {
 *   if (!readLoadFlag(flags, arg, read)) throw new Error(`unknown flag ${arg}`)
 * })
 * flags.pin // false
 */
export function readLoadFlag(flags: LoadFlags, arg: string, read: ArgReader): boolean {
  switch (arg) {
    case '--smoke':
      break
    case '--duration':
      flags.duration = read.int(1)
      break
    case '--rounds':
      flags.rounds = read.int(1)
      break
    case '--warmup':
      flags.warmup = read.int(0)
      break
    case '--connections':
      flags.connections = read.int(1)
      break
    case '--modes':
      flags.modes = read.next().split(',').filter(Boolean) as Mode[]
      break
    case '--loadgen': {
      const v = read.next()
      if (v !== 'wrk' && v !== 'autocannon' && v !== 'auto') throw new Error('--loadgen is wrk, autocannon or auto')
      flags.loadgen = v
      break
    }
    case '--pool':
      flags.pool = read.int(1)
      break
    case '--no-pin':
      flags.pin = false
      break
    case '--server-cpu':
      flags.serverCpu = read.int(0)
      break
    case '--load-cpu':
      flags.loadCpu = read.int(0)
      break
    case '--out':
      flags.out = read.next()
      break
    case '--no-micro':
      flags.micro = false
      break
    case '--micro-ms':
      flags.microMs = read.int(1)
      break
    case '--no-readme':
      flags.readme = false
      break
    case '--tsx':
      flags.tsx = true
      break
    default:
      return false
  }
  return true
}

/**
 * `--help` text: the header comment of the module at `moduleUrl`, read from the file itself so the
 * usage it documents cannot drift from it.
 *
 * @example
 * process.stdout.write(headerUsage(import.meta.url))
 */
export function headerUsage(moduleUrl: string): string {
  const header = readFileSync(fileURLToPath(moduleUrl), 'utf8').split('*/', 1)[0]!
  return `${header
    .split('\n')
    .slice(1)
    .map((l) => l.replace(/^ \*\s?/, ''))
    .join('\n')
    .trim()}\n`
}
