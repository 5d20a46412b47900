import { createHash } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, statSync } from 'node:fs';
import { writeFileAtomic } from '../config/atomic-write.js';

/** Where the vault's 32-byte AES key is kept. */
export interface VaultKeyStore {
  readonly kind: 'os_keyring' | 'key_file';
  /** Human location for messages ("OS secret store", "/path/vault.key"). */
  readonly location: string;
  load(): Buffer | null;
  save(key: Buffer): void;
}

/** Minimal surface of `@napi-rs/keyring`'s Entry, so tests can inject a store. */
export interface KeyringEntry {
  getPassword(): string | null | undefined;
  setPassword(password: string): void;
}

export class KeyringKeyStore implements VaultKeyStore {
  readonly kind = 'os_keyring' as const;
  readonly location = 'OS secret store';
  constructor(private readonly entry: KeyringEntry) {}

  load(): Buffer | null {
    const v = this.entry.getPassword();
    return v ? decodeKey(v, this.location) : null;
  }

  save(key: Buffer): void {
    this.entry.setPassword(key.toString('base64'));
  }
}

export class KeyFileStore implements VaultKeyStore {
  readonly kind = 'key_file' as const;
  constructor(readonly location: string) {}

  load(): Buffer | null {
    if (!existsSync(this.location)) return null;
    const mode = statSync(this.location).mode & 0o777;
    if (mode & 0o077) chmodSync(this.location, 0o600);
    return decodeKey(readFileSync(this.location, 'utf8').trim(), this.location);
  }

  save(key: Buffer): void {
    writeFileAtomic(this.location, `${key.toString('base64')}\n`, { mode: 0o600 });
    chmodSync(this.location, 0o600);
  }
}

function decodeKey(b64: string, where: string): Buffer {
  const key = Buffer.from(b64, 'base64');
  if (key.length !== 32)
    throw new Error(`vault key in ${where} is not a 32-byte key; restore it from a backup`);
  return key;
}

/** The keyring account is derived from the vault path, so two data folders never share a key. */
export function keyringAccount(vaultFile: string): string {
  return `vault-key-${createHash('sha256').update(vaultFile).digest('hex').slice(0, 16)}`;
}

/**
 * Opens the OS secret store through @napi-rs/keyring. Returns null when the platform has none
 * (headless Linux without Secret Service, CI): the caller then falls back to the 0600 key file.
 */
export async function openOsKeyring(vaultFile: string): Promise<KeyringEntry | null> {
  try {
    const { Entry } = await import('@napi-rs/keyring');
    const entry = new Entry('telemy', keyringAccount(vaultFile));
    entry.getPassword();
    return entry;
  } catch {
    return null;
  }
}
