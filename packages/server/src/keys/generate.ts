/**
 * New key pairs for the keyring (node:crypto generateKeyPair: ES256 on P-256, EdDSA on Ed25519,
 * RS256 and PS256 on RSA 2048), their public JWK, and their kid: the RFC 7638 thumbprint of that JWK
 * (jose), so a kid names exactly one public key.
 */

import { generateKeyPair, type KeyObject } from 'node:crypto'
import { promisify } from 'node:util'
import { calculateJwkThumbprint, type JWK } from 'jose'
import { KEY_ALGORITHMS, type SigningAlgorithm } from '../config.ts'

const generate = promisify(generateKeyPair)

/** A freshly generated key pair: the private key as PKCS#8 PEM (to be sealed), the public one as a JWK. */
export interface GeneratedKey {
  kid: string
  algorithm: SigningAlgorithm
  /** kty and public parameters, kid, alg, use: 'sig'. */
  publicJwk: JWK
  /** PKCS#8 PEM: private material, only ever stored sealed (crypto.ts). */
  privatePem: string
}

/**
 * `true` for ES256, EdDSA, RS256 and PS256.
 *
 * @example
 * if (!isSigningAlgorithm(row.algorithm)) throw new Error('unknown algorithm')
 */
export function isSigningAlgorithm(value: unknown): value is SigningAlgorithm {
  return typeof value === 'string' && (KEY_ALGORITHMS as readonly string[]).includes(value)
}

async function keyPair(algorithm: SigningAlgorithm): Promise<{ publicKey: KeyObject; privateKey: KeyObject }> {
  switch (algorithm) {
    case 'ES256':
      return generate('ec', { namedCurve: 'P-256' })
    case 'EdDSA':
      return generate('ed25519')
    case 'RS256':
    case 'PS256':
      return generate('rsa', { modulusLength: 2048 })
  }
}

/**
 * The public half of `key` as a JWK: only the public parameters (node's export of a public KeyObject),
 * plus kid, alg and use.
 *
 * @example
 * const jwk = await publicJwkOf(publicKey, 'ES256') // { kty: 'EC', crv: 'P-256', x, y, kid, alg: 'ES256', use: 'sig' }
 */
export async function publicJwkOf(publicKey: KeyObject, algorithm: SigningAlgorithm): Promise<JWK> {
  const jwk = publicKey.export({ format: 'jwk' }) as JWK
  const kid = await calculateJwkThumbprint(jwk, 'sha256')
  return { ...jwk, kid, alg: algorithm, use: 'sig' }
}

/**
 * Generates a key pair for `algorithm`.
 *
 * @example
 * const key = await generateSigningKey('EdDSA') // key.kid: 43 base64url characters
 */
export async function generateSigningKey(algorithm: SigningAlgorithm): Promise<GeneratedKey> {
  const { publicKey, privateKey } = await keyPair(algorithm)
  const publicJwk = await publicJwkOf(publicKey, algorithm)
  return { kid: publicJwk.kid!, algorithm, publicJwk, privatePem: privateKey.export({ format: 'pem', type: 'pkcs8' }) as string }
}
