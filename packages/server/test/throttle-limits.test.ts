/**
 * The throttle's configuration (THROTTLE_*, THROTTLE_BURST, TRUST_PROXY through loadConfig: defaults,
 * each bad value's message, the ASVS warning) and the client address key (IPv4, IPv4-mapped, IPv6 /64).
 */

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ENV_VARS, loadConfig } from '../src/config.ts'
import { addressKey, UNKNOWN_ADDRESS } from '../src/throttle/address.ts'
import { windowStart } from '../src/throttle/counters.ts'
import { accountFailuresPerHour, LIMIT_VARIABLES, parseLimit, parseThrottle, throttleWarning } from '../src/throttle/limits.ts'
import { accountPart } from '../src/throttle/throttle.ts'
import { configProblems } from './helpers.ts'

test('defaults: 40/1h per account, 100/1h per address, 10/15m per pair and device, 20/1h registrations, 10/1h password changes, burst 10, no proxy', () => {
  const config = loadConfig({ INIT_CWD: '/srv/app' })
  assert.deepEqual(config.throttle, {
    limits: {
      account: { max: 40, window: 3600 },
      address: { max: 100, window: 3600 },
      account_address: { max: 10, window: 900 },
      device: { max: 10, window: 900 },
      register: { max: 20, window: 3600 },
      password: { max: 10, window: 3600 },
    },
    burst: 10,
  })
  assert.equal(config.trustProxy, false)
  // ASVS 4.0.3 V2.2.1: a 60-minute span covers at most two 1h windows, 2 × (40 + 10) = 100.
  assert.equal(accountFailuresPerHour(config.throttle), 100)
  assert.equal(throttleWarning(config.throttle), undefined)
  for (const [variable] of Object.values(LIMIT_VARIABLES)) assert.ok((ENV_VARS as readonly string[]).includes(variable), variable)
  assert.ok((ENV_VARS as readonly string[]).includes('THROTTLE_BURST'))
  assert.ok((ENV_VARS as readonly string[]).includes('TRUST_PROXY'))
})

test('limits are N/DURATION or off, in any unit; the burst a whole number', () => {
  assert.deepEqual(parseLimit('5/10m'), { max: 5, window: 600 })
  assert.deepEqual(parseLimit(' 1 / 1s '), { max: 1, window: 1 })
  assert.deepEqual(parseLimit('3/1.5h'), { max: 3, window: 5400 })
  assert.deepEqual(parseLimit('100/3600'), { max: 100, window: 3600 })
  assert.equal(parseLimit('OFF'), null)
  const config = loadConfig({
    INIT_CWD: '/srv/app',
    THROTTLE_ACCOUNT: '3/1h',
    THROTTLE_ADDRESS: 'off',
    THROTTLE_ACCOUNT_ADDRESS: '2/30s',
    THROTTLE_DEVICE: '4/2d',
    THROTTLE_REGISTER: '1/1w',
    THROTTLE_PASSWORD: 'off',
    THROTTLE_BURST: '0',
  })
  assert.deepEqual(config.throttle.limits, {
    account: { max: 3, window: 3600 },
    address: null,
    account_address: { max: 2, window: 30 },
    device: { max: 4, window: 172800 },
    register: { max: 1, window: 604800 },
    password: null,
  })
  assert.equal(config.throttle.burst, 0)
})

test('each bad limit is a start-up error naming the variable, the format and what it got', () => {
  for (const bad of ['0/1h', '5', '5/', '/1h', '5/0s', '5/1.5s', '5/soon', '-1/1h', 'five/1h', '5/1h/2', 'none']) {
    const found = configProblems({ THROTTLE_ACCOUNT_ADDRESS: bad })
    assert.equal(found.length, 1, bad)
    assert.match(found[0]!, /^THROTTLE_ACCOUNT_ADDRESS: expected N\/DURATION .*such as 5\/10m, or off; got /, bad)
    assert.ok(found[0]!.endsWith(JSON.stringify(bad)), found[0])
  }
  const all = configProblems(Object.fromEntries(Object.values(LIMIT_VARIABLES).map(([variable]) => [variable, 'x'])))
  assert.deepEqual(
    all.map((p) => p.split(':')[0]),
    Object.values(LIMIT_VARIABLES).map(([variable]) => variable),
  )
  for (const bad of ['-1', 'ten', '1.5', '1e3']) {
    const [found] = configProblems({ THROTTLE_BURST: bad })
    assert.match(found!, /^THROTTLE_BURST: expected a whole number of attempts from 0 to 999999, such as 10; got /, bad)
  }
})

test('the ASVS warning: an account allowed more than 100 failures in any hour, or no account limit at all', () => {
  const warn = (env: Record<string, string>) => throttleWarning(parseThrottle([], env))
  assert.equal(warn({ THROTTLE_ACCOUNT: '40/1h', THROTTLE_BURST: '10' }), undefined)
  assert.match(
    warn({ THROTTLE_ACCOUNT: '41/1h' })!,
    /allow up to 102 failed logins per account in an hour, more than the 100 OWASP ASVS 4.0\.3 V2\.2\.1 allows/,
  )
  assert.match(warn({ THROTTLE_BURST: '11' })!, /up to 102 failed/)
  // 15-minute windows: a 60-minute span touches five of them.
  assert.equal(accountFailuresPerHour(parseThrottle([], { THROTTLE_ACCOUNT: '10/15m', THROTTLE_BURST: '0' })), 50)
  assert.match(warn({ THROTTLE_ACCOUNT: '20/15m', THROTTLE_BURST: '1' })!, /up to 105 failed/)
  // A window longer than the hour: still at most two of them in a span.
  assert.equal(warn({ THROTTLE_ACCOUNT: '45/1d', THROTTLE_BURST: '5' }), undefined)
  assert.match(warn({ THROTTLE_ACCOUNT: 'off' })!, /THROTTLE_ACCOUNT is off: failed logins per account are not limited/)
})

