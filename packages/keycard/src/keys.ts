/**
 * Keys are imported once, when the keycard is created, through jose. Each algorithm of the allow-list
 * gets its own verifier bound to a key of the kind that algorithm needs, so a token can never choose
 * the key kind (no HMAC-with-a-public-key confusion). Verification calls node:crypto's primitives
 * directly, which measured faster per request than jose's WebCrypto path (see bench/README.md).
 */

import {
  constants,
  createHmac,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  KeyObject,
  timingSafeEqual,
  verify as cryptoVerify,
  type webcrypto,
} from 'node:crypto'
import { importJWK, type JWK } from 'jose'
import { KeycardOptionError } from './errors.ts'

export const ALGORITHMS = [
  'HS256',
  'HS384',
  'HS512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] as const
export type Algorithm = (typeof ALGORITHMS)[number]

/** A key as users hold it: a secret, a PEM string, a JWK object, or an already imported key. */
export type KeyInput = string | Uint8Array | JWK | webcrypto.CryptoKey | KeyObject

/** Checks a JWS signature over `signingInput` (`header.payload`, ASCII). */
export type SignatureVerifier = (signingInput: string, signature: Buffer) => boolean

/** What signs new tokens (jose's CompactSign takes either). */
export type SigningKey = KeyObject | Uint8Array

export function isAlgorithm(value: unknown): value is Algorithm {
  return typeof value === 'string' && (ALGORITHMS as readonly string[]).includes(value)
}

export function isHmac(alg: Algorithm): boolean {
  return alg.startsWith('HS')
}

const HASH: Record<string, string> = { '256': 'sha256', '384': 'sha384', '512': 'sha512' }
/** r||s length of an ES* signature: a wrong length is refused before node:crypto sees it. */
const ES_SIG_BYTES: Record<string, number> = { ES256: 64, ES384: 96, ES512: 132 }
const ES_CURVE: Record<string, string> = { ES256: 'prime256v1', ES384: 'secp384r1', ES512: 'secp521r1' }
/** RFC 7518 §3.2: an HMAC key must be at least as long as the hash output. */
const MIN_HMAC_BYTES: Record<string, number> = { HS256: 32, HS384: 48, HS512: 64 }

function hashOf(alg: Algorithm): string {
  return HASH[alg.slice(2)]!
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (value instanceof KeyObject) return `a ${value.type} KeyObject`
  if (typeof value === 'object') return 'an object'
  return `a ${typeof value}`
}

/** The secret's bytes; strings are UTF-8, as PyJWT encodes them. */
export function secretBytes(option: string, secret: unknown, alg: Algorithm): Uint8Array {
  let bytes: Uint8Array
  if (typeof secret === 'string') bytes = new TextEncoder().encode(secret)
  else if (secret instanceof Uint8Array) bytes = secret
  else if (secret instanceof KeyObject && secret.type === 'secret') bytes = secret.export()
  else {
    throw new KeycardOptionError(
      option,
      `${alg} needs a shared secret (a string or Uint8Array), got ${describe(secret)}. ` +
        'Asymmetric keys go in "privateKey"/"publicKey" with an RS*, PS*, ES* or EdDSA algorithm.',
    )
  }
  const min = MIN_HMAC_BYTES[alg]!
  if (bytes.length < min) {
    throw new KeycardOptionError(
      option,
      `a ${alg} secret must be at least ${min} bytes, got ${bytes.length}; generate one with \`openssl rand -base64 ${min}\`.`,
    )
  }
  return bytes
}

export function hmacVerifier(alg: Algorithm, secret: Uint8Array): SignatureVerifier {
  const key = createSecretKey(secret)
  const hash = hashOf(alg)
  return (input, signature) => {
    const mac = createHmac(hash, key).update(input).digest()
    return mac.length === signature.length && timingSafeEqual(mac, signature)
  }
}

export function asymmetricVerifier(alg: Algorithm, key: KeyObject): SignatureVerifier {
  if (alg === 'EdDSA') return (input, signature) => cryptoVerify(null, Buffer.from(input), key, signature)
  const hash = hashOf(alg)
  if (alg.startsWith('RS')) return (input, signature) => cryptoVerify(hash, Buffer.from(input), key, signature)
  if (alg.startsWith('PS')) {
    const params = { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }
    return (input, signature) => cryptoVerify(hash, Buffer.from(input), params, signature)
  }
  const size = ES_SIG_BYTES[alg]!
  const params = { key, dsaEncoding: 'ieee-p1363' as const }
  return (input, signature) => signature.length === size && cryptoVerify(hash, Buffer.from(input), params, signature)
}

/** Throws unless `key` is of the kind `alg` needs (RSA for RS/PS, the right curve for ES, Ed25519/Ed448). */
function assertKeyFits(option: string, key: KeyObject, alg: Algorithm): void {
  const type = key.asymmetricKeyType
  let ok: boolean
  if (alg.startsWith('RS')) ok = type === 'rsa'
  else if (alg.startsWith('PS')) ok = type === 'rsa' || type === 'rsa-pss'
  else if (alg === 'EdDSA') ok = type === 'ed25519' || type === 'ed448'
  else ok = type === 'ec' && key.asymmetricKeyDetails?.namedCurve === ES_CURVE[alg]
  if (!ok) {
    const curve = key.asymmetricKeyDetails?.namedCurve
    throw new KeycardOptionError(
      option,
      `a ${type}${curve ? ` (${curve})` : ''} key cannot be used with ${alg}; use a key made for ${alg} or change "algorithm".`,
    )
  }
  if (type?.startsWith('rsa') && (key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) {
    throw new KeycardOptionError(option, `RSA keys must be at least 2048 bits for ${alg}.`)
  }
}

/** Node 20 has the global `CryptoKey` but no `webcrypto.CryptoKey` (undefined there: `instanceof` would throw). */
const CryptoKeyClass = (globalThis as { CryptoKey?: typeof webcrypto.CryptoKey }).CryptoKey

/** Any key input as a KeyObject (PEM through node:crypto, JWK through jose); the caller checks it fits `alg`. */
async function toKeyObject(option: string, input: unknown, alg: Algorithm, want: 'public' | 'private'): Promise<KeyObject> {
  try {
    if (input instanceof KeyObject) return input
    if (CryptoKeyClass !== undefined && input instanceof CryptoKeyClass) return KeyObject.from(input)
    if (typeof input === 'string') {
      // node:crypto parses PKCS#8, SPKI and X.509 PEM whatever the key type, so that a key of the
      // wrong type or curve gets assertKeyFits' message instead of jose's "Invalid key type".
      const pem = input.trim()
      return pem.includes('PRIVATE KEY') ? createPrivateKey(pem) : createPublicKey(pem)
    }
    if (input !== null && typeof input === 'object' && !(input instanceof Uint8Array)) {
      const imported = await importJWK(input as JWK, alg, { extractable: true })
      if (imported instanceof Uint8Array) throw new Error('a symmetric ("oct") JWK is not an asymmetric key')
      return KeyObject.from(imported)
    }
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause)
    throw new KeycardOptionError(
      option,
      `could not import the ${want} key for ${alg}: ${reason}. Pass a PEM string (PKCS#8 private, SPKI public or X.509), a JWK object, a CryptoKey or a KeyObject.`,
      { cause },
    )
  }
  throw new KeycardOptionError(option, `${alg} needs a ${want} key (PEM string, JWK, CryptoKey or KeyObject), got ${describe(input)}.`)
}

/** The public key for verifying `alg`; a private key is accepted and its public half used. */
export async function importVerifyKey(option: string, input: unknown, alg: Algorithm): Promise<KeyObject> {
  let key = await toKeyObject(option, input, alg, 'public')
  if (key.type === 'secret')
    throw new KeycardOptionError(option, `${alg} needs an asymmetric key, got a secret; HMAC secrets go in "secret" with an HS* algorithm.`)
  if (key.type === 'private') key = createPublicKey(key)
  assertKeyFits(option, key, alg)
  return key
}

export async function importSignKey(option: string, input: unknown, alg: Algorithm): Promise<KeyObject> {
  const key = await toKeyObject(option, input, alg, 'private')
  if (key.type !== 'private') {
    throw new KeycardOptionError(option, `${alg} signing needs a private key, got a ${key.type} key; put public keys in "publicKey".`)
  }
  assertKeyFits(option, key, alg)
  return key
}
