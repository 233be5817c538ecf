// Connexion: the API's messages (wrong password, lockout) are shown as they are.
import { post } from './api.js';
import { field, h } from './util.js';

export function renderLogin(main, onLogged) {
  const login = h('input', { name: 'login', autocomplete: 'username', required: true,
    maxlength: 64, autocapitalize: 'none', spellcheck: 'false' });
  const password = h('input', { name: 'password', type: 'password',
    autocomplete: 'current-password', required: true, maxlength: 1024 });
  const error = h('p', { id: 'erreur-connexion', class: 'error', role: 'alert', hidden: true });
  const button = h('button', { type: 'submit', class: 'primary' }, 'Se connecter');
  const form = h('form', { class: 'login card', novalidate: true },
    h('h1', {}, 'Veilleur'),
    h('p', { class: 'muted' }, 'Vidéoprotection algorithmique — connexion des opérateurs'),
    field('Identifiant', login).wrap,
    field('Mot de passe', password).wrap,
    error,
    h('div', { class: 'actions' }, button));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.hidden = true;
    if (!login.value.trim() || !password.value) {
      error.textContent = 'Saisissez votre identifiant et votre mot de passe.';
      error.hidden = false;
      (login.value.trim() ? password : login).focus();
      return;
    }
    button.disabled = true;
    try {
      const out = await post('/auth/login', { login: login.value.trim(), password: password.value });
      password.value = '';
      await onLogged(out.user);
    } catch (err) {
      error.textContent = err.status === 423
        ? `Compte verrouillé : ${err.message}`
        : err.message;
      error.hidden = false;
      password.value = '';
      password.focus();
    } finally {
      button.disabled = false;
    }
  });
  main.append(h('div', { class: 'login-wrap' }, form));
  login.focus();
}
