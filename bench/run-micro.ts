/**
 * In-process micro-benchmark: operations per second of verifying one HS256 token.
 *
 * - floor: the least a correct HS256 verifier can do: one HMAC-SHA256 through node:crypto (key object
 *   made once), a constant-time compare, base64url decode and JSON.parse of header and payload.
 * - keycard cold: `decodeToken` on a different token every call with the cache off (`cacheSize: 0`).
 * - keycard cache hit: `decodeToken` on the same token (verified once, then served from the cache,
 *   time claims re-checked).
 * - keycard guard cold / hit: `verifyJwtInRequest` (header lookup, type check, revocation check in a
 *   MemoryRevocationStore) on a minimal RequestView, the whole per-request path minus HTTP.
 * - jose.jwtVerify: the key imported once as a CryptoKey.
 * - keycard checkRequestResult, cold: the adapters' synchronous guard call on distinct accepted tokens, cache
 *   off: the baseline of the rejection rows (issue 15: a rejection must not cost more than this).
 * - rejected tokens through the same call: garbage (`Bearer garbage`), a bad signature and an expired
 *   token (distinct tokens, as an attacker's would be), and adversarial 16 KiB `Authorization` values
 *   (a run of commas, a run of spaces, `Bearer ` repeated), each with its cost next to an accepted
 *   cold token's, same run: every parsing step is linear, so one costs no more than an accepted token,
 *   not a stall of the event loop (the quadratic comma clean-up cost 130–160 ms each).
 *
 * Cases are interleaved round by round; each batch runs until `ms` milliseconds have passed (checked
 * every 64 operations, capped at 5 million). Reports medians with min–max and each case's cost
 * relative to the floor (floor ops/s ÷ case ops/s, per round).
 *
 * Usage: node --import tsx bench/run-micro.ts [--rounds 5] [--ms 300] [--json]
 */

import { createHmac, createSecretKey, timingSafeEqual, webcrypto } from 'node:crypto'
import { pathToFileURL } from 'node:url'
import { jwtVerify } from 'jose'
import { createKeycard, isTokenError, MemoryRevocationStore, type RequestView } from 'keycard'
import {
  BENCH_SECRET,
  BENCH_SUBJECT,
  fmtInt,
  fmtRatio,
  fmtSpread,
  markdownTable,
  mintTokens,
  roundRatios,
  spread,
  type Spread,
} from './lib.ts'

export interface MicroCase {
  id: string
  label: string
  opsPerSec: Spread
  nsPerOp: number
  /** Cost relative to the floor: floor ops/s ÷ this case's ops/s, per round. */
  costVsFloor: Spread
  /** Rejection rows: cost relative to an accepted token on `checkRequestResult`'s cold path, per round. */
  costVsAccepted?: Spread
  rounds: number[]
}

export interface MicroResult {
  rounds: number
  msPerBatch: number
  pool: number
  cases: MicroCase[]
}

export type Op = (i: number) => unknown

const MAX_OPS = 5_000_000

/**
 * Runs `op` for `ms` milliseconds (checked every 64 operations, capped at 5 million); returns ops/s.
 *
 * @example
 * const opsPerSec = await batch((i) => verify(tokens[i % tokens.length]), 300, false)
 */
export async function batch(op: Op, ms: number, isAsync: boolean): Promise<number> {
  const start = process.hrtime.bigint()
  const limit = start + BigInt(Math.round(ms * 1e6))
  let ops = 0
  let now = start
  while (ops < MAX_OPS) {
    if (isAsync) for (let k = 0; k < 64; k++) await op(ops + k)
    else for (let k = 0; k < 64; k++) op(ops + k)
    ops += 64
    now = process.hrtime.bigint()
    if (now >= limit) break
  }
  return ops / (Number(now - start) / 1e9)
}

/** The rows whose cost is also given against an accepted cold token. */
const REJECTION_IDS = new Set([
  'rejected-garbage',
  'rejected-bad-signature',
  'rejected-expired',
  'adversarial-commas',
  'adversarial-spaces',
  'adversarial-bearer',
])

/**
 * `Authorization` values of rejected tokens, `count` distinct ones where they can differ, with the
 * start of the message each must be refused with: garbage, a bad signature (a valid token with the
 * first signature character changed, so it stays canonical base64url and fails at the HMAC), and
 * an expired token (exp an hour ago).
 *
 * @example
 * const [garbage, badSignature, expired] = await rejectionInputs(1000)
 */
