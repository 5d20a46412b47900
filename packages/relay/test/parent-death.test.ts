import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parentDeathLauncher } from '../src/parent-death.js';

describe('parentDeathLauncher', () => {
  it('arms the parent-death signal in the program it runs where util-linux setpriv exists', () => {
    const launcher = parentDeathLauncher();
    expect(launcher.setpriv).toBe('setpriv');
    // `setpriv --dump` as the wrapped program prints the state it inherited across the exec.
    const { command, args } = launcher.wrap('setpriv', ['--dump']);
    const run = spawnSync(command, args, { encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^Parent death signal: KILL$/m);
    expect(spawnSync('setpriv', ['--dump'], { encoding: 'utf8' }).stdout).toMatch(
      /^Parent death signal: \[none\]$/m,
    );
  });

  it('starts children plainly when setpriv is missing', () => {
    const launcher = parentDeathLauncher('/nonexistent/setpriv');
    expect(launcher.setpriv).toBeNull();
    expect(launcher.wrap('srt-live-transmit', ['-a', 'b'])).toEqual({
      command: 'srt-live-transmit',
      args: ['-a', 'b'],
    });
  });
});
