#!/usr/bin/env node
// The `keycard` bin: registers tsx's loader in this process, then runs the TypeScript source of the
// CLI (src/cli/main.ts), which reads process.argv. One process, so signals and exit codes are direct.
import { register } from 'tsx/esm/api'

register()
await import('../src/cli/main.ts')
