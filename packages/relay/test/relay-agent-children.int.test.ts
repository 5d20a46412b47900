import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { relayConfigToEnv } from '../src/config.js';
import { freeTcpPort, freeUdpPort, waitFor } from './srt-peers.js';

const CLI = path.resolve(import.meta.dirname, '../../cli/bin/telemy.js');

/** The srt-live-transmit processes whose parent is `pid` (after setpriv, if any, exec'd into them). */
function srtChildrenOf(pid: number): number[] {
  const listed = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).stdout;
  return listed
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map(Number)
    .filter((child) => {
      try {
        return fs.readFileSync(`/proc/${child}/comm`, 'utf8').startsWith('srt-live-trans');
      } catch {
        return false;
      }
    });
}

/** Gone, or a zombie nobody reaped yet (it holds no sockets any more). */
function exited(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

function canBindUdp(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    s.once('error', () => {
      s.close();
      resolve(false);
    });
    s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

describe('relay agent process killed hard', () => {
  let agent: ChildProcess | null = null;
  let children: number[] = [];

  afterEach(() => {
    agent?.kill('SIGKILL');
    // A failed run must not leave listeners behind: end exactly the children this test saw.
    for (const pid of children) if (!exited(pid)) process.kill(pid, 'SIGKILL');
  });

  it('takes its srt-live-transmit children with it and frees their ports', async () => {
    const ingestPort = await freeUdpPort();
    const egressPort = await freeUdpPort();
    const env = relayConfigToEnv({
      sessionId: 'ses_children',
      instanceId: 'inst-children',
      pairToken: 'PAIRTOKENABCDEFGH234',
      relayWsToken: 'ws-token-0123456789abcdef',
      egressPassphrase: 'EGRESSPASSWORD7654',
      bindHost: '127.0.0.1',
      ingestPorts: [ingestPort],
      egressPort,
      telemetryPort: await freeTcpPort(),
      logLevel: 'warn',
    });
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'telemy-relay-children-'));
    const proc = spawn(process.execPath, [CLI, 'relay'], {
      env: { ...process.env, ...env, TELEMY_HOME: home },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    agent = proc;
    let stdout = '';
    let stderr = '';
    proc.stdout?.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    proc.stderr?.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const gone = new Promise<void>((r) => proc.once('exit', () => r()));
    const pid = proc.pid as number;

    await waitFor(
      () => stdout.includes('telemy relay serving') || proc.exitCode !== null,
      60_000,
      'the agent to serve',
    );
    expect(proc.exitCode, stderr).toBeNull();
    // One ingest listener and the egress listener.
    children = await waitFor(
      () => {
        const found = srtChildrenOf(pid);
        return found.length === 2 && found;
      },
      10_000,
      'two srt-live-transmit children',
    );
    expect(await canBindUdp(ingestPort)).toBe(false);

    proc.kill('SIGKILL');
    await gone;
    await waitFor(() => children.every(exited), 3_000, 'the children to die with the agent');
    expect(await canBindUdp(ingestPort)).toBe(true);
    expect(await canBindUdp(egressPort)).toBe(true);
  });
});
