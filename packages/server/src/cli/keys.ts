/**
 * `keycard keys list | rotate | retire <kid>`: the signing keyring (src/keys/keyring.ts) by hand. Only
 * in keyring mode (JWT_ALGORITHM other than HS256); never prints private material or KEYS_SECRET.
 */

import { createPublicKey } from 'node:crypto'
import { parseArgs } from 'node:util'
import type { Kysely } from 'kysely'
import { AuditLog } from '../audit/log.ts'
import { type Config, loadConfig, loadKeysSecret } from '../config.ts'
import type { Database } from '../db/schema.ts'
import { type KeyInfo, Keyring, KeyringError, listKeys } from '../keys/keyring.ts'
import { dueAt } from '../keys/plan.ts'
import { CliError, HELP_OPTION, parseOrUsage, UsageError, withDatabase, type Command } from './command.ts'
import { formatChanges, formatTable, inWords, iso } from './keys-format.ts'

const ENVIRONMENT = `The keyring is the one in the database DATABASE_URL names, read with the
server's environment: JWT_ALGORITHM, KEYS_SECRET (the servers' own; on SQLite,
unset, the data dir's keys-secret file), KEY_ROTATION_INTERVAL, JWKS_MAX_AGE.`

const listHelp = `Usage: keycard keys list [--json] [--pem]

Lists the signing keys, newest first: kid, algorithm, state (next: published,
not signing yet; current: signs new tokens; previous: verifies the tokens it
signed until they expire; retired: refused), and when each changes state.

Options:
  --json        Print {"keys": [{kid, algorithm, state, createdAt, activateAt,
                activatedAt, deactivatedAt, verifyUntil, retiredAt, publicJwk}]}
                (times in epoch seconds; public keys only)
  --pem         Print the public keys that verify (next, current, previous) as
                PEM, e.g. for a verifier configured with one public key
                (Flask-JWT-Extended's JWT_PUBLIC_KEY); with --json, as publicKeyPem
  -h, --help    Show this message

${ENVIRONMENT}

Examples:
  keycard keys list
  keycard keys list --json | jq -r '.keys[] | select(.state == "current") | .kid'
  keycard keys list --pem
`

const rotateHelp = `Usage: keycard keys rotate

Rotates now rather than at the scheduled time (KEY_ROTATION_INTERVAL): makes
sure a next key is published, and makes it current as soon as verifiers can know
it: two JWKS cache lifetimes (2 x JWKS_MAX_AGE) after it was published. A next key
published long enough ago becomes current at once. Prints what changed and when
the next key becomes current; running servers promote it then.

Options:
  -h, --help    Show this message

${ENVIRONMENT}

Examples:
  keycard keys rotate
`

const retireHelp = `Usage: keycard keys retire <kid>

The emergency path, for a key that may have leaked: retires the key at once,
whatever its state. Every running server refuses the tokens it signed as soon
as it hears of it (at once on PostgreSQL, within its poll on SQLite), its private
key is erased, and it is gone from the JWKS. Retiring the current key makes the
next one current at once, or a new key when there is none; users holding tokens
signed with the retired key must log in again. Resource servers that cache the
JWKS drop the key when they next fetch it (JWKS_MAX_AGE).

Options:
  -h, --help    Show this message

${ENVIRONMENT}

Examples:
  keycard keys list
  keycard keys retire NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs
`

const keysHelp = `Usage: keycard keys <list|rotate|retire> [options]

The signing keys of keyring mode (JWT_ALGORITHM=ES256, EdDSA, RS256 or PS256;
the default for a new installation). An HS256 server (JWT_SECRET) has no keyring.

Commands:
  list      List the keys and their states (table, JSON or PEM)
  rotate    Publish a next key now and make it current as soon as allowed
  retire    Retire a key at once (emergency): its tokens are refused

Run \`keycard keys <command> --help\` for its options.
`

/** The keyring's policy from the configuration; a CliError in HMAC mode, which has none. */
function policyOf(config: Config) {
  if (config.signing.mode !== 'keyring')
    throw new CliError(
      "there is no keyring: this server signs HS256 with JWT_SECRET (or the data dir's jwt-secret). To sign with rotating key pairs and publish a JWKS, unset JWT_SECRET and set JWT_ALGORITHM=ES256 (this signs everyone out once)",
    )
  return {
    algorithm: config.signing.algorithm,
    rotationInterval: config.keyRotationInterval,
    publishLead: config.keyPublishLead,
    tokenLifetime: Math.max(config.accessTokenExpires, config.refreshTokenExpires),
  }
}

function keyringOf(config: Config, db: Kysely<Database>): Keyring {
  const policy = policyOf(config)
  // What this command changes is recorded in the audit trail as `via: cli`, in the change's transaction.
  return new Keyring({ db, keysSecret: loadKeysSecret(config).secret, ...policy, audit: new AuditLog(db), via: 'cli' })
}

/** KeyringErrors are the user's to act on: one line, no stack. */
async function asCliError<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    if (err instanceof KeyringError) throw new CliError(err.message)
    throw err
  }
}

const nowSeconds = () => Math.floor(Date.now() / 1000)

