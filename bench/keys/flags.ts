/** The flags of `npm run bench -- --keys` (bench/keys.ts), parsed and checked once. */

import { forEachArg, loadFlagDefaults, readLoadFlag, type LoadFlags } from '../args.ts'

export interface KeysFlags extends LoadFlags {
  microPool: number
}

/**
 * Parses the flags; `--smoke` sets short defaults first (later flags still win).
 *
 * @example
 * parseKeysFlags(['--rounds', '3', '--duration', '5']).rounds // 3
 */
export function parseKeysFlags(argv: readonly string[]): KeysFlags {
  const flags: KeysFlags = { ...loadFlagDefaults(argv), microPool: argv.includes('--smoke') ? 200 : 5_000 }
  forEachArg(argv, (arg, read) => {
    if (readLoadFlag(flags, arg, read)) return
    switch (arg) {
      case '--keys':
        break
      case '--micro-pool':
        flags.microPool = read.int(2)
        break
      default:
        throw new Error(`unknown flag ${arg}; npm run bench -- --keys --help lists them`)
    }
  })
  if (flags.modes.length === 0) throw new Error('--modes: name at least one of repeated, fresh')
  for (const mode of flags.modes)
    if (mode !== 'repeated' && mode !== 'fresh') throw new Error(`--modes: unknown mode ${mode} (repeated, fresh)`)
  return flags
}
