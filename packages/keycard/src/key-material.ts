/**
 * What `createKeycard` imports, once, for each key mode: single-key (a verifier per accepted
 * algorithm, bound to a key of its kind), keys (the entries by kid), jwks (a key set object, or a URL
 * fetched and cached). The result is handed to the Keycard; nothing here runs per request.
 */

import { calculateJwkThumbprint, type JWK } from 'jose'
import { KeycardOptionError } from './errors.ts'
import { createKeySet } from './jwks/key-set.ts'
import type { KeyMode } from './key-options.ts'
import { importKeyEntries, jwkIfExportable, StaticKeySet, type KeySource } from './keyring.ts'
import {
  asymmetricVerifier,
  hmacVerifier,
  importSignKey,
  importVerifyKey,
  isHmac,
  secretBytes,
  type Algorithm,
  type SignatureVerifier,
  type SigningKey,
} from './keys.ts'
import type { KeycardOptions, ResolvedOptions } from './options.ts'

/**
 * What `createKeycard` imported, handed to the Keycard: the single-key verifiers by algorithm, or the
 * key source of keys/jwks mode; the signer; and, single-key mode, the public JWK `jwks()` publishes.
 *
 * @example
 * new Keycard(resolved, options, { mode: 'keys', verifiers: new Map(), source, signer, publicJwk: undefined })
 */
export interface KeyMaterial {
  readonly mode: 'single' | 'keys' | 'jwks'
  readonly verifiers: ReadonlyMap<string, SignatureVerifier>
  readonly source: KeySource | undefined
  readonly signer: { key: SigningKey; algorithm: Algorithm; kid: string | undefined } | undefined
  readonly publicJwk: JWK | undefined
}

/**
 * The key material of checked options, in the mode `resolveKeyMode` found.
 *
 * @example
 * const material = await importKeyMaterial(options, resolveOptions(options), resolveKeyMode(options))
 */
// biome-ignore lint/suspicious/noExplicitAny: it takes a keycard's options whatever its User type
export async function importKeyMaterial(options: KeycardOptions<any>, resolved: ResolvedOptions, mode: KeyMode): Promise<KeyMaterial> {
  if (mode.mode === 'keys') {
    const imported = await importKeyEntries(options.keys!, mode.signingKid, 'keys')
    return { mode: 'keys', verifiers: new Map(), source: new StaticKeySet(imported.keys), signer: imported.signer, publicJwk: undefined }
  }
  if (mode.mode === 'jwks') {
    const source = await createKeySet(options.jwks!, mode.url, mode.jwks)
    return { mode: 'jwks', verifiers: new Map(), source, signer: undefined, publicJwk: undefined }
  }
  return importSingleKey(options, resolved)
}

/** Single-key mode: a verifier per accepted algorithm, and the signing key. */
// biome-ignore lint/suspicious/noExplicitAny: it takes a keycard's options whatever its User type
async function importSingleKey(options: KeycardOptions<any>, resolved: ResolvedOptions): Promise<KeyMaterial> {
  const verifiers = new Map<string, SignatureVerifier>()
  const needsSecret = resolved.decodeAlgorithms.some(isHmac) || isHmac(resolved.algorithm)
  const needsKeys = resolved.decodeAlgorithms.some((a) => !isHmac(a))

  if (needsSecret && options.secret === undefined && !(options.decodeKey && options.encodeKey)) {
    throw new KeycardOptionError(
      'secret',
      `${resolved.algorithm} needs a secret of at least 32 bytes; pass secret: process.env.JWT_SECRET (generate one with \`openssl rand -base64 32\`), or set "algorithm" to an asymmetric algorithm.`,
    )
  }
  if (needsKeys && options.publicKey === undefined && options.privateKey === undefined && !options.decodeKey) {
    const asym = resolved.decodeAlgorithms.find((a) => !isHmac(a))!
    throw new KeycardOptionError(
      'publicKey',
      `${asym} needs "publicKey" (to verify) and, to sign, "privateKey": PEM strings, JWKs, CryptoKeys or KeyObjects.`,
    )
  }
  let jwk: JWK | undefined
  for (const alg of resolved.decodeAlgorithms) {
    if (isHmac(alg)) {
      if (options.secret !== undefined) verifiers.set(alg, hmacVerifier(alg, secretBytes('secret', options.secret, alg)))
    } else if (options.publicKey !== undefined || options.privateKey !== undefined) {
      const name = options.publicKey !== undefined ? 'publicKey' : 'privateKey'
      const key = await importVerifyKey(name, options.publicKey ?? options.privateKey, alg)
      verifiers.set(alg, asymmetricVerifier(alg, key))
      const published = jwk === undefined ? jwkIfExportable(key, '', alg) : undefined
      if (published !== undefined) jwk = { ...published, kid: await calculateJwkThumbprint(published) }
    }
  }

  let signingKey: SigningKey | undefined
  if (!options.encodeKey) {
    if (isHmac(resolved.algorithm)) signingKey = secretBytes('secret', options.secret, resolved.algorithm)
    else if (options.privateKey !== undefined) signingKey = await importSignKey('privateKey', options.privateKey, resolved.algorithm)
  }
  const signer = signingKey && { key: signingKey, algorithm: resolved.algorithm, kid: undefined }
  return { mode: 'single', verifiers, source: undefined, signer, publicJwk: jwk }
}
