/**
 * Preloaded (`node --import tsx --import bench/servers/eld-probe.ts <server>`) into a server whose
 * event-loop delay the bench reports. On SIGUSR2 it prints `ELD {"p50":ms,"p99":ms,"max":ms}` for the
 * delay since the previous SIGUSR2, then resets: bench/run.ts signals once before and once after a run.
 */

import { monitorEventLoopDelay } from 'node:perf_hooks'

const histogram = monitorEventLoopDelay({ resolution: 10 })
histogram.enable()
process.on('SIGUSR2', () => {
  const ms = (ns: number) => (Number.isFinite(ns) ? ns / 1e6 : 0)
  const line = { p50: ms(histogram.percentile(50)), p99: ms(histogram.percentile(99)), max: ms(histogram.max) }
  process.stdout.write(`ELD ${JSON.stringify(line)}\n`)
  histogram.reset()
})
