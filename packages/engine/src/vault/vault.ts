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
 * Encrypted secret store: one AES-256-GCM entry per secret, the entry name bound as
 * associated data so entries cannot be swapped. The file is never rewritten when it cannot be read:
 * a corrupted vault is reported and left for the user to restore.
 *
 * The key is verified by `check`, a known constant sealed with the key, never by a secret: a
 * corrupted entry fails alone (its `get` names it; `list`, `set`, `delete` and the other entries keep
 * working). A file written before `check` existed is verified by any entry that decrypts and gains
 * `check` on its next write; the format version stays 1 (older builds ignore the field).
 */

export const VAULT_FORMAT_VERSION = 1;
export const LOCAL_ACCESS_TOKEN_KEY = 'local_access_token';

/** The key check: this text sealed under associated data no entry name can take (names have no ':'). */
const CHECK_PLAINTEXT = 'telemy-vault-key-check-v1';
const CHECK_AAD = 'telemy-vault:key-check';

const sealedSchema = z.object({ iv: z.string(), tag: z.string(), ct: z.string() });
const entrySchema = sealedSchema.extend({ updated_at: z.string() });
const fileSchema = z.object({
  format: z.literal('telemy-vault'),
  version: z.number().int(),
  check: sealedSchema.optional(),
  entries: z.record(z.string(), entrySchema),
});
type VaultFile = z.infer<typeof fileSchema>;
type Sealed = z.infer<typeof sealedSchema>;

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

