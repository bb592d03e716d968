/** Short, human forms of what the server sends: a device name from a User-Agent, a time as "3 hours ago". */

/**
 * "Firefox on Linux" from a User-Agent, or undefined when neither a browser nor a system is recognised.
 *
 * @example
 * ```ts
 * knownDevice('Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0') // 'Firefox on Linux'
 * ```
 */
export function knownDevice(ua: string): string | undefined {
  const browser = /(Edg|Firefox|Chrome|Chromium|Safari|curl|node)[/ ]/i.exec(ua)?.[1]
  const os = /(Windows|Android|iPhone|iPad|Mac OS X|Linux|CrOS)/.exec(ua)?.[1]
  if (!browser && !os) return undefined
  return os ? `${browser ?? 'Browser'} on ${os.replace('Mac OS X', 'macOS')}` : browser
}

/**
 * A short name for a browser from its User-Agent (the sessions list).
 *
 * @example
 * ```ts
 * device(null) // 'Unknown device'
 * ```
 */
export function device(ua: string | null): string {
  if (!ua) return 'Unknown device'
  return knownDevice(ua) ?? 'Browser'
}

const AGENT_CHARS = 60

/**
 * The device name when it is recognised, else the User-Agent itself cut to 60 characters: an odd
 * agent (a script, a forged header) is shown for what it is, not hidden behind "Browser". Plain
 * text: the caller puts it in `textContent`, never in HTML.
 *
 * @example
 * ```ts
 * shortAgent('my-script/1.0') // 'my-script/1.0'
 * ```
 */
export function shortAgent(ua: string | null): string {
  if (!ua) return 'Unknown device'
  const known = knownDevice(ua)
  if (known) return known
  return ua.length > AGENT_CHARS ? `${ua.slice(0, AGENT_CHARS - 1)}…` : ua
}

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['year', 365 * 86400],
  ['month', 30 * 86400],
  ['week', 7 * 86400],
  ['day', 86400],
  ['hour', 3600],
  ['minute', 60],
]
// English like the rest of the page's text.
const relative = new Intl.RelativeTimeFormat('en', { numeric: 'auto' })

/**
 * How long ago `iso` was, as of `now` (ms): "just now" under a minute (and for a time slightly ahead
 * of this browser's clock), then minutes, hours, days, weeks, months, years.
 *
 * @example
 * ```ts
 * ago('2026-01-02T00:00:00Z', Date.parse('2026-01-02T03:00:00Z')) // '3 hours ago'
 * ```
 */
export function ago(iso: string, now = Date.now()): string {
  const then = Date.parse(iso)
  if (Number.isNaN(then)) return iso
  const seconds = (now - then) / 1000
  if (seconds < 60) return 'just now'
  for (const [unit, size] of UNITS) if (seconds >= size) return relative.format(-Math.floor(seconds / size), unit)
  return 'just now'
}
