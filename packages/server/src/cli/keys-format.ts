/** How `keycard keys` shows the ring: a table, the changes a command made, times as ISO and in words. */

import type { KeyInfo } from '../keys/keyring.ts'

/**
 * Epoch seconds as an ISO time without milliseconds.
 *
 * @example
 * iso(1_800_000_000) // '2027-01-15T08:00:00Z'
 */
export function iso(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace('.000Z', 'Z')
}

/**
 * ` (in 2d 3h)`, ` (in 20m)`, ` (now)`: how far away a time is, roughly, for people.
 *
 * @example
 * inWords(1200) // ' (in 20m)'
 */
export function inWords(seconds: number): string {
  if (seconds <= 0) return ' (now)'
  const units: [string, number][] = [
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ]
  const parts: string[] = []
  let left = seconds
  for (const [name, size] of units) {
    if (left >= size && parts.length < 2) {
      parts.push(`${Math.floor(left / size)}${name}`)
      left %= size
    } else if (parts.length > 0) break
  }
  return ` (in ${parts.join(' ')})`
}

/** When each state's key next changes, for the table's last column. */
function when(k: KeyInfo): string {
  switch (k.state) {
    case 'next':
      return k.activateAt === null ? '' : `current from ${iso(k.activateAt)}`
    case 'current':
      return `current since ${iso(k.activatedAt ?? k.createdAt)}`
    case 'previous':
      return k.verifyUntil === null ? '' : `verifies until ${iso(k.verifyUntil)}`
    case 'retired':
      return k.retiredAt === null ? '' : `retired ${iso(k.retiredAt)}`
  }
}

/**
 * The keys as an aligned table, newest first as given.
 *
 * @example
 * process.stdout.write(formatTable(await listKeys(db)))
 */
export function formatTable(keys: readonly KeyInfo[]): string {
  const rows = [['KID', 'ALG', 'STATE', 'CREATED', 'WHEN'], ...keys.map((k) => [k.kid, k.algorithm, k.state, iso(k.createdAt), when(k)])]
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  return `${rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n')}\n`
}

const STATE_ORDER = { retired: 0, previous: 1, current: 2, next: 3 } as const

/**
 * One line per key a command made or moved, comparing the ring before and after; "Nothing changed." when none.
 *
 * @example
 * process.stdout.write(formatChanges(before, await keyring.list(), now))
 */
export function formatChanges(before: readonly KeyInfo[], after: readonly KeyInfo[], now: number): string {
  const old = new Map(before.map((k) => [k.kid, k]))
  // In the order things happen: what stops signing, what starts, what is published for later.
  const lines: [order: number, line: string][] = []
  for (const k of after) {
    const was = old.get(k.kid)
    const name = `signing key ${k.kid} (${k.algorithm})`
    if (!was) {
      if (k.state === 'next') lines.push([3, `Published ${name} as next: current from ${iso(k.activateAt ?? now)}.`])
      else lines.push([2, `Made ${name}: ${k.state} at once.`])
    } else if (was.state !== k.state) {
      const detail =
        k.state === 'previous' && k.verifyUntil !== null ? `: verifies the tokens it signed until ${iso(k.verifyUntil)}, then retires` : ''
      lines.push([STATE_ORDER[k.state], `Moved ${name}: ${was.state} -> ${k.state}${detail}.`])
    } else if (k.state === 'next' && was.activateAt !== k.activateAt && k.activateAt !== null) {
      lines.push([
        3,
        `Brought forward ${name}: current from ${iso(k.activateAt)} (was ${was.activateAt === null ? 'unset' : iso(was.activateAt)}).`,
      ])
    }
  }
  const text = lines.sort((a, b) => a[0] - b[0]).map(([, line]) => line)
  return `${text.length === 0 ? 'Nothing changed.' : text.join('\n')}\n`
}