export async function rejectionInputs(count: number): Promise<{ id: string; label: string; values: string[]; msg: string }[]> {
  const valid = await mintTokens(count)
  const keycard = await createKeycard({ secret: BENCH_SECRET, accessTokenExpires: '2h' })
  const past = Math.floor(Date.now() / 1000) - 3600
  const expired: string[] = []
  for (let i = 0; i < count; i++)
    expired.push(
      `Bearer ${await keycard.createAccessToken(BENCH_SUBJECT, { additionalClaims: { iat: past - 60, nbf: past - 60, exp: past } })}`,
    )
  return [
    { id: 'rejected-garbage', label: 'rejected: garbage (Bearer garbage)', values: ['Bearer garbage'], msg: 'Not enough segments' },
    {
      id: 'rejected-bad-signature',
      label: 'rejected: bad signature (distinct tokens)',
      values: valid.map((t) => `Bearer ${badSignature(t)}`),
      msg: 'Signature verification failed',
    },
    { id: 'rejected-expired', label: 'rejected: expired (distinct tokens)', values: expired, msg: 'Token has expired' },
  ]
}

/**
 * The token with its signature's first character changed (still canonical base64url).
 *
 * @example
 * await keycard.decodeToken(badSignature(token)) // rejects: Signature verification failed
 */
export function badSignature(token: string): string {
  const at = token.lastIndexOf('.') + 1
  return `${token.slice(0, at)}${token[at] === 'A' ? 'B' : 'A'}${token.slice(at + 1)}`
}

