import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '@telemy/protocol';
import { describe, expect, it } from 'vitest';
import { importV2Vault, type KeyringEntry, Vault, VaultError } from '../../src/vault/index.js';

const tmp = () => mkdtempSync(path.join(tmpdir(), 'telemy-vault-'));

function memoryKeyring(): KeyringEntry & { value: string | null } {
  return {
    value: null,
    getPassword() {
      return this.value;
    },
    setPassword(p: string) {
      this.value = p;
    },
  };
}

async function expectVaultError(p: Promise<unknown> | (() => unknown), code: string): Promise<VaultError> {
  try {
    if (typeof p === 'function') p();
    else await p;
  } catch (err) {
    expect(err).toBeInstanceOf(VaultError);
    expect((err as VaultError).code).toBe(code);
    return err as VaultError;
  }
  throw new Error(`expected VaultError ${code}`);
}

describe('vault', () => {
  it('round-trips values and survives reopening; the file holds no plaintext', async () => {
    const dir = tmp();
    const v = await Vault.open(dir, { keyring: null });
    v.set('obs_password', 'hunter2-very-secret');
    v.set('cloud_api_key', 'tmk_abcdef0123456789');
    const again = await Vault.open(dir, { keyring: null });
    expect(again.get('obs_password')).toBe('hunter2-very-secret');
    expect(again.list()).toEqual(['cloud_api_key', 'obs_password']);
    expect(again.delete('cloud_api_key')).toBe(true);
    expect(again.get('cloud_api_key')).toBeNull();
    const raw = readFileSync(path.join(dir, 'vault.json'), 'utf8');
    expect(raw).not.toContain('hunter2');
    expect(statSync(path.join(dir, 'vault.json')).mode & 0o777).toBe(0o600);
  });

  it('keeps the key in a 0600 file when no OS secret store exists', async () => {
    const dir = tmp();
    const v = await Vault.open(dir, { keyring: null });
    expect(v.keyStore.kind).toBe('key_file');
    expect(statSync(path.join(dir, 'vault.key')).mode & 0o777).toBe(0o600);
  });

  it('uses the OS secret store when available and writes no key file', async () => {
    const dir = tmp();
    const ring = memoryKeyring();
    const v = await Vault.open(dir, { keyring: ring });
    v.set('a', 'secret-value');
    expect(v.keyStore.kind).toBe('os_keyring');
    expect(ring.value).toHaveLength(44);
    expect(() => statSync(path.join(dir, 'vault.key'))).toThrow();
    expect((await Vault.open(dir, { keyring: ring })).get('a')).toBe('secret-value');
  });

  it('a wrong key file gives a clear error', async () => {
    const dir = tmp();
    (await Vault.open(dir, { keyring: null })).set('obs_password', 'pw-123456');
    writeFileSync(path.join(dir, 'vault.key'), `${Buffer.alloc(32, 7).toString('base64')}\n`);
    const err = await expectVaultError(Vault.open(dir, { keyring: null }), 'wrong_key');
    expect(err.message).toContain('does not open');
    expect(err.message).not.toContain('pw-123456');
  });

  it('detects a tampered entry', async () => {
    const dir = tmp();
    const v = await Vault.open(dir, { keyring: null });
    v.set('a', 'first-secret');
    v.set('b', 'second-secret');
    const file = path.join(dir, 'vault.json');
    const json = JSON.parse(readFileSync(file, 'utf8'));
    const ct = Buffer.from(json.entries.b.ct, 'base64');
    ct[0] = (ct[0] ?? 0) ^ 0xff;
    json.entries.b.ct = ct.toString('base64');
    writeFileSync(file, JSON.stringify(json));
    const reopened = await Vault.open(dir, { keyring: null });
    await expectVaultError(() => reopened.get('b'), 'tampered');
    expect(reopened.get('a')).toBe('first-secret');
  });

  it('swapping two entries is detected (the name is authenticated)', async () => {
    const dir = tmp();
    const v = await Vault.open(dir, { keyring: null });
    v.set('a', 'value-a');
    v.set('b', 'value-b');
    const file = path.join(dir, 'vault.json');
    const json = JSON.parse(readFileSync(file, 'utf8'));
    [json.entries.a, json.entries.b] = [json.entries.b, json.entries.a];
    writeFileSync(file, JSON.stringify(json));
    const reopened = await Vault.open(dir, { keyring: null });
    await expectVaultError(() => reopened.get('a'), 'tampered');
    await expectVaultError(() => reopened.get('b'), 'tampered');
  });

  it('reports a corrupted vault and never overwrites it', async () => {
    const dir = tmp();
    const file = path.join(dir, 'vault.json');
    writeFileSync(file, '{ not json');
    await expectVaultError(Vault.open(dir, { keyring: null }), 'corrupted');
    expect(readFileSync(file, 'utf8')).toBe('{ not json');
    const v = await Vault.open(tmp(), { keyring: null });
    v.set('x', 'ok-value');
    writeFileSync(v.file, 'garbage');
    await expectVaultError(() => v.set('y', 'other'), 'corrupted');
    expect(readFileSync(v.file, 'utf8')).toBe('garbage');
  });

  it('a write keeps what another process wrote since this one opened the vault', async () => {
    const dir = tmp();
    const engine = await Vault.open(dir, { keyring: null });
    engine.set('chat_twitch_oauth', 'old-sign-in');
    const cli = await Vault.open(dir, { keyring: null });
    cli.set('chat_youtube_oauth', 'new-sign-in');
    engine.set('chat_twitch_oauth', 'refreshed');
    engine.delete('nothing-there');
    const after = await Vault.open(dir, { keyring: null });
    expect(after.get('chat_youtube_oauth')).toBe('new-sign-in');
    expect(after.get('chat_twitch_oauth')).toBe('refreshed');
    rmSync(dir, { recursive: true, force: true });
  });

  it('getOrCreate makes a token once', async () => {
    const v = await Vault.open(tmp(), { keyring: null });
    const a = v.getOrCreate('local_access_token');
    const b = v.getOrCreate('local_access_token');
    expect(a.created).toBe(true);
    expect(b).toEqual({ value: a.value, created: false });
    expect(a.value.length).toBeGreaterThanOrEqual(32);
  });

  it('rejects bad entry names', async () => {
    const v = await Vault.open(tmp(), { keyring: null });
    await expectVaultError(() => v.set('Bad Name', 'x'), 'invalid_name');
  });

  it('secrets never reach logs', async () => {
    const v = await Vault.open(tmp(), { keyring: null });
    v.set('obs_password', 'sup3r-s3cret-pw');
    let out = '';
    const sink = new Writable({
      write(chunk, _enc, cb) {
        out += chunk.toString();
        cb();
      },
    });
    const log = createLogger('test', { destination: sink });
    const password = v.get('obs_password');
    log.info({ password, obs: { password }, headers: { authorization: `Bearer ${password}` } }, 'connecting');
    log.info({ cfg: { token: password, api_key: password } }, 'cfg');
    expect(out).toContain('connecting');
    expect(out).not.toContain('sup3r-s3cret-pw');
  });
});

