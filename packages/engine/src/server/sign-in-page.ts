import { LOCAL_ACCESS_TOKEN_KEY } from '../vault/vault.js';

/**
 * A browser that opens the dashboard without the token (a bookmark of the bare address, a typed
 * URL) gets a page saying how to get the link, not a JSON error. Scripts and the dock's API calls
 * do not ask for HTML and keep the JSON 401.
 */
export function wantsSignInPage(method: string, path: string, accept: string | undefined): boolean {
  return (
    (method === 'GET' || method === 'HEAD') &&
    (path === '/' || path === '/index.html') &&
    (accept ?? '').toLowerCase().includes('text/html')
  );
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** `address` is the request's Host (already checked against the allowed ones); no secret is in the page. */
export function signInPage(address: string, tokenWasWrong: boolean): string {
  const base = `http://${escapeHtml(address)}/`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Telemy: open the dashboard link</title>
<style>
body { font: 16px/1.5 system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem; color: #ddd; background: #16181d; }
code { background: #262a33; padding: 0.1rem 0.3rem; border-radius: 3px; }
</style>
</head>
<body>
<h1>Telemy dashboard</h1>
<p>${tokenWasWrong ? "This link's access token is not this engine's (it may be from another data folder)." : 'This page needs the dashboard link with its access token.'}</p>
<p>When Telemy starts, <code>telemy start</code> prints it on the <code>dashboard:</code> line, like
<code>${base}?token=…</code>. Open that link once; this browser then remembers it.</p>
<p>Lost it? <code>telemy vault get ${LOCAL_ACCESS_TOKEN_KEY}</code> prints the token: open
<code>${base}?token=</code> followed by it.</p>
</body>
</html>
`;
}
