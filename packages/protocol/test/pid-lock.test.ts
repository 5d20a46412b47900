import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  LockHeld,
  lockOwner,
  processAlive,
  processStartTime,
  processState,
  takePidLock,
} from '../src/pid-lock.js';

const lockFile = () => path.join(mkdtempSync(path.join(tmpdir(), 'telemy-pid-lock-')), 'x.lock');

describe('takePidLock', () => {
  it('records pid, start time and note; a second take names the owner and its note', () => {
    const file = lockFile();
    const release = takePidLock(file, 'dashboard http://127.0.0.1:7070/');
    expect(readFileSync(file, 'utf8')).toBe(
      `${process.pid} ${processStartTime(process.pid) ?? '-'}\ndashboard http://127.0.0.1:7070/\n`,
    );
    expect(lockOwner(file)).toEqual({ pid: process.pid, note: 'dashboard http://127.0.0.1:7070/' });
    let held: unknown;
    try {
      takePidLock(file);
    } catch (err) {
      held = err;
    }
    expect(held).toBeInstanceOf(LockHeld);
    expect((held as LockHeld).owner).toEqual({ pid: process.pid, note: 'dashboard http://127.0.0.1:7070/' });
    release();
    expect(lockOwner(file)).toBeNull();
    takePidLock(file)();
  });

  it('a lock of a process that is gone has no owner and is taken over', async () => {
    const file = lockFile();
    const gone = spawn(process.execPath, ['-e', '']);
    await new Promise((r) => gone.once('exit', r));
    writeFileSync(file, `${gone.pid} 1\nold note\n`);
    expect(lockOwner(file)).toBeNull();
    const release = takePidLock(file);
    expect(lockOwner(file)).toEqual({ pid: process.pid, note: null });
    release();
  });

  it('a lock of a zombie (exited, not yet reaped: its parent was killed) is taken over', async () => {
    // The shell's background child exits at once; the shell has become `sleep`, which never reaps it.
    const parent = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 5'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    try {
      const zombie = Number(
        (await new Promise<Buffer>((r) => parent.stdout.once('data', r))).toString().trim(),
      );
      const deadline = Date.now() + 5_000;
      while (processState(zombie) !== 'Z' && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      expect(processState(zombie)).toBe('Z');
      expect(processAlive(zombie)).toBe(false);
      const file = lockFile();
      writeFileSync(
        file,
        `${zombie} ${processStartTime(zombie)}
old note
`,
      );
      expect(lockOwner(file)).toBeNull();
      takePidLock(file)();
    } finally {
      parent.kill('SIGKILL');
    }
  });
});
