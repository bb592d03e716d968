import { api, type User, type UserPage } from '../api.ts'
import { h, notice, screen, showError, when } from '../dom.ts'
import type { App } from '../main.ts'

const PAGE = 50

/** Admins only: every user, a page at a time, each with "Delete" (after a confirmation). */
export function adminView(app: App): HTMLElement {
  const body = h('tbody', {})
  const status = h('p', { 'data-testid': 'user-count' }, 'Loading users…')
  const prev = h('button', { type: 'button', class: 'secondary', disabled: true }, 'Previous page')
  const next = h('button', { type: 'button', class: 'secondary', disabled: true }, 'Next page')
  const pager = h('div', { class: 'actions', hidden: true }, prev, next)
  let offset = 0

  function row(user: User): HTMLTableRowElement {
    const del = h(
      'button',
      { type: 'button', class: 'danger', 'aria-label': `Delete ${user.username}`, 'data-testid': 'delete-user' },
      'Delete',
    )
    del.addEventListener('click', async () => {
      if (!window.confirm(`Delete the user "${user.username}"? This signs them out everywhere and cannot be undone.`)) return
      del.disabled = true
      try {
        await api('DELETE', `/admin/users/${user.id}`)
        await load()
        notice(`Deleted the user ${user.username}.`)
      } catch (err) {
        showError(err)
        del.disabled = false
      }
    })
    return h(
      'tr',
      { 'data-testid': 'user-row', 'data-username': user.username },
      h('td', { 'data-label': 'Username' }, user.username),
      h('td', { 'data-label': 'Email' }, user.email ?? '—'),
      h('td', { 'data-label': 'Role' }, user.admin ? 'Admin' : 'User'),
      h('td', { 'data-label': 'Registered' }, when(user.registered_on)),
      h('td', {}, user.id === app.user?.id ? h('span', { class: 'badge' }, 'You') : del),
    )
  }

  async function load(): Promise<void> {
    const page = await api<UserPage>('GET', `/admin/users?limit=${PAGE}&offset=${offset}`)
    if (page.users.length === 0 && offset > 0) {
      offset = Math.max(0, offset - PAGE)
      return load()
    }
    body.replaceChildren(...page.users.map(row))
    const last = Math.min(page.total, offset + page.users.length)
    status.textContent = `${page.total} user(s); showing ${page.total ? offset + 1 : 0}–${last}.`
    prev.disabled = offset === 0
    next.disabled = last >= page.total
    pager.hidden = page.total <= PAGE
  }
  const move = (by: number) => () => {
    offset = Math.max(0, offset + by)
    load().catch(showError)
  }
  prev.addEventListener('click', move(-PAGE))
  next.addEventListener('click', move(PAGE))
  load().catch(showError)

  return screen(
    'admin',
    'Users',
    status,
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { 'data-testid': 'users' },
        h('thead', {}, h('tr', {}, ...['Username', 'Email', 'Role', 'Registered', 'Actions'].map((t) => h('th', { scope: 'col' }, t)))),
        body,
      ),
    ),
    pager,
  )
}
