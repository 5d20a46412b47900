import { execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The embedded relay reachable on a machine address other than loopback: a network namespace this
 * test creates, whose only address besides loopback is 10.200.0.1 (on a veth pair inside it), runs the control plane
 * with the `local` provider on its defaults (every interface, the first non-internal IPv4 advertised)
 * and a phone publishing to the URL the session advertises.
 */
const NS = `telemy-relay-${process.pid}`;
const TEST_ADDRESS = '10.200.0.1';
const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'support', 'irl-in-netns.ts');

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

interface NetnsResult {
  public_ip: string | null;
  srt_url: string;
  obs_source_url: string;
  ingest_active: boolean;
  relay_count: number;
  srt_command_lines: string[];
}

function runInNamespace(): Promise<NetnsResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', NS, process.execPath, '--import', 'tsx', SCRIPT], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      err = (err + c.toString()).slice(-4000);
    });
    child.once('error', reject);
    child.once('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (code === 0 && line) resolve(JSON.parse(line) as NetnsResult);
      else reject(new Error(`the namespace run exited with ${code}: ${err.trim()}`));
    });
  });
}

function passphraseOf(url: string): string {
  return new URL(url.replace(/^srt:/, 'http:')).searchParams.get('passphrase') ?? '';
}

beforeAll(() => {
  ip('netns', 'add', NS);
  ip('-n', NS, 'link', 'set', 'lo', 'up');
  // Both ends of the pair stay in the namespace (containers often lack the `dummy` link type).
  ip('-n', NS, 'link', 'add', 'test0', 'type', 'veth', 'peer', 'name', 'test1');
  ip('-n', NS, 'addr', 'add', `${TEST_ADDRESS}/24`, 'dev', 'test0');
  ip('-n', NS, 'link', 'set', 'test0', 'up');
  ip('-n', NS, 'link', 'set', 'test1', 'up');
});

afterAll(() => {
  // Anything the run left behind lives in the namespace: end those processes, then the namespace.
  const pids = execFileSync('ip', ['netns', 'pids', NS], { encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const pid of pids) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  ip('netns', 'del', NS);
});

describe('the embedded relay on a non-loopback address', () => {
  it('listens on every interface, advertises the namespace address, and takes the phone there', async () => {
    const r = await runInNamespace();
    expect(r.public_ip).toBe(TEST_ADDRESS);
    expect(r.srt_url.startsWith(`srt://${TEST_ADDRESS}:`)).toBe(true);
    expect(r.obs_source_url.startsWith(`srt://${TEST_ADDRESS}:`)).toBe(true);
    expect(r.ingest_active).toBe(true);
    expect(r.relay_count).toBe(1);
    // The relay's media children were running, and none showed a passphrase to `ps`.
    expect(r.srt_command_lines.length).toBeGreaterThanOrEqual(2);
    const secrets = [passphraseOf(r.srt_url), passphraseOf(r.obs_source_url)];
    expect(secrets.every((s) => s.length >= 10)).toBe(true);
    for (const line of r.srt_command_lines) for (const s of secrets) expect(line).not.toContain(s);
  }, 240_000);
});
