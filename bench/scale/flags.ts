/** The scale bench's flags (see the header of bench/scale.ts), checked once, with messages that say how to fix them. */

import { forEachArg } from '../args.ts'
import type { DatabaseKind } from './databases.ts'
import { checkLayout, FULL_LAYOUT, type Layout } from './layout.ts'

export const STEPS = ['seed', 'startup', 'throughput', 'purge', 'paging', 'propagation'] as const
export type Step = (typeof STEPS)[number]

export interface ScaleFlags {
  databases: DatabaseKind[]
  steps: Set<Step>
  layout: Layout
  /** Sessions the purge deletes (inserted to expire while the server runs). */
  expired: number
  small: boolean
  rounds: number
  duration: number
  warmup: number
  connections: number
  /** Distinct tokens (sessions) in fresh mode. */
  pool: number
  startupRuns: number
  /** Revocations timed between two instances. */
  revocations: number
  loadgen: 'wrk' | 'autocannon' | undefined
  pin: boolean
  out: string | undefined
  readme: boolean
}

/**
 * Parses argv; throws an Error naming the flag on a bad value.
 *
 * @example
 * parseScaleFlags(['--small', '--db', 'sqlite']).layout // { users: 10000, sessions: 20000, revoked: 5000 }
 */
export function parseScaleFlags(argv: readonly string[]): ScaleFlags {
  const small = argv.includes('--small')
  const div = small ? 100 : 1
  const flags: ScaleFlags = {
    databases: ['sqlite', 'postgres'],
    steps: new Set(STEPS),
    layout: { users: FULL_LAYOUT.users / div, sessions: FULL_LAYOUT.sessions / div, revoked: FULL_LAYOUT.revoked / div },
    expired: 500_000 / div,
    small,
    rounds: small ? 1 : 3,
    duration: small ? 1 : 5,
    warmup: small ? 0 : 2,
    connections: small ? 8 : 50,
    pool: small ? 2_000 : 100_000,
    startupRuns: small ? 1 : 3,
    revocations: small ? 20 : 200,
    loadgen: undefined,
    pin: true,
    out: undefined,
    readme: true,
  }
  forEachArg(argv, (arg, { next, int }) => {
    switch (arg) {
      case '--small':
        break
      case '--db': {
        const list = next().split(',').filter(Boolean)
        for (const d of list)
          if (d !== 'sqlite' && d !== 'postgres') throw new Error(`--db: unknown database ${d}; use sqlite, postgres or both`)
        flags.databases = list as DatabaseKind[]
        break
      }
      case '--steps': {
        const list = next().split(',').filter(Boolean)
        for (const s of list)
          if (!(STEPS as readonly string[]).includes(s)) throw new Error(`--steps: unknown step ${s}; the steps are ${STEPS.join(',')}`)
        // Every step needs the seeded database.
        flags.steps = new Set(['seed', ...list] as Step[])
        break
      }
      case '--users':
        flags.layout = { ...flags.layout, users: int(1) }
        break
      case '--sessions':
        flags.layout = { ...flags.layout, sessions: int(3) }
        break
      case '--revoked':
        flags.layout = { ...flags.layout, revoked: int(0) }
        break
      case '--expired':
        flags.expired = int(1)
        break
      case '--rounds':
        flags.rounds = int(1)
        break
      case '--duration':
        flags.duration = int(1)
        break
      case '--warmup':
        flags.warmup = int(0)
        break
      case '--connections':
        flags.connections = int(1)
        break
      case '--pool':
        flags.pool = int(1)
        break
      case '--startup-runs':
        flags.startupRuns = int(1)
        break
      case '--revocations':
        flags.revocations = int(1)
        break
      case '--loadgen': {
        const v = next()
        if (v !== 'wrk' && v !== 'autocannon') throw new Error('--loadgen is wrk or autocannon')
        flags.loadgen = v
        break
      }
      case '--no-pin':
        flags.pin = false
        break
      case '--out':
        flags.out = next()
        break
      case '--no-readme':
        flags.readme = false
        break
      default:
        throw new Error(`unknown flag ${arg}; see npm run bench:scale -- --help`)
    }
  })
  checkLayout(flags.layout)
  const live = flags.layout.sessions - flags.layout.revoked
  // Fresh-mode tokens and the timed revocations take disjoint halves of the live sessions.
  if (flags.pool > Math.floor(live / 4))
    throw new Error(`--pool (${flags.pool}) must be at most a quarter of the live sessions (${live}); lower it or seed more sessions`)
  if (flags.revocations > Math.floor(live / 4))
    throw new Error(`--revocations (${flags.revocations}) must be at most a quarter of the live sessions (${live})`)
  return flags
}
