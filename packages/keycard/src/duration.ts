/** Durations in options: a number of seconds or a string such as `'15m'`, `'30d'`, `'1.5h'`. */

export type Duration = number | `${number}${'' | 's' | 'm' | 'h' | 'd' | 'w'}`

const UNITS: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800 }
const PATTERN = /^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)?$/

/** Seconds in `value`, or `undefined` when it is not a duration (the caller words the error). */
export function toSeconds(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined
  if (typeof value !== 'string') return undefined
  const match = PATTERN.exec(value.trim())
  if (!match) return undefined
  return Number(match[1]) * UNITS[match[2] ?? '']!
}
