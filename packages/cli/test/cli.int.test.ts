import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { registerCommands } from '../src/commands/index.js';

const BIN = path.resolve(import.meta.dirname, '../bin/telemy.js');
const HOME = mkdtempSync(path.join(tmpdir(), 'telemy-cli-'));

function run(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, TELEMY_HOME: HOME, ...env },
    });
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

/** Every leaf command path, read from the same registration the binary uses. */
function leafCommands(): string[][] {
  const program = new Command('telemy');
  registerCommands(program);
  const out: string[][] = [];
  const walk = (cmd: Command, prefix: string[]) => {
    for (const sub of cmd.commands) {
      const p = [...prefix, sub.name()];
      if (sub.commands.length === 0) out.push(p);
      else {
        out.push(p);
        walk(sub, p);
      }
    }
  };
  walk(program, []);
  return out;
}

describe('telemy CLI', () => {
  it('has --help on every command, printing its usage', async () => {
    const commands = leafCommands();
    expect(commands.map((c) => c.join(' '))).toEqual(
      expect.arrayContaining([
        'start',
        'engine',
        'config init',
        'config validate',
        'config show',
        'config migrate',
        'vault set',
        'vault get',
        'vault list',
        'vault delete',
        'vault import-v2',
        'doctor',
      ]),
    );
    // In-process through the same registration the binary uses: spawning ~30 processes would
    // only measure Node's start-up time.
    for (const c of commands) {
      const program = new Command('telemy').exitOverride();
      let out = '';
      program.configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (out += s) });
      registerCommands(program);
      const walk = (cmd: Command) => {
        cmd.exitOverride();
        cmd.configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (out += s) });
        for (const sub of cmd.commands) walk(sub);
      };
      walk(program);
      let code: string | undefined;
      try {
        await program.parseAsync(['node', 'telemy', ...c, '--help']);
      } catch (err) {
        code = (err as { code?: string }).code;
      }
      expect(code, c.join(' ')).toBe('commander.helpDisplayed');
      expect(out).toContain(`Usage: telemy ${c.join(' ')}`);
    }
    const top = await run(['--help']);
    expect(top.code).toBe(0);
    for (const group of ['start', 'engine', 'config', 'vault', 'doctor']) expect(top.stdout).toContain(group);
  });

  it('unknown commands and bad flags print usage and exit 2', async () => {
    const unknown = await run(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command|too many arguments/);
    const badFlag = await run(['doctor', '--no-such-flag']);
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toContain("unknown option '--no-such-flag'");
    const missingArg = await run(['vault', 'get']);
    expect(missingArg.code).toBe(2);
    expect(missingArg.stderr).toContain('missing required argument');
  });

  it('config errors are one line each and exit 2, with no stack trace', async () => {
    const r = await run(['config', 'validate', '/nonexistent.toml']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('a TOML syntax error names file:line:column', async () => {
    const f = path.join(mkdtempSync(path.join(tmpdir(), 'telemy-cfg-')), 'config.toml');
    writeFileSync(f, 'config_version = 3\n[obs]\nhost = 127.0.0.1\n');
    const r = await run(['config', 'validate', f]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^telemy: ${f}:3:\\d+: not valid TOML: \\S.*\n$`));
  });

  it('a misspelled TELEMY_ variable is a warning naming the real one', async () => {
    const r = await run(['config', 'validate'], { TELEMY_OBS_PROT: '4456' });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(
      'telemy: warning: TELEMY_OBS_PROT is not a Telemy setting and is ignored; did you mean TELEMY_OBS_PORT?\n',
    );
  });

  it('an environment value out of range names the variable, not the file', async () => {
    const f = path.join(mkdtempSync(path.join(tmpdir(), 'telemy-cfg-')), 'config.toml');
    writeFileSync(f, 'config_version = 3\n');
    const r = await run(['config', 'validate', f], { TELEMY_OBS_PORT: '70000' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^telemy: TELEMY_OBS_PORT: obs\.port: .*allowed: integer 1\.\.65535; found: "70000"\n$/,
    );
    expect(r.stderr).not.toContain(f);
  });

  it('--config naming a folder says so', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'telemy-cfg-'));
    const r = await run(['--config', dir, 'config', 'show']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `telemy: ${dir}: is a folder, not a config file (named by --config); name the file itself, e.g. ${path.join(dir, 'config.toml')}\n`,
    );
  });

  it('config validate refuses the non-loopback host the engine would refuse at start', async () => {
    const f = path.join(mkdtempSync(path.join(tmpdir(), 'telemy-cfg-')), 'config.toml');
    writeFileSync(f, 'config_version = 3\n[server]\nhost = "0.0.0.0"\n');
    const validate = await run(['config', 'validate', f]);
    expect(validate.code).toBe(2);
    expect(validate.stderr).toContain('server.host: is not a loopback address; set server.lan_access = true');
    const engine = await run(['--config', f, 'engine']);
    expect(engine.code).toBe(2);
    expect(engine.stderr).toBe(validate.stderr);
  });

  it('vault set reads stdin, get prints it, list never prints values', async () => {
    const set = await new Promise<number | null>((resolve) => {
      const p = spawn(process.execPath, [BIN, 'vault', 'set', 'cli_test'], {
        env: { ...process.env, TELEMY_HOME: HOME },
      });
      p.stdin.end('s3cret-from-stdin\n');
      p.on('exit', resolve);
    });
    expect(set).toBe(0);
    expect((await run(['vault', 'get', 'cli_test'])).stdout).toBe('s3cret-from-stdin\n');
    const list = await run(['vault', 'list']);
    expect(list.stdout).toContain('cli_test');
    expect(list.stdout).not.toContain('s3cret');
    const warned = await run(['vault', 'set', 'other', '--value', 'visible']);
    expect(warned.code).toBe(0);
    expect(warned.stderr).toContain('warning: --value');
  });

  it('doctor --timeout needs a number of milliseconds', async () => {
    const r = await run(['doctor', '--timeout', 'abc']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      "option '--timeout <ms>' argument 'abc' is invalid. a timeout is a whole number of milliseconds, 1-600000",
    );
    expect(r.stdout).toBe('');
  });

  it('doctor prints one line per check, names the system tools, and exits 1 when OBS is unreachable', async () => {
    const home = mkdtempSync(path.join(tmpdir(), 'telemy-doctor-'));
    const r = await run(['doctor'], { TELEMY_OBS_PORT: '1', TELEMY_HOME: home });
    expect(r.stdout).toMatch(
      new RegExp(`^ok\\s+vault\\s+${path.join(home, 'vault.json')} not created yet`, 'm'),
    );
    expect(readdirSync(home)).toEqual([]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^FAIL\s+obs\s+ws:\/\/127\.0\.0\.1:1 not reachable/m);
    for (const tool of ['srt-live-transmit', 'setpriv', 'ffmpeg']) {
      expect(r.stdout).toMatch(new RegExp(`^ok\\s+${tool}\\s+present`, 'm'));
    }
    expect(r.stdout).toMatch(/^doctor: \d+ problem\(s\) to fix$/m);
  });
});
