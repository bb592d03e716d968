/**
 * The asymmetric keys of the issue-14 bench: key pairs with RFC 7638 kids, the public JWKS built from
 * them, tokens minted by keycard with Flask-JWT-Extended's claim layout and the kid in the header, and
 * the local JWKS HTTP server every resource server fetches its keys from.
 */

import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { calculateJwkThumbprint, type JWK } from 'jose'
import { createKeycard } from 'keycard'
import { BENCH_SUBJECT } from '../lib.ts'

export type AsymmetricAlgorithm = 'ES256' | 'EdDSA'

/** One key pair of the bench: its kid (the public JWK's thumbprint), algorithm and both halves. */
export interface BenchKey {
  kid: string
  algorithm: AsymmetricAlgorithm
  privateKey: KeyObject
  publicKey: KeyObject
  /** kty + public parameters, kid, alg, use: 'sig' (never a private member). */
  publicJwk: JWK
}

/**
 * A fresh key pair (ES256: P-256; EdDSA: Ed25519) from node:crypto.
 *
 * @example
 * const key = await generateBenchKey('ES256')
 */
export async function generateBenchKey(algorithm: AsymmetricAlgorithm): Promise<BenchKey> {
  const { privateKey, publicKey } =
    algorithm === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('ed25519')
  const exported = publicKey.export({ format: 'jwk' }) as JWK
  const kid = await calculateJwkThumbprint(exported)
  return { kid, algorithm, privateKey, publicKey, publicJwk: { ...exported, kid, alg: algorithm, use: 'sig' } }
}

/**
 * The public key set of `keys`, as an issuer publishes it.
 *
 * @example
 * const set = jwksOf([current, next]) // { keys: [{ kty: 'EC', crv: 'P-256', x, y, kid, alg: 'ES256', use: 'sig' }, …] }
 */
export function jwksOf(keys: readonly BenchKey[]): { keys: JWK[] } {
  return { keys: keys.map((k) => k.publicJwk) }
}

/**
 * Mints `count` distinct access tokens signed with `key` (kid in the header), with FJE's claim layout
 * (`fresh, iat, jti, type, sub, nbf, csrf, exp`) plus `iss` when `issuer` is given, valid for two hours.
 *
 * @example
 * const [token] = await mintSigned(key, 1, 'http://127.0.0.1:41234')
 */
export async function mintSigned(key: BenchKey, count: number, issuer?: string): Promise<string[]> {
  const keycard = await createKeycard({
    algorithm: key.algorithm,
    privateKey: key.privateKey,
    accessTokenExpires: '2h',
    ...(issuer ? { encodeIssuer: issuer } : {}),
  })
  const headers = { kid: key.kid }
  const tokens: string[] = []
  for (let i = 0; i < count; i++) tokens.push(await keycard.createAccessToken(BENCH_SUBJECT, { additionalHeaders: headers }))
  return tokens
}

/** The local JWKS server: its origin (the tokens' issuer), the key set's URL, and how often it was fetched. */
export interface JwksServer {
  origin: string
  url: string
  /** GET requests answered so far (200 or 304). */
  fetches(): number
  close(): Promise<void>
}

/** Where the key set is served: the path get-jwks derives from the issuer (`<iss>/.well-known/jwks.json`). */
export const JWKS_PATH = '/.well-known/jwks.json'

/**
 * Serves `set` at `/.well-known/jwks.json` on 127.0.0.1, port 0, with `Cache-Control: public,
 * max-age=600` and an ETag (If-None-Match → 304), as the Keycard server publishes its keyring.
 *
 * @example
 * const jwks = await startJwksServer(jwksOf([current, next]))
 * // jwks.url === 'http://127.0.0.1:41234/.well-known/jwks.json'
 */
export async function startJwksServer(set: { keys: JWK[] }, maxAge = 600): Promise<JwksServer> {
  const body = JSON.stringify(set)
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 16)}"`
  let fetches = 0
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== JWKS_PATH) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"msg":"Not found"}')
      return
    }
    fetches++
    const headers = { 'cache-control': `public, max-age=${maxAge}`, etag }
    if (req.headers['if-none-match'] === etag) res.writeHead(304, headers).end()
    else res.writeHead(200, { ...headers, 'content-type': 'application/json' }).end(body)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    origin,
    url: origin + JWKS_PATH,
    fetches: () => fetches,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