/** Flips one bit of a base64 field in the vault file, e.g. `['entries', 'a', 'ct']` or `['check', 'tag']`. */
function flipBit(file: string, field: string[]): void {
  const json = JSON.parse(readFileSync(file, 'utf8'));
  let obj = json;
  for (const k of field.slice(0, -1)) obj = obj[k];
  const last = field[field.length - 1] as string;
  const bytes = Buffer.from(obj[last], 'base64');
  bytes[0] = (bytes[0] ?? 0) ^ 0x01;
  obj[last] = bytes.toString('base64');
  writeFileSync(file, JSON.stringify(json, null, 2));
}

/** A vault with three entries, optionally rewritten the way a build without the key check wrote it. */
async function threeEntries(opts: { oldFormat?: boolean } = {}): Promise<{ dir: string; file: string }> {
  const dir = tmp();
  const v = await Vault.open(dir, { keyring: null });
  v.set('obs_password', 'obs-secret-1');
  v.set('cloud_api_key', 'tmk_secret_2');
  v.set('twitch_token', 'twitch-secret-3');
  const file = path.join(dir, 'vault.json');
  if (opts.oldFormat) {
    const json = JSON.parse(readFileSync(file, 'utf8'));
    delete json.check;
    writeFileSync(file, JSON.stringify(json, null, 2));
  }
  return { dir, file };
}