export async function runMicro(options: { rounds?: number; ms?: number; pool?: number } = {}): Promise<MicroResult> {
  const rounds = options.rounds ?? 5
  const ms = options.ms ?? 300
  const poolSize = options.pool ?? 20_000
  const tokens = await mintTokens(poolSize)
  const one = tokens[0]!
  const pick = (i: number) => tokens[i % poolSize]!

  const cold = await createKeycard({ secret: BENCH_SECRET, cacheSize: 0, revocationStore: new MemoryRevocationStore() })
  const warm = await createKeycard({ secret: BENCH_SECRET, revocationStore: new MemoryRevocationStore() })
  const hmacKey = createSecretKey(Buffer.from(BENCH_SECRET))
  const joseKey = await webcrypto.subtle.importKey('raw', Buffer.from(BENCH_SECRET), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify'])

  const floor: Op = (i) => {
    const token = pick(i)
    const first = token.indexOf('.')
    const last = token.lastIndexOf('.')
    const mac = createHmac('sha256', hmacKey).update(token.slice(0, last)).digest()
    const signature = Buffer.from(token.slice(last + 1), 'base64url')
    if (mac.length !== signature.length || !timingSafeEqual(mac, signature)) throw new Error('bad signature')
    const header = JSON.parse(Buffer.from(token.slice(0, first), 'base64url').toString('utf8')) as { alg: string }
    if (header.alg !== 'HS256') throw new Error('bad alg')
    return JSON.parse(Buffer.from(token.slice(first + 1, last), 'base64url').toString('utf8'))
  }
  const view = (token: string): RequestView => {
    const authorization = `Bearer ${token}`
    return { method: 'GET', header: (name) => (name === 'authorization' ? authorization : undefined) }
  }
  const views = tokens.map(view)
  const oneView = view(one)

  // Rejected requests: each answer is the expected refusal, checked on every call; the cost is next to
  // an accepted cold token's. Through checkRequestResult, the adapters' call (before it existed, they
  // called checkRequest, which throws the refusal: the catch takes either).
  const ADVERSARIAL_SIZE = 16 * 1024
  const rejections = await rejectionInputs(poolSize)
  const rejected = [
    ...rejections.map(({ id, label, values, msg }) => ({ id, label, values, msg })),
    {
      id: 'adversarial-commas',
      label: 'adversarial 16 KiB header: x,,,…,x',
      values: [`x${','.repeat(ADVERSARIAL_SIZE - 2)}x`],
      msg: "Missing 'Bearer' type",
    },
    {
      id: 'adversarial-spaces',
      label: 'adversarial 16 KiB header: Bearer x    …    y',
      values: [`Bearer x${' '.repeat(ADVERSARIAL_SIZE - 10)}y`],
      msg: 'Bad Authorization header',
    },
    {
      id: 'adversarial-bearer',
      label: 'adversarial 16 KiB header: Bearer Bearer …',
      values: ['Bearer '.repeat(ADVERSARIAL_SIZE / 7)],
      msg: 'Bad Authorization header',
    },
  ]
  const refuse = (req: RequestView, expected: string) => {
    let answer: unknown
    try {
      answer = warm.checkRequestResult(req)
    } catch (err) {
      answer = err
    }
    if (!isTokenError(answer)) throw new Error('a rejected input was accepted')
    if (!answer.message.startsWith(expected)) throw new Error(`unexpected refusal: ${answer.message}`)
  }
  const accept = (i: number) => {
    const context = cold.checkRequestResult(views[i % poolSize]!)
    if (context === null || context instanceof Promise || isTokenError(context))
      throw new Error('checkRequestResult did not accept a valid token synchronously')
    return context
  }

  const cases: { id: string; label: string; op: Op; isAsync: boolean }[] = [
    { id: 'floor', label: 'floor: HMAC-SHA256 + base64url + JSON.parse', op: floor, isAsync: false },
    {
      id: 'keycard-cold',
      label: 'keycard decodeToken, cold (cacheSize 0, distinct tokens)',
      op: (i) => cold.decodeToken(pick(i)),
      isAsync: true,
    },
    { id: 'keycard-hit', label: 'keycard decodeToken, cache hit', op: () => warm.decodeToken(one), isAsync: true },
    {
      id: 'keycard-guard-cold',
      label: 'keycard verifyJwtInRequest, cold (revocation check on)',
      op: (i) => cold.verifyJwtInRequest(views[i % poolSize]!),
      isAsync: true,
    },
    {
      id: 'keycard-guard-hit',
      label: 'keycard verifyJwtInRequest, cache hit (revocation check on)',
      op: () => warm.verifyJwtInRequest(oneView),
      isAsync: true,
    },
    {
      id: 'jose',
      label: 'jose.jwtVerify (key imported once)',
      op: (i) => jwtVerify(pick(i), joseKey, { algorithms: ['HS256'] }),
      isAsync: true,
    },
    { id: 'keycard-check-cold', label: 'keycard checkRequestResult, cold (accepted token)', op: accept, isAsync: false },
    ...rejected.map(({ id, label, values, msg }) => {
      const reqs = values.map((value): RequestView => ({ method: 'GET', header: (name) => (name === 'authorization' ? value : undefined) }))
      return { id, label, op: (i: number) => refuse(reqs[i % reqs.length]!, msg), isAsync: false }
    }),
  ]

  // Sanity: every case accepts the tokens.
  for (const c of cases) await c.op(1)

  const perCase = new Map<string, number[]>(cases.map((c) => [c.id, []]))
  // One discarded warm-up round for the JIT, then the measured rounds, interleaved.
  for (let round = -1; round < rounds; round++) {
    for (const c of cases) {
      const opsPerSec = await batch(c.op, round < 0 ? Math.min(ms, 200) : ms, c.isAsync)
      if (round >= 0) perCase.get(c.id)!.push(opsPerSec)
    }
  }
  const floorRounds = perCase.get('floor')!
  const acceptedRounds = perCase.get('keycard-check-cold')!
  return {
    rounds,
    msPerBatch: ms,
    pool: poolSize,
    cases: cases.map((c) => {
      const r = perCase.get(c.id)!
      const ops = spread(r)
      const costVsAccepted = REJECTION_IDS.has(c.id) ? { costVsAccepted: roundRatios(acceptedRounds, r) } : {}
      return {
        id: c.id,
        label: c.label,
        opsPerSec: ops,
        nsPerOp: 1e9 / ops.median,
        costVsFloor: roundRatios(floorRounds, r),
        ...costVsAccepted,
        rounds: r,
      }
    }),
  }
}

export function microTable(result: MicroResult): string {
  return markdownTable(
    ['Case', 'ops/s median (min–max)', 'ns/op', 'cost vs floor', 'cost vs an accepted token (checkRequestResult, cold)'],
    result.cases.map((c) => [
      c.label,
      fmtSpread(c.opsPerSec, fmtInt),
      fmtInt(c.nsPerOp),
      fmtSpread(c.costVsFloor, fmtRatio),
      c.costVsAccepted ? fmtSpread(c.costVsAccepted, fmtRatio) : '—',
    ]),
  )
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2)
  const value = (name: string) => {
    const i = args.indexOf(name)
    return i === -1 ? undefined : Number(args[i + 1])
  }
  const result = await runMicro({ rounds: value('--rounds'), ms: value('--ms'), pool: value('--pool') })
  if (args.includes('--json')) process.stdout.write(`${JSON.stringify(result)}\n`)
  else process.stdout.write(`${microTable(result)}\n`)
}
