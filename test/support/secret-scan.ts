/**
 * Looks for things that must never leave the engine in DockState or `/api/state`: the
 * given vault secrets, anything shaped like a JWT, and SRT pairing credentials (a passphrase or a
 * publish stream id) while pairing is not revealed. Returns what it found, each secret masked, so a
 * failing assertion does not print the secret itself.
 */
export function findSecrets(text: string, secrets: readonly string[]): string[] {
  const found: string[] = [];
  for (const s of secrets) {
    if (s.length > 0 && text.includes(s)) found.push(`vault secret ${s.slice(0, 3)}…`);
  }
  if (/eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+/.test(text)) found.push('JWT-shaped string');
  if (/passphrase=/i.test(text)) found.push('SRT passphrase');
  if (/streamid=publish/i.test(text)) found.push('SRT publish stream id');
  return found;
}
