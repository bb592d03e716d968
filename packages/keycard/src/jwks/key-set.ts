/**
 * The key source of a jwks-mode keycard: a key set given as an object is imported once; a URL is
 * fetched and cached by `RemoteKeySet`.
 */

import type { JSONWebKeySet } from 'jose'
import { KeycardOptionError } from '../errors.ts'
import type { ResolvedJwksOptions } from '../key-options.ts'
import { StaticKeySet, type KeySource } from '../keyring.ts'
import { importKeySet } from './import.ts'
import { RemoteKeySet } from './remote.ts'

/**
 * The key source for the `jwks` option (`url` is its checked URL, undefined for a set object).
 *
 * @example
 * const source = await createKeySet({ keys: [publicJwk] }, undefined, resolvedJwksOptions)
 */
export async function createKeySet(
  jwks: string | URL | JSONWebKeySet,
  url: URL | undefined,
  options: ResolvedJwksOptions,
): Promise<KeySource> {
  if (url === undefined) {
    const keys = await importKeySet(jwks)
    if (keys === undefined) throw new KeycardOptionError('jwks', 'expected a key set object { keys: [...] }.')
    return new StaticKeySet(keys)
  }
  return new RemoteKeySet(url, options)
}
