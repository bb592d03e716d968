import { api, type User, type UserPage } from '../api.ts'
import { h, notice, screen, showError, when } from '../dom.ts'
import type { App } from '../main.ts'

const PAGE = 50

/** Admins only: every user, a page at a time, each with "Delete" (after a confirmation). */
export function adminView(app: App): HTMLElement {
  const body = h('tbody', {})
  const status = h('p', { 'data-testid': 'user-count' }, 'Loading users…')
  const prev = h('button', { type: 'button', class: 'secondary', disabled: true }, 'Previous page')
  const nextButton = h('button', { type: 'button', class: 'secondary', disabled: true }, 'Next page')
  const pager = h('div', { class: 'actions', hidden: true }, prev, nextButton)
  // Pages are by key: the `after` of every page up to the one shown (undefined for the first), so
  // "Previous page" goes back without an offset.
  const starts: (number | undefined)[] = [undefined]
  let next: number | null = null

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
    const after = starts[starts.length - 1]
    const page = await api<UserPage>('GET', `/admin/users?limit=${PAGE}${after === undefined ? '' : `&after=${after}`}`)
    if (page.users.length === 0 && starts.length > 1) {
      // The page's last users were deleted: show the one before.
      starts.pop()
      return load()
    }
    next = page.next
    body.replaceChildren(...page.users.map(row))
    const first = (starts.length - 1) * PAGE
    status.textContent = `${page.total} user(s); showing ${page.users.length ? first + 1 : 0}–${first + page.users.length}.`
    prev.disabled = starts.length === 1
    nextButton.disabled = next === null
    pager.hidden = starts.length === 1 && next === null
  }
  const move = (forward: boolean) => () => {
    if (forward && next !== null) starts.push(next)
    else if (!forward && starts.length > 1) starts.pop()
    load().catch(showError)
  }
  prev.addEventListener('click', move(false))
  nextButton.addEventListener('click', move(true))
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
