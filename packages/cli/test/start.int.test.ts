import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { defaultConfig } from '@telemy/engine/config';
import { takePidLock } from '@telemy/protocol/pid-lock';
import { afterAll, describe, expect, it } from 'vitest';
import { eventually, startTelemy, type TelemyProcess } from '../../../test/support/telemy-process.js';

const BIN = path.resolve(import.meta.dirname, '../bin/telemy.js');

function run(
  args: string[],
  home: string,
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, TELEMY_HOME: home, ...env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => {
      stdout += d;
    });
    p.stderr.on('data', (d) => {
      stderr += d;
    });
    p.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

const newHome = () => mkdtempSync(path.join(tmpdir(), 'telemy-start-'));

/** SIGTERM, then the exit code; no SIGKILL deadline, which a loaded machine could overrun. */
function terminate(p: TelemyProcess): Promise<number | null> {
  if (p.proc.exitCode !== null) return Promise.resolve(p.proc.exitCode);
  const exited = new Promise<number | null>((resolve) => p.proc.once('exit', (code) => resolve(code)));
  p.proc.kill('SIGTERM');
  return exited;
}

const running: TelemyProcess[] = [];
afterAll(async () => {
  for (const p of running) await p.stop();
});

describe('telemy start', () => {
  it('help shows --port and --obs-port with the config defaults', async () => {
    const d = defaultConfig();
    const r = await run(['start', '--help'], newHome());
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`--port <n>\\s+dashboard port \\(default ${d.server.port};`));
    expect(r.stdout).toMatch(new RegExp(`--obs-port <n>\\s+OBS WebSocket port \\(default ${d.obs.port};`));
    expect(r.stdout.replace(/\s+/g, ' ')).toContain(`dashboard at ${d.server.host}:${d.server.port}`);
    const bad = await run(['start', '--port', '70000'], newHome());
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(
      "option '--port <n>' argument '70000' is invalid. a port is an integer 1-65535",
    );
  });

  it('runs on the ports given, and a second start on the same data folder exits 1 at once naming the first', async () => {
    const home = newHome();
    const config = path.join(home, 'config.toml');
    writeFileSync(config, 'config_version = 3\n[cloud]\nmode = "off"\n');
    const port = await freePort();
    const first = startTelemy(['--config', config, 'start', '--port', String(port), '--obs-port', '1'], {
      home,
    });
    running.push(first);
    await first.waitFor(/Telemy engine running/, 60_000);
    expect(first.stdout()).toContain(`dashboard: http://127.0.0.1:${port}/?token=`);
    expect(first.stdout()).toContain('OBS:       ws://127.0.0.1:1');

    const second = await run(['--config', config, 'start'], home);
    expect(second.code).toBe(1);
    expect(second.stderr).toBe(
      `telemy: Telemy is already running on the data folder ${home}: process ${first.proc.pid}, dashboard http://127.0.0.1:${port}/; stop it first (Ctrl-C in its terminal, or kill ${first.proc.pid}), or give this one another TELEMY_HOME\n`,
    );
    expect(second.stdout).toBe('');

    expect(await terminate(first)).toBe(0);
    expect(existsSync(path.join(home, 'telemy.lock'))).toBe(false);
    // Not a terminal: the log lines (shim's and engine's) are JSON.
    const lines = first.stderr().trim().split('\n');
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(JSON.parse(line)).toHaveProperty('msg');
  });

  it('logs human lines with --log-format pretty, and a Ctrl-C stops it cleanly without a warning', async () => {
    const home = newHome();
    const config = path.join(home, 'config.toml');
    writeFileSync(config, 'config_version = 3\n[cloud]\nmode = "off"\n');
    const port = await freePort();
    const args = [
      '--config',
      config,
      'start',
      '--port',
      String(port),
      '--obs-port',
      '1',
      '--log-format',
      'pretty',
    ];
    // In a process group of its own, as in a terminal, where Ctrl-C signals the shim and the engine.
    const p = startTelemy(args, { home, ownSession: true });
    running.push(p);
    await p.waitFor(/Telemy engine running/, 60_000);
    expect(p.stdout()).toContain('  scenes:    switched by the shim over IPC\n');
    // Once the start-up has said all it has to say: the link up, OBS not found, and so the first
    // read-back of the program scene failed.
    const startup = [/IPC session established/, /OBS is not reachable/, /program scene read-back failed/];
    await eventually(() => startup.every((re) => re.test(p.stderr())), 60_000);
    const exited = new Promise<number | null>((resolve) => p.proc.once('exit', (code) => resolve(code)));
    process.kill(-(p.proc.pid as number), 'SIGINT');
    expect(await exited).toBe(0);
    const lines = p.stderr().trim().split('\n');
    for (const line of lines)
      expect(line).toMatch(/^\d\d:\d\d:\d\d\.\d{3} (TRACE|DEBUG|INFO |WARN |ERROR|FATAL) \S+/);
    expect(lines).toContainEqual(expect.stringMatching(/ INFO {2}engine\/ipc IPC ready ipc_ready=true$/));
    const stopping = lines.findIndex((l) => l.includes(' shim stopping '));
    expect(stopping).toBeGreaterThan(-1);
    expect(lines.slice(stopping).filter((l) => !/ (TRACE|DEBUG|INFO) /.test(l))).toEqual([]);
  });

  it('a lock naming a running process refuses; one left by a process that is gone is taken over', async () => {
    const home = newHome();
    const release = takePidLock(path.join(home, 'telemy.lock'), 'dashboard http://127.0.0.1:1234/');
    const refused = await run(['engine'], home, { TELEMY_OBS_PORT: '1' });
    release();
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`process ${process.pid}, dashboard http://127.0.0.1:1234/;`);
    expect(readdirSync(home)).toEqual([]);

    const gone = spawn(process.execPath, ['-e', '']);
    await new Promise((r) => gone.once('exit', r));
    writeFileSync(path.join(home, 'telemy.lock'), `${gone.pid} 1\ndashboard http://127.0.0.1:1/\n`);
    writeFileSync(path.join(home, 'config.toml'), 'config_version = 3\n[cloud]\nmode = "off"\n');
    const port = await freePort();
    const engine = startTelemy(
      ['--config', path.join(home, 'config.toml'), 'engine', '--port', String(port), '--obs-port', '1'],
      { home },
    );
    running.push(engine);
    await engine.waitFor(/Telemy engine running/, 60_000);
    expect(readFileSync(path.join(home, 'telemy.lock'), 'utf8')).toMatch(
      new RegExp(`^${engine.proc.pid} \\d+\ndashboard http://127\\.0\\.0\\.1:${port}/\n$`),
    );
    const code = await terminate(engine);
    expect(code, `${engine.proc.signalCode} ${engine.stderr().slice(-2000)}`).toBe(0);
  });
});

