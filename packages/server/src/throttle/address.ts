/**
 * The client address the throttle counts by: an IPv4 address as is (also when it arrives IPv4-mapped,
 * `::ffff:a.b.c.d`), an IPv6 address by its /64 prefix, since one subscriber usually holds a whole /64
 * and could otherwise rotate through 2^64 addresses.
 */

import { isIPv4, isIPv6 } from 'node:net'

/**
 * The key for anything that is not an IP address (a proxy that forwarded garbage): one shared bucket,
 * so inventing values buys nothing.
 *
 * @example
 * addressKey('not-an-ip') === UNKNOWN_ADDRESS // true
 */
export const UNKNOWN_ADDRESS = 'unknown'

/** The eight 16-bit groups of a valid IPv6 address (zone already removed), or undefined. */
function ipv6Groups(address: string): number[] | undefined {
  let text = address
  const groups: number[] = []
  // A trailing dotted quad (::ffff:1.2.3.4, 64:ff9b::1.2.3.4) is the last two groups.
  const quad = /(\d{1,3}(?:\.\d{1,3}){3})$/.exec(text)
  let tail: number[] = []
  if (quad && isIPv4(quad[1]!)) {
    const [a, b, c, d] = quad[1]!.split('.').map(Number) as [number, number, number, number]
    tail = [(a << 8) | b, (c << 8) | d]
    text = text.slice(0, -quad[1]!.length)
    if (text.endsWith(':') && !text.endsWith('::')) text = text.slice(0, -1)
  }
  const halves = text.split('::')
  if (halves.length > 2) return undefined
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => Number.parseInt(g, 16)))
  const head = parse(halves[0]!)
  const rest = halves.length === 2 ? parse(halves[1]!) : []
  const missing = 8 - tail.length - head.length - rest.length
  if (halves.length === 1 ? missing !== 0 : missing < 0) return undefined
  groups.push(...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...rest, ...tail)
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : undefined
}

/**
 * The throttle key of a client address (Fastify's `request.ip`): `a.b.c.d` for IPv4 and IPv4-mapped
 * IPv6, `g1:g2:g3:g4::/64` (lower-case hex, no leading zeros) for any other IPv6 address (a zone such
 * as `%eth0` dropped), UNKNOWN_ADDRESS for anything else.
 *
 * @example
 * addressKey('::ffff:192.0.2.7')          // '192.0.2.7'
 * addressKey('2001:DB8:0:1:aaaa::1')      // '2001:db8:0:1::/64'
 * addressKey('fe80::1%eth0')              // 'fe80:0:0:0::/64'
 */
export function addressKey(ip: string | undefined): string {
  if (ip === undefined) return UNKNOWN_ADDRESS
  if (isIPv4(ip)) return ip
  const zone = ip.indexOf('%')
  const bare = zone === -1 ? ip : ip.slice(0, zone)
  if (!isIPv6(bare)) return UNKNOWN_ADDRESS
  const groups = ipv6Groups(bare)
  if (!groups) return UNKNOWN_ADDRESS
  const mapped = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff
  if (mapped) return `${groups[6]! >> 8}.${groups[6]! & 0xff}.${groups[7]! >> 8}.${groups[7]! & 0xff}`
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`
}
