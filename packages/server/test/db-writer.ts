/**
 * The second process of the concurrent-writer tests (fixtures/db-writer.mjs), driven over its stdio
 * with a bounded wait for everything: a line it prints, its exit. Lines are collected from the spawn
 * on, so a line printed before anyone asked is still found, and an exit that already happened is
 * known (the old helper waited for an 'exit' that had fired, and hung). The child is killed when the
 * test ends, whatever happened.
 */

import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { TestContext } from 'node:test'

const WRITER = fileURLToPath(new URL('./fixtures/db-writer.mjs', import.meta.url))

/** How long any wait on the writer may take before the test fails saying what it waited for; generous for a loaded CI machine. */
export const WRITER_WAIT_MS = 30_000

/**
 * Resolves or rejects as `promise` does, or rejects with `Timed out after <ms> ms: <what>` first.
 *
 * @example
 * const res = await within(s.api('POST', '/auth/refresh', { token }), 30_000, 'POST /auth/refresh')
 */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms: ${what}`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

export interface Writer {
  child: ChildProcess
  /** The first stdout line matching `pattern`, printed at any time since the spawn; rejects if the writer closes without it, or after `ms`. */
  line(pattern: RegExp, ms?: number): Promise<string>
  /** Sends a line on stdin (`stop` or `release`) and waits for the line that answers it and for the exit. */
  send(command: string, answer: RegExp): Promise<string>
}

/**
 * Spawns the writer on `dbPath` (`hold` takes the write lock and keeps it until a line arrives).
 *
 * @example
 * const writer = spawnWriter(t, s.dbPath)
 * await writer.line(/^ready$/)
 * const [, wrote] = /^wrote (\d+)/.exec(await writer.send('stop', /^wrote \d+ busy \d+$/))!
 */
export function spawnWriter(t: TestContext, dbPath: string, mode?: 'hold'): Writer {
  const child = spawn(process.execPath, [WRITER, dbPath, ...(mode ? [mode] : [])], { stdio: ['pipe', 'pipe', 'pipe'] })
  const lines: string[] = []
  let partial = ''
  let stderr = ''
  let closed: string | undefined
  const waiters = new Set<() => void>()
  const wake = () => {
    for (const w of waiters) w()
  }
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    const parts = (partial + d).split('\n')
    partial = parts.pop()!
    lines.push(...parts)
    wake()
  })
  // Writing to a writer that has died is EPIPE: its exit is what the waits report, not a crash here.
  child.stdin!.on('error', () => undefined)
  // Drained always (a full pipe would block the child); kept short, for the failure message.
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr = (stderr + d).slice(-2000)
  })
  // 'close', not 'exit': it comes after the stdio streams have ended, so every line printed is in.
  const exited = new Promise<void>((resolve) => {
    child.once('close', (code, signal) => {
      closed = `exited with ${code ?? signal}`
      wake()
      resolve()
    })
  })
  child.once('error', (err) => {
    closed = `failed to start: ${err.message}`
    wake()
  })
  t.after(async () => {
    if (closed === undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    if (closed === undefined) await within(exited, WRITER_WAIT_MS, 'the killed writer to exit')
  })

  const line = (pattern: RegExp, ms = WRITER_WAIT_MS): Promise<string> => {
    let check: () => void
    const found = new Promise<string>((resolve, reject) => {
      check = () => {
        const match = lines.find((l) => pattern.test(l))
        if (match !== undefined) resolve(match)
        else if (closed !== undefined)
          reject(new Error(`writer ${closed} before printing ${pattern}; stdout: ${JSON.stringify(lines.join('\n'))}; stderr: ${stderr}`))
      }
      waiters.add(check)
      check()
    })
    return within(found, ms, `the writer to print ${pattern}; stdout so far: ${JSON.stringify(lines.join('\n'))}`).finally(() =>
      waiters.delete(check),
    )
  }

  return {
    child,
    line,
    async send(command, answer) {
      const answered = line(answer)
      child.stdin!.end(`${command}\n`)
      const text = await answered
      await within(exited, WRITER_WAIT_MS, `the writer to exit after ${command}`)
      return text
    },
  }
}