describe('vault: one corrupted entry fails alone', () => {
  for (const oldFormat of [false, true]) {
    const label = oldFormat ? 'a file without a key check' : 'a file with a key check';
    it(`${label}: the first entry's ciphertext flipped — get other, list, set and delete all work`, async () => {
      const { dir, file } = await threeEntries({ oldFormat });
      const first = Object.keys(JSON.parse(readFileSync(file, 'utf8')).entries)[0];
      expect(first).toBe('obs_password');
      flipBit(file, ['entries', 'obs_password', 'ct']);

      const v = await Vault.open(dir, { keyring: null });
      const err = await expectVaultError(() => v.get('obs_password'), 'tampered');
      expect(err.message).toContain('"obs_password"');
      expect(err.message).toContain('telemy vault set obs_password');
      expect(v.get('cloud_api_key')).toBe('tmk_secret_2');
      expect(v.get('twitch_token')).toBe('twitch-secret-3');
      expect(v.list()).toEqual(['cloud_api_key', 'obs_password', 'twitch_token']);
      expect(v.corrupted()).toEqual(['obs_password']);
      expect(v.secretValues().sort()).toEqual(['tmk_secret_2', 'twitch-secret-3']);

      // set replaces the corrupted entry; a reopened vault reads it.
      v.set('obs_password', 'obs-secret-new');
      const again = await Vault.open(dir, { keyring: null });
      expect(again.get('obs_password')).toBe('obs-secret-new');
      expect(again.corrupted()).toEqual([]);
      expect(JSON.parse(readFileSync(file, 'utf8')).check).toBeDefined();

      // delete removes a corrupted entry, the others stay.
      flipBit(file, ['entries', 'obs_password', 'tag']);
      const third = await Vault.open(dir, { keyring: null });
      expect(third.corrupted()).toEqual(['obs_password']);
      expect(third.delete('obs_password')).toBe(true);
      const fourth = await Vault.open(dir, { keyring: null });
      expect(fourth.list()).toEqual(['cloud_api_key', 'twitch_token']);
      expect(fourth.get('cloud_api_key')).toBe('tmk_secret_2');
      expect(statSync(file).mode & 0o777).toBe(0o600);
    });
  }

  it('a flipped bit in the key check: a clear wrong-key error, the file untouched', async () => {
    const { dir, file } = await threeEntries();
    flipBit(file, ['check', 'ct']);
    const before = readFileSync(file);
    const err = await expectVaultError(Vault.open(dir, { keyring: null }), 'wrong_key');
    expect(err.message).toContain('wrong or replaced key, or a corrupted vault');
    expect(err.message).toContain('left untouched');
    expect(err.message).not.toContain('secret');
    expect(readFileSync(file).equals(before)).toBe(true);
  });

  it('a wrong key is refused by the key check even when an entry would be tried first', async () => {
    const { dir, file } = await threeEntries();
    writeFileSync(path.join(dir, 'vault.key'), `${Buffer.alloc(32, 9).toString('base64')}\n`);
    const before = readFileSync(file);
    await expectVaultError(Vault.open(dir, { keyring: null }), 'wrong_key');
    expect(readFileSync(file).equals(before)).toBe(true);
  });

  it('a file without a key check opens and gains one on its next write', async () => {
    const { dir, file } = await threeEntries({ oldFormat: true });
    const v = await Vault.open(dir, { keyring: null });
    expect(JSON.parse(readFileSync(file, 'utf8')).check).toBeUndefined(); // opening writes nothing
    expect(v.get('obs_password')).toBe('obs-secret-1');
    v.delete('twitch_token');
    const json = JSON.parse(readFileSync(file, 'utf8'));
    expect(json.check).toMatchObject({
      iv: expect.any(String),
      tag: expect.any(String),
      ct: expect.any(String),
    });
    expect(json.version).toBe(1);
    // From now on the check, not an entry, verifies the key: every entry corrupted still opens.
    flipBit(file, ['entries', 'obs_password', 'ct']);
    flipBit(file, ['entries', 'cloud_api_key', 'ct']);
    const again = await Vault.open(dir, { keyring: null });
    expect(again.corrupted()).toEqual(['cloud_api_key', 'obs_password']);
  });

  it('a file without a key check and a wrong key still fails clearly', async () => {
    const { dir, file } = await threeEntries({ oldFormat: true });
    writeFileSync(path.join(dir, 'vault.key'), `${Buffer.alloc(32, 7).toString('base64')}\n`);
    const before = readFileSync(file);
    const err = await expectVaultError(Vault.open(dir, { keyring: null }), 'wrong_key');
    expect(err.message).toContain('does not open');
    expect(readFileSync(file).equals(before)).toBe(true);
  });

  it('getOrCreate replaces a corrupted generated token instead of failing', async () => {
    const dir = tmp();
    const v = await Vault.open(dir, { keyring: null });
    const token = v.getOrCreate('local_access_token').value;
    v.set('obs_password', 'kept-value');
    flipBit(v.file, ['entries', 'local_access_token', 'ct']);
    const reopened = await Vault.open(dir, { keyring: null });
    const r = reopened.getOrCreate('local_access_token');
    expect(r).toMatchObject({ created: true, replaced: true });
    expect(r.value).not.toBe(token);
    expect((await Vault.open(dir, { keyring: null })).get('local_access_token')).toBe(r.value);
    expect(reopened.get('obs_password')).toBe('kept-value');
  });

  it('an emptied vault whose key was lost gets a new key and a new check', async () => {
    const dir = tmp();
    const v = await Vault.open(dir, { keyring: null });
    v.set('a', 'value-a');
    v.delete('a');
    rmSync(path.join(dir, 'vault.key'));
    await Vault.open(dir, { keyring: null });
    // Opened again before any write: the check was re-sealed with the new key when it was made.
    (await Vault.open(dir, { keyring: null })).set('b', 'value-b');
    expect((await Vault.open(dir, { keyring: null })).get('b')).toBe('value-b');
  });

  it('writes leave no temporary file behind', async () => {
    const { dir } = await threeEntries();
    const v = await Vault.open(dir, { keyring: null });
    v.set('obs_password', 'x-value-2');
    expect(readdirSync(dir).sort()).toEqual(['vault.json', 'vault.key']);
  });
});

