/**
 * Shared pieces of the benchmark: the secret and token minting every contender agrees on, the
 * statistics (medians with min–max, per-round ratios), and the markdown rendering of results.
 */

import { createKeycard } from 'keycard'

/** One HS256 secret for every contender (≥ 32 bytes). */
export const BENCH_SECRET = 'keycard-bench-secret-0123456789abcdef-0123456789'
/** The subject every token carries; servers answer `{"sub": <subject>}`. */
export const BENCH_SUBJECT = 'bench-user-42'
/** The guarded route every contender serves. */
export const BENCH_PATH = '/me'

/**
 * Mints `count` distinct access tokens with Flask-JWT-Extended's claim layout
 * (`fresh, iat, jti, type, sub, nbf, exp`), valid for two hours so a long run never sees expiry.
 */
export async function mintTokens(count: number, secret = BENCH_SECRET): Promise<string[]> {
  const keycard = await createKeycard({ secret, accessTokenExpires: '2h' })
  const tokens: string[] = []
  for (let i = 0; i < count; i++) tokens.push(await keycard.createAccessToken(BENCH_SUBJECT))
  return tokens
}

export interface Spread {
  median: number
  min: number
  max: number
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

export function spread(values: readonly number[]): Spread {
  if (values.length === 0) return { median: NaN, min: NaN, max: NaN }
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) }
}

/** Ratio per round (`a[i] / b[i]`, same round, so both saw the same machine), then its spread. */
export function roundRatios(a: readonly number[], b: readonly number[]): Spread {
  const ratios: number[] = []
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (b[i]! > 0) ratios.push(a[i]! / b[i]!)
  return spread(ratios)
}

// ---- formatting -----------------------------------------------------------------------------------

export function fmtInt(n: number): string {
  if (!Number.isFinite(n)) return 'n/a'
  return Math.round(n).toLocaleString('en-US')
}

export function fmtMs(n: number): string {
  if (!Number.isFinite(n)) return 'n/a'
  return n < 10 ? n.toFixed(2) : n.toFixed(1)
}

export function fmtRatio(n: number): string {
  return Number.isFinite(n) ? `${n.toFixed(2)}×` : 'n/a'
}

/** "median (min–max)" with the given number formatter. */
export function fmtSpread(s: Spread, fmt: (n: number) => string): string {
  if (!Number.isFinite(s.median)) return 'n/a'
  if (s.min === s.max) return fmt(s.median)
  return `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})`
}

/** A GitHub-flavoured markdown table; the first `alignLeft` columns are left-aligned, the rest right. */
export function markdownTable(head: readonly string[], rows: readonly (readonly string[])[], alignLeft = 1): string {
  const esc = (cell: string) => cell.replace(/\|/g, '\\|')
  const lines = [
    `| ${head.map(esc).join(' | ')} |`,
    `|${head.map((_, i) => (i < alignLeft ? ' :--- ' : ' ---: ')).join('|')}|`,
    ...rows.map((row) => `| ${row.map(esc).join(' | ')} |`),
  ]
  return lines.join('\n')
}

// ---- process helpers ------------------------------------------------------------------------------

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
