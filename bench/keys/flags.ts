/** The flags of `npm run bench -- --keys` (bench/keys.ts), parsed and checked once. */

import type { Mode } from '../contenders.ts'

export interface KeysFlags {
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
  microPool: number
  readme: boolean
  tsx: boolean
}

/**
 * Parses the flags; `--smoke` sets short defaults first (later flags still win).
 *
 * @example
 * parseKeysFlags(['--rounds', '3', '--duration', '5']).rounds // 3
 */
export function parseKeysFlags(argv: readonly string[]): KeysFlags {
  const smoke = argv.includes('--smoke')
  const flags: KeysFlags = {
    smoke,
    duration: smoke ? 1 : 5,
    rounds: smoke ? 1 : 5,
    warmup: smoke ? 0 : 2,
    connections: smoke ? 8 : 50,
    modes: ['repeated', 'fresh'],
    loadgen: smoke ? 'autocannon' : 'auto',
    // ES256 verifies at ~10-20k/s per core: 100 000 tokens never cycle within a 5 s round.
    pool: smoke ? 2_000 : 100_000,
    pin: true,
    serverCpu: 0,
    loadCpu: 1,
    out: undefined,
    micro: true,
    microMs: smoke ? 20 : 300,
    microPool: smoke ? 200 : 5_000,
    readme: !smoke,
    tsx: false,
  }
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
    switch (arg) {
      case '--keys':
      case '--smoke':
        break
      case '--duration':
        flags.duration = int(1)
        break
      case '--rounds':
        flags.rounds = int(1)
        break
      case '--warmup':
        flags.warmup = int(0)
        break
      case '--connections':
        flags.connections = int(1)
        break
      case '--modes':
        flags.modes = next().split(',').filter(Boolean) as Mode[]
        break
      case '--loadgen': {
        const v = next()
        if (v !== 'wrk' && v !== 'autocannon' && v !== 'auto') throw new Error('--loadgen is wrk, autocannon or auto')
        flags.loadgen = v
        break
      }
      case '--pool':
        flags.pool = int(1)
        break
      case '--no-pin':
        flags.pin = false
        break
      case '--server-cpu':
        flags.serverCpu = int(0)
        break
      case '--load-cpu':
        flags.loadCpu = int(0)
        break
      case '--out':
        flags.out = next()
        break
      case '--no-micro':
        flags.micro = false
        break
      case '--micro-ms':
        flags.microMs = int(1)
        break
      case '--micro-pool':
        flags.microPool = int(2)
        break
      case '--no-readme':
        flags.readme = false
        break
      case '--tsx':
        flags.tsx = true
        break
      default:
        throw new Error(`unknown flag ${arg}; npm run bench -- --keys --help lists them`)
    }
  }
  if (flags.modes.length === 0) throw new Error('--modes: name at least one of repeated, fresh')
  for (const mode of flags.modes)
    if (mode !== 'repeated' && mode !== 'fresh') throw new Error(`--modes: unknown mode ${mode} (repeated, fresh)`)
  return flags
}