function noArguments(positionals: string[]): void {
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`)
}

function publicPem(key: KeyInfo): string {
  return createPublicKey({ key: key.publicJwk, format: 'jwk' }).export({ format: 'pem', type: 'spki' }) as string
}

export const keysList: Command = {
  name: 'keys list',
  help: listHelp,
  async run(args) {
    const { values, positionals } = parseOrUsage(() =>
      parseArgs({ args, options: { json: { type: 'boolean' }, pem: { type: 'boolean' }, help: HELP_OPTION }, allowPositionals: true }),
    )
    if (values.help) {
      process.stdout.write(listHelp)
      return 0
    }
    noArguments(positionals)
    const config = loadConfig(process.env)
    const policy = policyOf(config)
    return withDatabase(config, async (db) => {
      const keys = await asCliError(() => listKeys(db))
      const verifying = keys.filter((k) => k.state !== 'retired')
      if (values.json) {
        const shown = keys.map((k) => (values.pem && k.state !== 'retired' ? { ...k, publicKeyPem: publicPem(k) } : k))
        process.stdout.write(`${JSON.stringify({ keys: shown }, null, 2)}\n`)
      } else if (values.pem) {
        for (const k of verifying) process.stdout.write(`# ${k.kid} (${k.algorithm}, ${k.state})\n${publicPem(k)}`)
        if (verifying.length === 0) process.stderr.write('keycard keys list: no key verifies yet (the keyring is empty)\n')
      } else if (keys.length === 0) {
        process.stdout.write('The keyring is empty: the server makes its first key when it starts (or run `keycard keys rotate`).\n')
      } else {
        process.stdout.write(formatTable(keys))
        const now = nowSeconds()
        const due = dueAt(verifying, now, policy)
        process.stdout.write(`\nSigning with JWT_ALGORITHM=${policy.algorithm}; next scheduled change: ${iso(due)}${inWords(due - now)}.\n`)
      }
      return 0
    })
  },
}

export const keysRotate: Command = {
  name: 'keys rotate',
  help: rotateHelp,
  async run(args) {
    const { values, positionals } = parseOrUsage(() => parseArgs({ args, options: { help: HELP_OPTION }, allowPositionals: true }))
    if (values.help) {
      process.stdout.write(rotateHelp)
      return 0
    }
    noArguments(positionals)
    const config = loadConfig(process.env)
    return withDatabase(config, async (db) => {
      const keyring = keyringOf(config, db)
      return asCliError(async () => {
        const before = await keyring.list()
        // A key sealed with another KEYS_SECRET than the servers' would be a key they cannot sign with.
        if (before.some((k) => k.state === 'current')) await keyring.entries()
        const now = nowSeconds()
        const next = await keyring.rotate(now)
        await keyring.advance(now)
        const after = await keyring.list()
        process.stdout.write(formatChanges(before, after, now))
        const current = after.find((k) => k.state === 'current')!
        const pending = after.find((k) => k.state === 'next')
        process.stdout.write(`Current signing key: ${current.kid} (${current.algorithm}).\n`)
        if (pending?.activateAt != null)
          process.stdout.write(
            `Next key ${pending.kid} (${pending.algorithm}) becomes current at ${iso(pending.activateAt)}${inWords(pending.activateAt - now)}: ` +
              'a running server promotes it then (or run `keycard keys rotate` again after that time).\n',
          )
        else if (next.kid === current.kid) process.stdout.write('It was published long enough ago: it signs from now on.\n')
        return 0
      })
    })
  },
}

export const keysRetire: Command = {
  name: 'keys retire',
  help: retireHelp,
  async run(args) {
    // Not parseArgs: a kid is base64url and may begin with '-' (1 in 64 do), which it would take for an option.
    if (args.includes('-h') || args.includes('--help')) {
      process.stdout.write(retireHelp)
      return 0
    }
    const [kid, extra] = args.filter((a) => a !== '--')
    if (kid === undefined) throw new UsageError('missing <kid> (`keycard keys list` shows them)')
    if (extra !== undefined) throw new UsageError(`unexpected argument ${JSON.stringify(extra)}`)
    const config = loadConfig(process.env)
    return withDatabase(config, async (db) => {
      const keyring = keyringOf(config, db)
      return asCliError(async () => {
        const before = await keyring.list()
        const now = nowSeconds()
        let result: Awaited<ReturnType<Keyring['retire']>>
        try {
          result = await keyring.retire(kid, now)
        } catch (err) {
          // The kid is the user's own input at their terminal: quoting it helps spot a typo.
          if (err instanceof KeyringError && err.code === 'KEY_NOT_FOUND')
            throw new CliError(`no signing key has the kid ${JSON.stringify(kid)}; \`keycard keys list\` shows them`)
          throw err
        }
        const { retired, current } = result
        process.stdout.write(formatChanges(before, await keyring.list(), now))
        process.stdout.write(
          `Every running server refuses the tokens ${retired.kid} signed as soon as it hears of it, and it is gone from the JWKS.\n` +
            `Current signing key: ${current.kid} (${current.algorithm}), current since ${iso(current.activatedAt ?? current.createdAt)}.\n`,
        )
        return 0
      })
    })
  },
}

const SUBCOMMANDS: Record<string, Command> = { list: keysList, rotate: keysRotate, retire: keysRetire }

export const keys: Command = {
  name: 'keys',
  help: keysHelp,
  async run(args) {
    const [word, ...rest] = args
    if (word === '-h' || word === '--help' || word === 'help') {
      const sub = word === 'help' && rest[0] !== undefined ? SUBCOMMANDS[rest[0]] : undefined
      process.stdout.write(sub ? sub.help : keysHelp)
      return 0
    }
    if (word === undefined) throw new UsageError('missing command: list, rotate or retire')
    const sub = Object.hasOwn(SUBCOMMANDS, word) ? SUBCOMMANDS[word] : undefined
    if (!sub) throw new UsageError(word.startsWith('-') ? `Unknown option '${word}'` : `unknown command "keys ${word}"`)
    try {
      return await sub.run(rest)
    } catch (err) {
      if ((err instanceof UsageError || err instanceof CliError) && !err.command) err.command = sub
      throw err
    }
  },
}
