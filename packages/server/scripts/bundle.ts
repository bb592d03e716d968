/**
 * Compiles a TypeScript entry of this repo to one plain JavaScript file (esbuild), the way the server
 * runs under `npm start` (src/cli/main.ts → dist/cli/main.mjs) and the way the benchmark runs its
 * servers (bench/build.ts).
 *
 * Why not run the sources under tsx: with tsx's loader in the process and TypeScript loaded through
 * it, registering any Fastify plugin was measured to cost every later request about 3 µs (the profile
 * puts it in V8's slow path for `process.nextTick`'s tick objects); the same code as plain JavaScript
 * pays nothing for it. bench/README.md ("The tsx loader tax") has the measurements.
 *
 * Only the workspace's own TypeScript goes into the file (the entry's imports, the `keycard` package);
 * every dependency stays an `import` of its published JavaScript, resolved from node_modules at run
 * time. So the output must sit inside the repo, and where the code reads files next to itself
 * (`new URL('../../web/dist/', import.meta.url)`), at the same depth as its source.
 *
 *   tsx scripts/bundle.ts      # builds dist/cli/main.mjs (`npm run build:server`)
 */

import { dirname, join, relative } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { build, type Plugin } from 'esbuild'

/** Workspace packages, bundled from their TypeScript source; any other bare import is a dependency. */
const WORKSPACE = /^(keycard|keycard-server)(\/|$)/

const dependenciesStayExternal: Plugin = {
  name: 'dependencies-stay-external',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => (WORKSPACE.test(args.path) ? undefined : { path: args.path, external: true }))
  },
}

/** Bundles `entry` (a .ts file) into the ES module `outfile`, for the Node that runs this. */
export async function bundle(entry: string, outfile: string): Promise<void> {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: `node${process.versions.node}`,
    logLevel: 'warning',
    plugins: [dependenciesStayExternal],
  })
}

const PACKAGE = join(dirname(fileURLToPath(import.meta.url)), '..')
/** The server's build: the CLI (all commands, `serve` included) at the depth of its source. */
export const SERVER_ENTRY = join(PACKAGE, 'src', 'cli', 'main.ts')
export const SERVER_BUNDLE = join(PACKAGE, 'dist', 'cli', 'main.mjs')

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await bundle(SERVER_ENTRY, SERVER_BUNDLE)
  process.stdout.write(`built ${relative(PACKAGE, SERVER_BUNDLE)}\n`)
}
