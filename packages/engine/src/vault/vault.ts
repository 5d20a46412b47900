import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../config/atomic-write.js';
import {
  KeyFileStore,
  type KeyringEntry,
  KeyringKeyStore,
  openOsKeyring,
  type VaultKeyStore,
} from './key-store.js';

/**
 * Encrypted secret store (spec 80 §3): one AES-256-GCM entry per secret, the entry name bound as
 * associated data so entries cannot be swapped. The file is never rewritten when it cannot be read:
 * a corrupted vault is reported and left for the user to restore.
 */

export const VAULT_FORMAT_VERSION = 1;
export const LOCAL_ACCESS_TOKEN_KEY = 'local_access_token';

const entrySchema = z.object({ iv: z.string(), tag: z.string(), ct: z.string(), updated_at: z.string() });
const fileSchema = z.object({
  format: z.literal('telemy-vault'),
  version: z.number().int(),
  entries: z.record(z.string(), entrySchema),
});
type VaultFile = z.infer<typeof fileSchema>;

export class VaultError extends Error {
  constructor(
    message: string,
    readonly code: 'corrupted' | 'wrong_key' | 'tampered' | 'newer_version' | 'no_key' | 'invalid_name',
  ) {
    super(message);
    this.name = 'VaultError';
  }
}

const NAME_RE = /^[a-z0-9_.-]{1,64}$/;

export class Vault {
  private constructor(
    readonly file: string,
    private readonly key: Buffer,
    readonly keyStore: VaultKeyStore,
    private data: VaultFile,
  ) {}

  /**
   * Opens (or creates) the vault in `dir`. The key comes from the key file when one exists, else the
   * OS secret store, else a new key is made and saved to the secret store or, lacking one, a 0600 file.
   */
  static async open(dir: string, opts: { keyring?: KeyringEntry | null } = {}): Promise<Vault> {
    const file = path.join(dir, 'vault.json');
    const data = readVaultFile(file);
    const keyFile = new KeyFileStore(path.join(dir, 'vault.key'));
    const keyring = opts.keyring !== undefined ? opts.keyring : await openOsKeyring(file);
    const stores: VaultKeyStore[] = [keyFile];
    if (keyring) stores.push(new KeyringKeyStore(keyring));
    for (const store of stores) {
      const key = loadKey(store);
      if (key) return new Vault(file, key, store, data).verified();
    }
    if (Object.keys(data.entries).length > 0) {
      throw new VaultError(
        `vault ${file} has entries but its key is missing (looked in ${stores.map((s) => s.location).join(' and ')}); restore the key or delete the vault to start over`,
        'no_key',
      );
    }
    const key = randomBytes(32);
    if (keyring) {
      try {
        const store = new KeyringKeyStore(keyring);
        store.save(key);
        return new Vault(file, key, store, data);
      } catch {
        // A secret store that lists but refuses writes (locked, access denied): use the key file.
      }
    }
    keyFile.save(key);
    return new Vault(file, key, keyFile, data);
  }

  /** Fails early with a clear message when the key does not open the existing entries. */
  private verified(): this {
    const first = Object.keys(this.data.entries)[0];
    if (first !== undefined) this.get(first);
    return this;
  }

  list(): string[] {
    return Object.keys(this.data.entries).sort();
  }

  has(name: string): boolean {
    return name in this.data.entries;
  }

  get(name: string): string | null {
    const e = this.data.entries[name];
    if (!e) return null;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(e.iv, 'base64'));
      decipher.setAAD(Buffer.from(name, 'utf8'));
      decipher.setAuthTag(Buffer.from(e.tag, 'base64'));
      return Buffer.concat([decipher.update(Buffer.from(e.ct, 'base64')), decipher.final()]).toString('utf8');
    } catch {
      const others = Object.keys(this.data.entries).filter((n) => n !== name);
      const othersOpen = others.some((n) => this.opens(n));
      if (othersOpen) {
        throw new VaultError(
          `vault entry "${name}" failed authentication: it was tampered with or corrupted; set it again`,
          'tampered',
        );
      }
      throw new VaultError(
        `the vault key (${this.keyStore.location}) does not open ${this.file}: wrong or replaced key, or a tampered vault`,
        'wrong_key',
      );
    }
  }

  set(name: string, value: string): void {
    if (!NAME_RE.test(name))
      throw new VaultError(`invalid vault key name "${name}": use a-z, 0-9, _ . - (max 64)`, 'invalid_name');
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(name, 'utf8'));
    const ct = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
    const next: VaultFile = structuredClone(this.data);
    next.entries[name] = {
      iv: iv.toString('base64'),
      tag: cipher.getAuthTag().toString('base64'),
      ct: ct.toString('base64'),
      updated_at: new Date().toISOString(),
    };
    this.persist(next);
  }

  delete(name: string): boolean {
    if (!this.has(name)) return false;
    const next: VaultFile = structuredClone(this.data);
    delete next.entries[name];
    this.persist(next);
    return true;
  }

  /** Returns the stored value, creating a random one first when absent (e.g. the local access token). */
  getOrCreate(
    name: string,
    make: () => string = () => randomBytes(24).toString('base64url'),
  ): { value: string; created: boolean } {
    const existing = this.get(name);
    if (existing !== null) return { value: existing, created: false };
    const value = make();
    this.set(name, value);
    return { value, created: true };
  }

  /** All decrypted values: used only to scan outbound data (DockState, IPC) for leaked secrets. */
  secretValues(): string[] {
    return this.list()
      .map((n) => this.get(n))
      .filter((v): v is string => v !== null && v.length >= 6);
  }

  private opens(name: string): boolean {
    const e = this.data.entries[name];
    if (!e) return false;
    try {
      const d = createDecipheriv('aes-256-gcm', this.key, Buffer.from(e.iv, 'base64'));
      d.setAAD(Buffer.from(name, 'utf8'));
      d.setAuthTag(Buffer.from(e.tag, 'base64'));
      d.update(Buffer.from(e.ct, 'base64'));
      d.final();
      return true;
    } catch {
      return false;
    }
  }

  private persist(next: VaultFile): void {
    // Re-read first: never overwrite a file that became unreadable since we opened it.
    readVaultFile(this.file);
    writeFileAtomic(this.file, `${JSON.stringify(next, null, 2)}\n`, { mode: 0o600 });
    this.data = next;
  }
}

/** A secret store that fails to read is treated as holding no key; a key file's errors are real. */
function loadKey(store: VaultKeyStore): Buffer | null {
  if (store.kind === 'key_file') return store.load();
  try {
    return store.load();
  } catch {
    return null;
  }
}

function readVaultFile(file: string): VaultFile {
  if (!existsSync(file)) return { format: 'telemy-vault', version: VAULT_FORMAT_VERSION, entries: {} };
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    throw new VaultError(
      `vault ${file} is corrupted (not JSON); it was left untouched — restore it from a backup or move it away`,
      'corrupted',
    );
  }
  const parsed = fileSchema.safeParse(json);
  if (!parsed.success) {
    throw new VaultError(
      `vault ${file} is corrupted (unexpected structure); it was left untouched — restore it from a backup or move it away`,
      'corrupted',
    );
  }
  if (parsed.data.version > VAULT_FORMAT_VERSION) {
    throw new VaultError(
      `vault ${file} has format version ${parsed.data.version}, written by a newer Telemy`,
      'newer_version',
    );
  }
  return parsed.data;
}