describe('telemy cloud finds the engine where it serves', () => {
  it('reaches an engine started with --port although the config names another port', async () => {
    const home = newHome();
    const config = path.join(home, 'config.toml');
    writeFileSync(config, 'config_version = 3\n[server]\nport = 1\n');
    const port = await freePort();
    const engine = startTelemy(['--config', config, 'engine', '--port', String(port), '--obs-port', '1'], {
      home,
    });
    running.push(engine);
    await engine.waitFor(/Telemy engine running/, 60_000);
    const r = await run(['--config', config, 'cloud', 'active'], home);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/no active relay session/);
    expect(r.code).toBe(0);
    expect(await terminate(engine)).toBe(0);
  });
});

describe('telemy relay and telemy cloud without what they need', () => {
  it('relay without its required settings is a usage error naming each flag and variable', async () => {
    const r = await run(['relay'], newHome());
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'telemy: relay: missing --session-id (or TELEMY_RELAY_SESSION_ID), --instance-id (or TELEMY_RELAY_INSTANCE_ID), --pair-token (or TELEMY_RELAY_PAIR_TOKEN), --ws-token (or TELEMY_RELAY_WS_TOKEN), --egress-passphrase (or TELEMY_RELAY_EGRESS_PASSPHRASE); `telemy relay --help` lists every setting\n',
    );
  });

  it('cloud active with no engine running exits 1 with "engine not running" and creates nothing', async () => {
    const home = newHome();
    const r = await run(['cloud', 'active'], home);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^telemy: engine not running: /);
    expect(readdirSync(home)).toEqual([]);
  });
});
