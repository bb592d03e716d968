import { type AuditEventList, api, type PublicAuditEvent } from '../api.ts'
import { h, screen, showError } from '../dom.ts'
import { ago, shortAgent } from '../format.ts'

/** Events per request; "Load more" asks for the next ones by key (`before`). */
const PAGE = 20

/** What each of the account-page event types (GET /auth/events) is called here. */
const LABELS: Readonly<Record<string, string>> = {
  'login.succeeded': 'Signed in',
  'user.registered': 'Account created',
  'password.changed': 'Password changed',
  'session.revoked': 'Session signed out',
  'logout.all': 'Signed out everywhere',
  'refresh.reused': 'Stolen refresh token detected — session ended',
  'throttle.tripped': 'Too many sign-in attempts',
}
/** Events that mean someone else may be at work: marked so they stand out. */
const WARNINGS = new Set(['refresh.reused', 'throttle.tripped'])

const count = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`

/** A short addition to the label from the event's detail, or undefined. */
function note(e: PublicAuditEvent): string | undefined {
  const d = e.detail ?? {}
  const revoked = typeof d.revoked_sessions === 'number' ? d.revoked_sessions : undefined
  if (e.type === 'login.succeeded' && d.fresh === true) return 'password confirmed again'
  if (e.type === 'password.changed' && revoked) return `${count(revoked, 'other session')} signed out`
  if (e.type === 'logout.all' && revoked !== undefined) return `${count(revoked, 'session')} signed out`
  if (e.type === 'throttle.tripped' && typeof d.retry_after === 'number') return `paused for ${count(d.retry_after, 'second')}`
  return undefined
}

/** One event. Everything from the server goes in as text (`h` appends strings as text nodes): user agents are whatever a client sent. */
function item(e: PublicAuditEvent, now: number): HTMLLIElement {
  const extra = note(e)
  return h(
    'li',
    { 'data-testid': 'event', 'data-type': e.type, 'data-event-id': e.id, class: WARNINGS.has(e.type) ? 'warning' : undefined },
    h(
      'p',
      { class: 'title' },
      h('span', { 'data-testid': 'event-label' }, LABELS[e.type] ?? e.type),
      extra && h('span', { class: 'note', 'data-testid': 'event-note' }, ` (${extra})`),
    ),
    h(
      'p',
      { class: 'meta' },
      h('time', { datetime: e.at, title: e.at, 'data-testid': 'event-time' }, ago(e.at, now)),
      ' · from ',
      h('span', { 'data-testid': 'event-address' }, e.address ?? 'an unknown address'),
      ' · ',
      h('span', { 'data-testid': 'event-agent', title: e.user_agent ?? undefined }, shortAgent(e.user_agent)),
    ),
  )
}

/**
 * "Recent activity": the signed-in user's own security events (sign-ins, sign-up, password changes,
 * ended sessions, detected token theft, throttling), newest first, `PAGE` at a time.
 *
 * @example
 * ```ts
 * document.getElementById('view')!.replaceChildren(activityView())
 * ```
 */
export function activityView(): HTMLElement {
  const list = h('ol', { class: 'cards', 'data-testid': 'events', 'aria-busy': 'true' })
  const status = h('p', { class: 'meta', 'data-testid': 'event-count' }, 'Loading your recent activity…')
  const more = h('button', { type: 'button', class: 'secondary', hidden: true, 'data-testid': 'load-more' }, 'Load more')
  let next: number | null = null
  let shown = 0

  async function load(before?: number): Promise<void> {
    list.setAttribute('aria-busy', 'true')
    more.disabled = true
    try {
      const page = await api<AuditEventList>('GET', `/auth/events?limit=${PAGE}${before === undefined ? '' : `&before=${before}`}`)
      const now = Date.now()
      const items = page.events.map((e) => item(e, now))
      if (before === undefined) list.replaceChildren(...items)
      else list.append(...items)
      shown += items.length
      next = page.next
      if (shown === 0) list.append(h('li', { 'data-testid': 'no-events' }, 'No security events recorded yet.'))
      status.textContent =
        shown === 0 ? '' : next === null ? `Showing all ${count(shown, 'event')}.` : `Showing the ${shown} most recent events.`
      more.hidden = next === null
      // Keyboard users carry on from the first event just added, not from a button that may be gone.
      if (before !== undefined && items[0]) {
        items[0].tabIndex = -1
        items[0].focus()
      }
    } finally {
      list.removeAttribute('aria-busy')
      more.disabled = false
    }
  }

  more.addEventListener('click', () => {
    if (next !== null) load(next).catch(showError)
  })
  load().catch(showError)

  return screen(
    'activity',
    'Recent activity',
    h(
      'p',
      {},
      'Security events on your account, newest first. If you do not recognise one, ',
      h('a', { href: '#/password' }, 'change your password'),
      ' and ',
      h('a', { href: '#/sessions' }, 'sign out everywhere'),
      '.',
    ),
    status,
    list,
    h('div', { class: 'actions' }, more),
  )
}
