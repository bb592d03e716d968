/**
 * In-process micro-benchmark of issue 14: verifying one ES256 or EdDSA token, keycard next to jose,
 * same tokens, same process, cases interleaved round by round (one discarded warm-up round first).
 *
 * Per algorithm, with a key set of two keys (the signing key and a published next key, each with its kid):
 * - floor: node:crypto's verify with a KeyObject made once, plus base64url decode and JSON.parse of
 *   header and payload: the least any verifier of this algorithm must do.
 * - keycard `keys` (static keys, kid lookup) and keycard `jwks` (the same set as an object), each cold
 *   (`cacheSize: 0`, a distinct token every call: the signature is checked) and cache hit (one token,
 *   verified once, then served from the verified-token cache, time claims re-checked); `decodeToken`.
 * - jose `jwtVerify` with the key imported once (`importJWK`) and with `createLocalJWKSet(set)` (the kid
 *   picks the key), distinct tokens (jose keeps no verified-token cache: a repeated token costs the same).
 *
 * Ratios are per round: case ops/s ÷ jose's ops/s (imported key; local JWKS) and floor ÷ case.
 *
 * Usage: node --import tsx bench/keys/micro.ts [--rounds 5] [--ms 300] [--pool 5000] [--json]
 */

import { verify as cryptoVerify, type KeyObject } from 'node:crypto'
import { pathToFileURL } from 'node:url'
import { createLocalJWKSet, importJWK, jwtVerify } from 'jose'
import { createKeycard } from 'keycard'
import { fmtInt, fmtRatio, fmtSpread, markdownTable, roundRatios, spread, type Spread } from '../lib.ts'
import { batch, type Op } from '../run-micro.ts'
import { type AsymmetricAlgorithm, type BenchKey, generateBenchKey, jwksOf, mintSigned } from './material.ts'

export const MICRO_ALGORITHMS: readonly AsymmetricAlgorithm[] = ['ES256', 'EdDSA']

export interface KeysMicroCase {
  id: string
  algorithm: AsymmetricAlgorithm
  label: string
  opsPerSec: Spread
  nsPerOp: number
  /** This case's ops/s ÷ jose.jwtVerify's with the imported key, per round (same algorithm). */
  vsJoseKey: Spread
  /** This case's ops/s ÷ jose.jwtVerify's with createLocalJWKSet, per round (same algorithm). */
  vsJoseLocalJwks: Spread
  /** The floor's ops/s ÷ this case's, per round. */
  costVsFloor: Spread
  rounds: number[]
}

export interface KeysMicroResult {
  rounds: number
  msPerBatch: number
  pool: number
  cases: KeysMicroCase[]
  /** Cases that could not be built (the reason, e.g. an option this keycard does not have yet). */
  skipped: { id: string; reason: string }[]
}

interface Case {
  id: string
  algorithm: AsymmetricAlgorithm
  label: string
  op: Op
  isAsync: boolean
}

function floorOp(key: BenchKey, pick: (i: number) => string): Op {
  const publicKey: KeyObject = key.publicKey
  const es = key.algorithm === 'ES256'
  return (i) => {
    const token = pick(i)
    const first = token.indexOf('.')
    const last = token.lastIndexOf('.')
    const data = Buffer.from(token.slice(0, last), 'latin1')
    const signature = Buffer.from(token.slice(last + 1), 'base64url')
    const ok = es
      ? cryptoVerify('sha256', data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature)
      : cryptoVerify(null, data, publicKey, signature)
    if (!ok) throw new Error('bad signature')
    const header = JSON.parse(Buffer.from(token.slice(0, first), 'base64url').toString('utf8')) as { alg: string; kid: string }
    if (header.alg !== key.algorithm || header.kid !== key.kid) throw new Error('bad header')
    return JSON.parse(Buffer.from(token.slice(first + 1, last), 'base64url').toString('utf8'))
  }
}

