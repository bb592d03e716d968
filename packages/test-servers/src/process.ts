/**
 * Runs a server program as a child and waits for the line it prints once it is ready (an event, not a
 * sleep). Children are stopped when the test process exits, however it exits.
 */

import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'

const running = new Set<ChildProcess>()
process.once('exit', () => {
  for (const child of running) killGroup(child, 'SIGKILL')
})

/** Signals the child's whole process group (it leads one: spawned detached), e.g. a server and its workers. */
export function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null) return
  child.ref() // so that awaiting its exit keeps the process alive
  try {
    process.kill(-child.pid, signal)
  } catch {
    child.kill(signal)
  }
}

export interface Started {
  child: ChildProcess
  /** Everything the program wrote so far (for error messages). */
  output(): string
  /** Resolves when the process has exited. */
  exited: Promise<number | null>
}

/**
 * Spawns `command` and resolves once `ready` matches its output; rejects if it exits first, or after
 * `timeoutMs` (a hung start must fail the test, not hang it).
 */
export function startProcess(
  command: string,
  args: readonly string[],
  ready: RegExp,
  options: SpawnOptions & { timeoutMs?: number } = {},
): Promise<Started> {
  const { timeoutMs = 60_000, ...spawnOptions } = options
  // Detached: the child leads a process group, so a crash can be simulated by killing all of it at once.
  const child = spawn(command, args, { ...spawnOptions, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
  running.add(child)
  let text = ''
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      running.delete(child)
      resolve(code)
    })
  })
  return new Promise<Started>((resolve, reject) => {
    let done = false
    const timer = setTimeout(() => finish(new Error(`${command} did not start within ${timeoutMs} ms:\n${text}`)), timeoutMs)
    const finish = (err?: Error) => {
      if (done) return
      done = true
      clearTimeout(timer)
      if (err) {
        killGroup(child, 'SIGKILL')
        reject(err)
      } else {
        // From now on the server must not keep the test process alive: it is killed when that exits.
        child.unref()
        for (const stream of [child.stdout, child.stderr]) (stream as unknown as { unref?: () => void }).unref?.()
        resolve({ child, output: () => text, exited })
      }
    }
    const onData = (d: Buffer) => {
      text += d.toString('utf8')
      if (text.length > 100_000) text = text.slice(-50_000)
      if (ready.test(text)) finish()
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    child.once('error', (err) => finish(err))
    exited.then((code) => finish(new Error(`${command} exited (${code}) before it was ready:\n${text}`)))
  })
}

/**
 * Waits until every process of the group `pgid` has exited (a zombie counts as gone: it holds nothing),
 * e.g. the backends of a killed PostgreSQL, which keep its shared memory until they are gone. Linux
 * only (/proc); elsewhere it returns at once. Bounded: gives up after `maxChecks` looks.
 */
export async function groupGone(pgid: number, maxChecks = 2000): Promise<void> {
  await until(() => !processes().some((p) => p.pgrp === pgid && p.state !== 'Z'), maxChecks)
}

/**
 * The live children of `pid`. PostgreSQL's backends call setsid(): they leave the postmaster's process
 * group, so `groupGone` does not see them, and a killed postmaster's backends are found by parent.
 */
export function childrenOf(pid: number): number[] {
  return processes()
    .filter((p) => p.ppid === pid && p.state !== 'Z')
    .map((p) => p.pid)
}

/** Waits until none of `pids` is alive (a zombie counts as gone). Bounded like groupGone. */
export async function pidsGone(pids: readonly number[], maxChecks = 2000): Promise<void> {
  const wanted = new Set(pids)
  await until(() => !processes().some((p) => wanted.has(p.pid) && p.state !== 'Z'), maxChecks)
}

async function until(done: () => boolean, maxChecks: number): Promise<void> {
  if (!existsSync('/proc/self/stat')) return
  for (let i = 0; i < maxChecks && !done(); i++) await new Promise<void>((resolve) => setTimeout(resolve, 5))
}

function processes(): { pid: number; state: string; ppid: number; pgrp: number }[] {
  const out: { pid: number; state: string; ppid: number; pgrp: number }[] = []
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue
    let stat: string
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    } catch {
      continue // exited meanwhile
    }
    // "pid (comm) state ppid pgrp …": comm may hold spaces and parentheses, so split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    out.push({ pid: Number(pid), state: fields[0]!, ppid: Number(fields[1]), pgrp: Number(fields[2]) })
  }
  return out
}
