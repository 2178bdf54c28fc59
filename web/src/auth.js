// The API token of gridd's browser pages (the map, the dashboard; the
// editor keeps it under the same key): kept for the tab in sessionStorage,
// asked for in the page's #auth form with the server's reason, and sent as
// Authorization: Bearer only to gridd itself, never to a basemap.

const TOKEN_KEY = 'gridd.token';

// NeedsToken stops a page's start when the server wants a (different) token.
export class NeedsToken extends Error {}

// pageAuth wires the page's token form: $ finds elements by id, prompt is
// the form's message when the page gives no reason, refusals the statuses
// that ask for a token, and onToken runs once a token is entered.
export function pageAuth({ $, prompt, refusals = [401], onToken }) {
  const storage = (() => { try { return window.sessionStorage; } catch { return null; } })();
  let token = (storage && storage.getItem(TOKEN_KEY)) || '';
  const sameOrigin = (url) => {
    try { return new URL(url, location.href).origin === location.origin; } catch { return false; }
  };
  const authHeaders = (url) => (token && sameOrigin(url) ? { Authorization: 'Bearer ' + token } : {});
  const apiFetch = (url) => fetch(url, { headers: authHeaders(url) });

  // askToken shows the token field with the server's reason.
  function askToken(reason) {
    $('auth-msg').textContent = reason || prompt;
    $('token').value = token;
    $('auth').hidden = false;
    $('token').focus();
  }
  $('auth').addEventListener('submit', (ev) => {
    ev.preventDefault();
    token = $('token').value.trim();
    if (storage) {
      if (token) storage.setItem(TOKEN_KEY, token); else storage.removeItem(TOKEN_KEY);
    }
    $('auth').hidden = true;
    onToken();
  });

  // getJSON reads one of this server's documents; a refusal asks for a token.
  async function getJSON(url) {
    const resp = await apiFetch(url);
    let body = null;
    try { body = await resp.json(); } catch { /* not JSON: reported below */ }
    const reason = body && body.error ? body.error.message : `${resp.status} ${resp.statusText}`;
    if (refusals.includes(resp.status)) {
      askToken(reason);
      throw new NeedsToken(reason);
    }
    if (!resp.ok || !body) throw new Error(`${url}: ${reason}`);
    return body;
  }

  return {
    hasToken: () => token !== '',
    authHeaders,
    apiFetch,
    askToken,
    getJSON,
    // MapLibre's transformRequest: the token on requests to gridd only.
    transformRequest: (url) => (token && sameOrigin(url) ? { url, headers: authHeaders(url) } : undefined),
  };
}