describe('vault import-v2', () => {
  it('imports base64 values and lists DPAPI ones to re-enter', async () => {
    const dir = tmp();
    const old = path.join(dir, 'old-vault.json');
    writeFileSync(
      old,
      JSON.stringify({
        entries: {
          obs_password: Buffer.from('old-obs-pw').toString('base64'),
          grafana_token: 'dpapi:AQAAANCMnd8BFdERjHoAwE',
          'Aegis Key': { base64: Buffer.from('tmk_old').toString('base64') },
          broken: 'not base64 !!',
        },
      }),
    );
    chmodSync(old, 0o600);
    const v = await Vault.open(dir, { keyring: null });
    const r = importV2Vault(old, v, 'linux');
    expect(r.imported.sort()).toEqual(['aegis_key', 'obs_password']);
    expect(r.reenter.map((x) => x.name).sort()).toEqual(['broken', 'grafana_token']);
    expect(r.reenter.find((x) => x.name === 'grafana_token')?.reason).toContain('Windows');
    expect(v.get('obs_password')).toBe('old-obs-pw');
    expect(v.get('aegis_key')).toBe('tmk_old');
  });
});

describe('vault key placement', () => {
  it('falls back to the key file when the OS secret store refuses writes', async () => {
    const dir = tmp();
    const refusing: KeyringEntry = {
      getPassword: () => null,
      setPassword: () => {
        throw new Error("Couldn't access platform storage: AccessDenied");
      },
    };
    const v = await Vault.open(dir, { keyring: refusing });
    expect(v.keyStore.kind).toBe('key_file');
    v.set('a', 'value-1');
    expect((await Vault.open(dir, { keyring: refusing })).get('a')).toBe('value-1');
  });
});
