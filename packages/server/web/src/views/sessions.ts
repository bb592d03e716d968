import { api, type RevokedSessions, type Session, type SessionList } from '../api.ts'
import { h, notice, screen, showError, when } from '../dom.ts'
import { device } from '../format.ts'
import type { App } from '../main.ts'

export function sessionsView(app: App): HTMLElement {
  const list = h('ul', { class: 'cards', 'data-testid': 'sessions', 'aria-busy': 'true' })
  const everywhere = h('button', { type: 'button', class: 'danger', 'data-testid': 'sign-out-everywhere' }, 'Sign out everywhere')
  everywhere.addEventListener('click', async () => {
    everywhere.disabled = true
    try {
      const res = await api<RevokedSessions>('POST', '/auth/logout-all')
      app.signedOut(`Signed out of every session${res.revoked_sessions ? ` (${res.revoked_sessions})` : ''}.`)
    } catch (err) {
      showError(err)
      everywhere.disabled = false
    }
  })

  function item(s: Session): HTMLLIElement {
    const labelId = `session-${s.id}`
    const li = h(
      'li',
      { 'data-testid': 'session', 'data-current': String(s.current), 'data-session-id': s.id },
      h(
        'p',
        { class: 'title', id: labelId },
        device(s.user_agent),
        s.current && h('span', { class: 'badge', 'data-testid': 'current-session' }, 'This device'),
      ),
      h('p', { class: 'meta' }, `Signed in ${when(s.created_at)} · last used ${when(s.last_used_at)} · expires ${when(s.expires_at)}`),
    )
    if (!s.current) {
      const revoke = h('button', { type: 'button', class: 'secondary', 'aria-describedby': labelId, 'data-testid': 'revoke' }, 'Revoke')
      revoke.addEventListener('click', async () => {
        revoke.disabled = true
        try {
          await api('DELETE', `/auth/tokens/${encodeURIComponent(s.id)}`)
          li.remove()
          notice(`Revoked the session of ${device(s.user_agent)}.`)
        } catch (err) {
          showError(err)
          revoke.disabled = false
        }
      })
      li.append(revoke)
    }
    return li
  }

  api<SessionList>('GET', '/auth/tokens').then(({ sessions }) => {
    list.replaceChildren(...sessions.map(item))
    if (sessions.length === 0) list.append(h('li', {}, 'No active sessions.'))
    list.removeAttribute('aria-busy')
  }, showError)

  return screen(
    'sessions',
    'Your sessions',
    h('p', {}, 'Every browser or device signed in to your account. Revoke any you do not recognise.'),
    list,
    h('p', {}, everywhere),
  )
}
