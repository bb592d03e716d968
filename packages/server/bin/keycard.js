#!/usr/bin/env node
// The `keycard` bin: runs the CLI compiled to plain JavaScript (dist/cli/main.mjs, built by
// `npm run build:server` and on `npm pack`), in this process, so signals and exit codes are direct.
// No TypeScript loader at run time: the published package carries only the compiled file.
try {
  await import('../dist/cli/main.mjs')
} catch (error) {
  // Only the bundle itself being absent gets the hint; any other failure is the CLI's own.
  const missing = error?.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('dist/cli/main.mjs')
  if (!missing) throw error
  process.stderr.write('keycard: dist/cli/main.mjs is missing; in a checkout, build it with `npm run -w keycard-server build:server`\n')
  process.exit(1)
}