/** The vault file of a data folder (it exists once something was stored, or Telemy has run). */
export function vaultFileIn(dir: string): string {
  return path.join(dir, 'vault.json');
}

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
    const file = vaultFileIn(dir);
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
    let store: VaultKeyStore = keyFile;
    if (keyring) {
      try {
        const ring = new KeyringKeyStore(keyring);
        ring.save(key);
        store = ring;
      } catch {
        // A secret store that lists but refuses writes (locked, access denied): use the key file.
      }
    }
    if (store === keyFile) keyFile.save(key);
    const vault = new Vault(file, key, store, data);
    // An entry-less file sealed with a lost key: re-seal its check now, or the next open would fail.
    if (data.check) vault.persist(structuredClone(data));
    return vault;
  }

  /**
   * Fails early, with the file untouched, when the key is not the vault's: by the key check, or in a
   * file written before it existed, when no entry at all decrypts. A corrupted entry is not checked
   * here: it fails alone when read.
   */
  private verified(): this {
    const names = Object.keys(this.data.entries);
    const ok = this.data.check
      ? this.unseal(this.data.check, CHECK_AAD) === CHECK_PLAINTEXT
      : names.length === 0 || names.some((n) => this.opens(n));
    if (!ok) {
      throw new VaultError(
        this.data.check
          ? `the vault key (${this.keyStore.location}) does not open ${this.file}: wrong or replaced key, or a corrupted vault (its key check does not match); the vault was left untouched — restore the key or the vault from a backup`
          : `the vault key (${this.keyStore.location}) does not open ${this.file}: wrong or replaced key, or a corrupted vault (no entry decrypts); the vault was left untouched — restore the key or the vault from a backup`,
        'wrong_key',
      );
    }
    return this;
  }

  list(): string[] {
    return Object.keys(this.data.entries).sort();
  }

  has(name: string): boolean {
    return this.entry(name) !== undefined;
  }

  /** Names of the entries that do not decrypt with the vault's (verified) key. */
  corrupted(): string[] {
    return this.list().filter((n) => !this.opens(n));
  }

  /**
   * The entry's value, or null when there is none. An entry that does not decrypt throws a
   * `tampered` VaultError naming it; the key itself was verified when the vault was opened.
   */
  get(name: string): string | null {
    const e = this.entry(name);
    if (!e) return null;
    const value = this.unseal(e, name);
    if (value === null) {
      throw new VaultError(
        `vault entry "${name}" is corrupted or was tampered with (it does not decrypt with the vault key); replace it with \`telemy vault set ${name}\` or remove it with \`telemy vault delete ${name}\``,
        'tampered',
      );
    }
    return value;
  }

  /** Stores the value, replacing the entry (a corrupted one too). */
  set(name: string, value: string): void {
    if (!NAME_RE.test(name))
      throw new VaultError(`invalid vault key name "${name}": use a-z, 0-9, _ . - (max 64)`, 'invalid_name');
    const next = this.current();
    next.entries[name] = { ...this.seal(value, name), updated_at: new Date().toISOString() };
    this.persist(next);
  }

  delete(name: string): boolean {
    if (!this.has(name)) return false;
    const next = this.current();
    delete next.entries[name];
    this.persist(next);
    return true;
  }

  /**
   * Returns the stored value, creating a random one first when absent (e.g. the local access token).
   * A generated value whose entry is corrupted cannot be recovered: it is replaced by a new one
   * (`replaced`), so a damaged token never keeps the engine from starting.
   */
  getOrCreate(
    name: string,
    make: () => string = () => randomBytes(24).toString('base64url'),
  ): { value: string; created: boolean; replaced?: true } {
    const corrupted = this.has(name) && !this.opens(name);
    const existing = corrupted ? null : this.get(name);
    if (existing !== null) return { value: existing, created: false };
    const value = make();
    this.set(name, value);
    return corrupted ? { value, created: true, replaced: true } : { value, created: true };
  }

  /** All decrypted values: used only to scan outbound data (DockState, IPC) for leaked secrets. */
  secretValues(): string[] {
    return this.list()
      .map((n) => (this.opens(n) ? this.get(n) : null))
      .filter((v): v is string => v !== null && v.length >= 6);
  }

  /** Own entries only: a name like `constructor` is not an entry of every vault. */
  private entry(name: string): VaultFile['entries'][string] | undefined {
    return Object.hasOwn(this.data.entries, name) ? this.data.entries[name] : undefined;
  }

  private opens(name: string): boolean {
    const e = this.entry(name);
    return e !== undefined && this.unseal(e, name) !== null;
  }

  private seal(plaintext: string, aad: string): Sealed {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return {
      iv: iv.toString('base64'),
      tag: cipher.getAuthTag().toString('base64'),
      ct: ct.toString('base64'),
    };
  }

  /** The plaintext, or null when it does not authenticate (wrong key, corrupted or moved data). */
  private unseal(s: Sealed, aad: string): string | null {
    try {
      // A full 16-byte tag only: a shortened one would weaken the authentication.
      const d = createDecipheriv('aes-256-gcm', this.key, Buffer.from(s.iv, 'base64'), { authTagLength: 16 });
      d.setAAD(Buffer.from(aad, 'utf8'));
      d.setAuthTag(Buffer.from(s.tag, 'base64'));
      return Buffer.concat([d.update(Buffer.from(s.ct, 'base64')), d.final()]).toString('utf8');
    } catch {
      return null;
    }
  }

  /**
   * The entries as the file holds them now, as the base of a write: another process may have written
   * since this one read it (`telemy chat login` while the engine runs and refreshes its own tokens),
   * and a write must not drop its entries. A file sealed with another key is not merged.
   */
  private current(): VaultFile {
    const onDisk = readVaultFile(this.file);
    if (onDisk.check && this.unseal(onDisk.check, CHECK_AAD) === CHECK_PLAINTEXT) this.data = onDisk;
    return structuredClone(this.data);
  }

  /**
   * Writes `next` atomically (temp file, fsync, rename; 0600), with a key check sealed by this key:
   * a file written before the check existed gains one here.
   */
  private persist(next: VaultFile): void {
    // Re-read first: never overwrite a file that became unreadable since we opened it.
    readVaultFile(this.file);
    const data: VaultFile = {
      format: 'telemy-vault',
      version: VAULT_FORMAT_VERSION,
      check:
        next.check && this.unseal(next.check, CHECK_AAD) === CHECK_PLAINTEXT
          ? next.check
          : this.seal(CHECK_PLAINTEXT, CHECK_AAD),
      entries: next.entries,
    };
    writeFileAtomic(this.file, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600 });
    this.data = data;
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