test('TRUST_PROXY: true, false, or a list of addresses and CIDRs; anything else (a hop count too) is a start-up error', () => {
  const trust = (value: string) => loadConfig({ INIT_CWD: '/srv/app', TRUST_PROXY: value }).trustProxy
  assert.equal(trust('true'), true)
  assert.equal(trust('FALSE'), false)
  assert.equal(trust(''), false)
  assert.deepEqual(trust('10.0.0.1'), ['10.0.0.1'])
  assert.deepEqual(trust(' 10.0.0.0/8, 192.168.1.0/255.255.255.0 ,fd00::/8, ::1, loopback,uniquelocal,linklocal'), [
    '10.0.0.0/8',
    '192.168.1.0/255.255.255.0',
    'fd00::/8',
    '::1',
    'loopback',
    'uniquelocal',
    'linklocal',
  ])
  const cases: [string, RegExp][] = [
    ['yes', /"yes" is not an IP address/],
    ['10.0.0.0/33', /"10\.0\.0\.0\/33" has a bad prefix length \(1 to 32, or a netmask/],
    ['10.0.0.0/0', /bad prefix length/],
    ['::/129', /"::\/129" has a bad prefix length \(1 to 128\)/],
    ['10.0.0.1,,10.0.0.2', /an empty entry/],
    ['10.0.0.1;10.0.0.2', /is not an IP address/],
    ['999.0.0.1', /is not an IP address/],
    ['1', /a hop count \(1\) is not supported: Fastify ignores X-Forwarded-For then/],
  ]
  for (const [value, expected] of cases) {
    const found = configProblems({ TRUST_PROXY: value })
    assert.equal(found.length, 1, value)
    assert.match(found[0]!, /^TRUST_PROXY: expected true, false, or a comma-separated list of proxy addresses and CIDRs/, value)
    assert.match(found[0]!, expected, value)
  }
})

test('address keys: IPv4 as is, IPv4-mapped IPv6 as its IPv4, other IPv6 by its /64 (compressed forms, zones, case)', () => {
  const cases: [string | undefined, string][] = [
    ['192.0.2.7', '192.0.2.7'],
    ['127.0.0.1', '127.0.0.1'],
    ['::ffff:192.0.2.7', '192.0.2.7'],
    ['::FFFF:c000:0207', '192.0.2.7'],
    ['0:0:0:0:0:ffff:192.0.2.7', '192.0.2.7'],
    ['::1', '0:0:0:0::/64'],
    ['::', '0:0:0:0::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['2001:DB8:0:0:ffff::2', '2001:db8:0:0::/64'],
    ['2001:0db8:0000:0001:aaaa:bbbb:cccc:dddd', '2001:db8:0:1::/64'],
    ['2001:db8:0:1::', '2001:db8:0:1::/64'],
    ['2001:db8:0:1:2:3:4:5', '2001:db8:0:1::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['fe80::abcd%25', 'fe80:0:0:0::/64'],
    ['1:2:3:4:5:6:1.2.3.4', '1:2:3:4::/64'],
    ['64:ff9b::192.0.2.7', '64:ff9b:0:0::/64'],
    ['::192.0.2.7', '0:0:0:0::/64'],
    ['1::', '1:0:0:0::/64'],
    ['a:b:c:d:e::', 'a:b:c:d::/64'],
    [undefined, UNKNOWN_ADDRESS],
    ['', UNKNOWN_ADDRESS],
    ['not-an-ip', UNKNOWN_ADDRESS],
    ['1.2.3', UNKNOWN_ADDRESS],
    ['1.2.3.4:80', UNKNOWN_ADDRESS],
    ['2001:db8::1::2', UNKNOWN_ADDRESS],
    ['12345::', UNKNOWN_ADDRESS],
    ['%eth0', UNKNOWN_ADDRESS],
  ]
  for (const [ip, key] of cases) assert.equal(addressKey(ip), key, String(ip))
  // Two addresses in one /64 share a key; the next /64 does not.
  assert.equal(addressKey('2001:db8:1:2:aaaa::1'), addressKey('2001:db8:1:2:bbbb:cccc:dddd:eeee'))
  assert.notEqual(addressKey('2001:db8:1:2::1'), addressKey('2001:db8:1:3::1'))
})

test('account keys: a user by id; an unknown name by its NFC, case-folded form, hashed', () => {
  assert.equal(accountPart({ id: 7 }, 'whatever'), 'u:7')
  const nobody = accountPart(undefined, 'Nobody')
  assert.equal(accountPart(undefined, 'NOBODY'), nobody)
  assert.equal(accountPart(undefined, 'nobody'), nobody)
  assert.equal(accountPart(undefined, 'Zoe\u0308'), accountPart(undefined, 'ZOË'))
  assert.notEqual(accountPart(undefined, 'nobody2'), nobody)
  assert.match(nobody, /^n:[A-Za-z0-9_-]{43}$/, 'the typed name is not stored')
  const long = 'x'.repeat(300)
  assert.match(accountPart(undefined, long), /^n:[A-Za-z0-9_-]{43}$/)
})

test('windows are fixed: floor(now / window) * window', () => {
  assert.equal(windowStart(7250, { max: 1, window: 3600 }), 7200)
  assert.equal(windowStart(7199, { max: 1, window: 3600 }), 3600)
  assert.equal(windowStart(7200, { max: 1, window: 900 }), 7200)
})
