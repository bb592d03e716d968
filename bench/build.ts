/**
 * Compiles each server entry to one plain JavaScript file before a run, so the contenders run as they
 * would in production, `node server.mjs`, with no TypeScript loader in the process. Under tsx's
 * loader every row that registers a Fastify plugin paid a few µs per request that the bare ceiling did
 * not (packages/server/scripts/bundle.ts says why; bench/README.md, "The tsx loader tax", measures it).
 * Dependencies stay imports of their published JavaScript, byte for byte what an installed app runs;
 * the bundles live under bench/.build so that those imports resolve from the repo's node_modules.
 */

import { mkdirSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { bundle } from '../packages/server/scripts/bundle.ts'

const BUILD_DIR = join(dirname(fileURLToPath(import.meta.url)), '.build')

/** Bundles `entries` (absolute .ts paths) into BUILD_DIR; returns entry → bundle path. Base names must differ. */
export async function bundleEntries(entries: readonly string[]): Promise<Map<string, string>> {
  mkdirSync(BUILD_DIR, { recursive: true })
  const out = new Map<string, string>()
  for (const entry of new Set(entries)) {
    const file = join(BUILD_DIR, basename(entry).replace(/\.[cm]?ts$/, '.mjs'))
    if ([...out.values()].includes(file)) throw new Error(`bench build: two entries named ${basename(entry)}`)
    await bundle(entry, file)
    out.set(entry, file)
  }
  return out
}
