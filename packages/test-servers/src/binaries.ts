/**
 * Finds the server binaries the suites need. Debian keeps PostgreSQL's server programs off PATH
 * (/usr/lib/postgresql/<version>/bin), so that directory is searched first, newest version first. A
 * missing program is an error that says what to install: the suites fail, they never skip.
 */

import { accessSync, constants, readdirSync } from 'node:fs'
import { delimiter, join } from 'node:path'

/** Thrown when a program the tests need is not installed; the message names the Debian package. */
export class MissingBinaryError extends Error {
  constructor(program: string, debianPackage: string) {
    super(
      `${program} is not installed: the tests start their own throwaway server from it. ` +
        `Install it (Debian: apt-get install ${debianPackage}), or run \`bash .ci/run\`, which installs every package the tests need.`,
    )
    this.name = 'MissingBinaryError'
  }
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

function postgresDirs(): string[] {
  const root = '/usr/lib/postgresql'
  try {
    return readdirSync(root)
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a))
      .map((v) => join(root, v, 'bin'))
  } catch {
    return []
  }
}

/** The absolute path of `program`, looked for in `extraDirs` and then on PATH. */
export function findBinary(program: string, debianPackage: string, extraDirs: readonly string[] = []): string {
  const dirs = [...extraDirs, ...(process.env.PATH ?? '').split(delimiter).filter(Boolean)]
  for (const dir of dirs) {
    const path = join(dir, program)
    if (executable(path)) return path
  }
  throw new MissingBinaryError(program, debianPackage)
}

/** `initdb`, `postgres`, …: the server programs of the newest installed PostgreSQL. */
export function postgresBinary(program: 'initdb' | 'postgres' | 'pg_ctl'): string {
  // The version directory holds initdb and postgres together; PATH may hold only a client (psql).
  for (const dir of postgresDirs()) if (executable(join(dir, 'initdb')) && executable(join(dir, program))) return join(dir, program)
  return findBinary(program, 'postgresql')
}

export function redisBinary(): string {
  return findBinary('redis-server', 'redis-server')
}
