import { h, screen, when } from '../dom.ts'
import type { App } from '../main.ts'

export function profileView(app: App): HTMLElement {
  const user = app.user!
  const row = (term: string, value: string, id: string) => [h('dt', {}, term), h('dd', { 'data-testid': `profile-${id}` }, value)]
  return screen(
    'profile',
    'Your profile',
    h(
      'dl',
      { class: 'facts' },
      ...row('Username', user.username, 'username'),
      ...row('Email', user.email ?? 'none', 'email'),
      ...row('Role', user.admin ? 'Administrator' : 'User', 'role'),
      ...row('Member since', when(user.registered_on), 'registered'),
      ...row('User id', String(user.id), 'id'),
    ),
  )
}
