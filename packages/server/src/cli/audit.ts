/**
 * `keycard audit [--user NAME] [--since DURATION] [--type T] [--limit N] [--before ID] [--json]`: the
 * audit trail (src/audit/), newest first, as a table or as JSON lines shaped like GET /admin/audit's events.
 */

import { parseArgs } from 'node:util'
import type { PublicAuditEvent } from '../api-types.ts'
import { loadConfig } from '../config.ts'
import { type AuditFilter, listAuditEvents, sinceSeconds, toPublicEvent, userFilter } from '../audit/events.ts'
import { AUDIT_EVENT_TYPES, isAuditEventType } from '../audit/log.ts'
import { nowSeconds } from '../revocations.ts'
import { HELP_OPTION, integerOption, parseOrUsage, UsageError, withDatabase, type Command } from './command.ts'

const MAX_LIMIT = 1000

const help = `Usage: keycard audit [--user <name|id>] [--since <duration>] [--type <type>]
                     [--limit <n>] [--before <id>] [--json]

Shows the audit trail, newest first: sign-ups, sign-ins and failed ones,
throttling, refresh-token reuse, logouts, revoked sessions, password changes,
deleted, created and renamed users, key rotations and retirements. Kept for
AUDIT_RETENTION (default 90d).

Options:
  --user <name|id>     Events of this user: a user id, or a username or email
                       (a deleted user's or a never-registered name: as recorded)
  --since <duration>   Only events this recent: seconds or with a unit (s, m,
                       h, d, w), such as 24h or 7d
  --type <type>        Only events of this type, one of:
${wrap(AUDIT_EVENT_TYPES.join(', '), 23, 78)}
  --limit <n>          How many events, 1 to ${MAX_LIMIT} (default 50)
  --before <id>        Only events older than this id (the previous page's last)
  --json               One JSON object per line, as GET /admin/audit shows them:
                       {id, at, type, user_id, username, session_id, address,
                       user_agent, actor_id, detail}
  -h, --help           Show this message

Examples:
  keycard audit --since 24h
  keycard audit --user alice --type login.succeeded
  keycard audit --type login.failed --since 1h --json | jq -r .address | sort | uniq -c
`

/** `text` as lines of at most `width` columns, each indented by `indent`. */
function wrap(text: string, indent: number, width: number): string {
  const lines: string[] = []
  let line = ''
  for (const word of text.split(' ')) {
    if (line !== '' && indent + line.length + 1 + word.length > width) {
      lines.push(line)
      line = word
    } else line = line === '' ? word : `${line} ${word}`
  }
  if (line !== '') lines.push(line)
  return lines.map((l) => `${' '.repeat(indent)}${l}`).join('\n')
}

/** `detail` as `key=value` pairs, for the table. */
function detailText(detail: PublicAuditEvent['detail']): string {
  if (detail === null) return '-'
  return Object.entries(detail)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ')
}

function table(events: PublicAuditEvent[]): string {
  const rows = [
    ['ID', 'AT', 'TYPE', 'USER', 'ADDRESS', 'DETAIL'],
    ...events.map((e) => [
      String(e.id),
      e.at.replace(/\.\d{3}Z$/, 'Z'),
      e.type,
      e.username === null
        ? e.user_id === null
          ? '-'
          : `#${e.user_id}`
        : e.user_id === null
          ? e.username
          : `${e.username} (#${e.user_id})`,
      e.address ?? '-',
      `${e.actor_id === null ? '' : `by #${e.actor_id} `}${detailText(e.detail)}`,
    ]),
  ]
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  return `${rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n')}\n`
}

/** The filter the flags ask for; UsageErrors name the flag and what it takes. */
function flagFilter(values: { since?: string | undefined; type?: string | undefined }): AuditFilter {
  const filter: AuditFilter = {}
  if (values.type !== undefined) {
    if (!isAuditEventType(values.type))
      throw new UsageError(`--type must be one of ${AUDIT_EVENT_TYPES.join(', ')}; got ${JSON.stringify(values.type)}`)
    filter.types = [values.type]
  }
  if (values.since !== undefined) {
    const seconds = sinceSeconds(values.since)
    if (seconds === undefined)
      throw new UsageError(
        `--since must be a duration in seconds or with a unit (s, m, h, d, w), such as 24h; got ${JSON.stringify(values.since)}`,
      )
    filter.since = nowSeconds() - seconds
  }
  return filter
}

/**
 * @example
 * await audit.run(['--since', '24h', '--json'])
 */
export const audit: Command = {
  name: 'audit',
  help,
  async run(args) {
    const { values, positionals } = parseOrUsage(() =>
      parseArgs({
        args,
        options: {
          user: { type: 'string' },
          since: { type: 'string' },
          type: { type: 'string' },
          limit: { type: 'string' },
          before: { type: 'string' },
          json: { type: 'boolean' },
          help: HELP_OPTION,
        },
        allowPositionals: true,
      }),
    )
    if (values.help) {
      process.stdout.write(help)
      return 0
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`)
    const limit = integerOption('limit', values.limit, 50, 1, MAX_LIMIT)
    const before = values.before === undefined ? undefined : integerOption('before', values.before, 0, 1, 9_999_999_999)
    if (values.user === '') throw new UsageError('--user needs a username, email or user id')
    const filter = flagFilter(values)
    const config = loadConfig(process.env)

    const page = await withDatabase(config, async (db) => {
      const who = values.user === undefined ? {} : await userFilter(db, values.user)
      if (who === null) return { rows: [], next: null }
      return listAuditEvents(db, before === undefined ? { limit } : { limit, before }, { ...filter, ...who })
    })
    const events = page.rows.map(toPublicEvent)
    if (values.json) {
      for (const e of events) process.stdout.write(`${JSON.stringify(e)}\n`)
      return 0
    }
    if (events.length === 0) {
      process.stdout.write('No audit events match.\n')
      return 0
    }
    process.stdout.write(table(events))
    if (page.next !== null) {
      const again = args.filter((a, i) => a !== '--before' && args[i - 1] !== '--before' && !a.startsWith('--before='))
      process.stdout.write(`\nOlder events: keycard audit ${[...again, '--before', String(page.next)].join(' ')}\n`)
    }
    return 0
  },
}
