/** A bound on how long the shared stores wait for their backend. */

/**
 * How long a full reload or a poll may take before the store gives up on it and starts over: a big
 * table or keyspace takes a while, a hung connection (a partition, before TCP notices) forever.
 *
 * @example
 * await within(reload(), loadTimeout(5000), 'the reload') // 30 s
 */
export function loadTimeout(maxStaleness: number): number {
  return Math.max(30_000, maxStaleness * 6)
}

/**
 * The error of a wait that ran out.
 *
 * @example
 * if (err instanceof TimeoutError) console.log(err.message) // 'a heartbeat took more than 5000 ms'
 */
export class TimeoutError extends Error {
  constructor(what: string, ms: number) {
    super(`${what} took more than ${ms} ms`)
    this.name = 'TimeoutError'
  }
}

/**
 * `promise`, or a `TimeoutError` after `ms`; `late` receives a value that arrives after the timeout
 * (a pool client to give back). The operation itself goes on: a write that timed out may still commit,
 * it just was not acknowledged.
 *
 * @example
 * await within(client.query('select 1'), 5000, 'a heartbeat')
 */
export function within<T>(promise: Promise<T>, ms: number, what: string, late?: (value: T) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    let done = false
    const timer = setTimeout(() => {
      done = true
      reject(new TimeoutError(what, ms))
    }, ms)
    promise.then(
      (value) => {
        clearTimeout(timer)
        if (done) late?.(value)
        else resolve(value)
      },
      (err: unknown) => {
        clearTimeout(timer)
        if (!done) reject(err)
      },
    )
  })
}