async function casesFor(
  algorithm: AsymmetricAlgorithm,
  poolSize: number,
  skipped: KeysMicroResult['skipped'],
): Promise<{ cases: Case[]; tokens: string[] }> {
  const signing = await generateBenchKey(algorithm)
  const next = await generateBenchKey(algorithm)
  const set = jwksOf([next, signing])
  const tokens = await mintSigned(signing, poolSize)
  const one = tokens[0]!
  const pick = (i: number) => tokens[i % poolSize]!
  const cases: Case[] = [
    {
      id: `${algorithm}-floor`,
      algorithm,
      label: 'floor: node:crypto verify + base64url + JSON.parse',
      op: floorOp(signing, pick),
      isAsync: false,
    },
  ]

  // A keycard mode the library does not offer is reported, not faked: the other rows still run.
  const keycardRows = async (mode: 'keys' | 'jwks', label: string, options: () => Record<string, unknown>) => {
    try {
      const cold = await createKeycard({ ...options(), cacheSize: 0 })
      const warm = await createKeycard(options())
      cases.push(
        {
          id: `${algorithm}-keycard-${mode}-cold`,
          algorithm,
          label: `keycard ${label}, cold (cacheSize 0, distinct tokens)`,
          op: (i) => cold.decodeToken(pick(i)),
          isAsync: true,
        },
        {
          id: `${algorithm}-keycard-${mode}-hit`,
          algorithm,
          label: `keycard ${label}, cache hit`,
          op: () => warm.decodeToken(one),
          isAsync: true,
        },
      )
    } catch (err) {
      skipped.push({ id: `${algorithm}-keycard-${mode}`, reason: err instanceof Error ? err.message : String(err) })
    }
  }
  const entries = [next, signing].map((k) => ({ kid: k.kid, algorithm: k.algorithm, publicKey: k.publicKey }))
  await keycardRows('keys', '`keys` (2 kids)', () => ({ keys: entries }))
  await keycardRows('jwks', '`jwks` set object (2 kids)', () => ({ jwks: set }))

  const imported = await importJWK(signing.publicJwk, algorithm)
  const local = createLocalJWKSet(set)
  cases.push(
    {
      id: `${algorithm}-jose-key`,
      algorithm,
      label: 'jose.jwtVerify, key imported once',
      op: (i) => jwtVerify(pick(i), imported, { algorithms: [algorithm] }),
      isAsync: true,
    },
    {
      id: `${algorithm}-jose-local-jwks`,
      algorithm,
      label: 'jose.jwtVerify + createLocalJWKSet (kid lookup)',
      op: (i) => jwtVerify(pick(i), local, { algorithms: [algorithm] }),
      isAsync: true,
    },
  )
  return { cases, tokens }
}

export async function runKeysMicro(options: { rounds?: number; ms?: number; pool?: number } = {}): Promise<KeysMicroResult> {
  const rounds = options.rounds ?? 5
  const ms = options.ms ?? 300
  const pool = options.pool ?? 5_000
  const skipped: KeysMicroResult['skipped'] = []
  const cases: Case[] = []
  for (const algorithm of MICRO_ALGORITHMS) cases.push(...(await casesFor(algorithm, pool, skipped)).cases)

  // Sanity: every case accepts its tokens (a refusal throws here, before anything is timed).
  for (const c of cases) {
    const out = (await c.op(1)) as { sub?: unknown; payload?: { sub?: unknown } } | undefined
    if (out === undefined) throw new Error(`${c.id}: no claims returned`)
  }

  const perCase = new Map<string, number[]>(cases.map((c) => [c.id, []]))
  for (let round = -1; round < rounds; round++) {
    for (const c of cases) {
      const opsPerSec = await batch(c.op, round < 0 ? Math.min(ms, 200) : ms, c.isAsync)
      if (round >= 0) perCase.get(c.id)!.push(opsPerSec)
    }
  }
  return {
    rounds,
    msPerBatch: ms,
    pool,
    skipped,
    cases: cases.map((c) => {
      const r = perCase.get(c.id)!
      const ops = spread(r)
      return {
        id: c.id,
        algorithm: c.algorithm,
        label: c.label,
        opsPerSec: ops,
        nsPerOp: 1e9 / ops.median,
        vsJoseKey: roundRatios(r, perCase.get(`${c.algorithm}-jose-key`)!),
        vsJoseLocalJwks: roundRatios(r, perCase.get(`${c.algorithm}-jose-local-jwks`)!),
        costVsFloor: roundRatios(perCase.get(`${c.algorithm}-floor`)!, r),
        rounds: r,
      }
    }),
  }
}

/**
 * The in-process table: one row per case, both algorithms.
 *
 * @example
 * process.stdout.write(keysMicroTable(await runKeysMicro({ rounds: 1, ms: 20, pool: 100 })))
 */
export function keysMicroTable(result: KeysMicroResult): string {
  return markdownTable(
    ['Alg', 'Case', 'ops/s median (min–max)', 'µs/op', '× jose (imported key)', '× jose (createLocalJWKSet)', 'cost vs floor'],
    result.cases.map((c) => [
      c.algorithm,
      c.label,
      fmtSpread(c.opsPerSec, fmtInt),
      (c.nsPerOp / 1000).toFixed(2),
      fmtSpread(c.vsJoseKey, fmtRatio),
      fmtSpread(c.vsJoseLocalJwks, fmtRatio),
      fmtSpread(c.costVsFloor, fmtRatio),
    ]),
    2,
  )
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2)
  const value = (name: string) => {
    const i = args.indexOf(name)
    return i === -1 ? undefined : Number(args[i + 1])
  }
  const result = await runKeysMicro({ rounds: value('--rounds'), ms: value('--ms'), pool: value('--pool') })
  if (args.includes('--json')) process.stdout.write(`${JSON.stringify(result)}\n`)
  else process.stdout.write(`${keysMicroTable(result)}\n`)
}
