import { describe, expect, it } from 'vitest';
import { defaultLogFormat, prettyLogLine } from '../src/log-format.js';

describe('console log format', () => {
  it('is pretty on a terminal and JSON otherwise', () => {
    expect(defaultLogFormat({ isTTY: true })).toBe('pretty');
    expect(defaultLogFormat({ isTTY: false })).toBe('json');
    expect(defaultLogFormat({})).toBe('json');
  });

  it('shows time, level, component, message and the other fields of a pino line', () => {
    const time = new Date(2026, 0, 2, 3, 4, 5, 67).getTime();
    const line = JSON.stringify({
      level: 40,
      time,
      pid: 123,
      name: 'engine',
      component: 'obs',
      url: 'ws://127.0.0.1:4455',
      attempt: 3,
      reason: 'connection refused',
      err: { type: 'ObsNotConnectedError', message: 'OBS is not connected', stack: 'at /src/obs-link.ts:1' },
      msg: 'OBS is not reachable',
    });
    expect(prettyLogLine(line)).toBe(
      '03:04:05.067 WARN  engine/obs OBS is not reachable url=ws://127.0.0.1:4455 attempt=3 reason="connection refused" err="ObsNotConnectedError: OBS is not connected"\n',
    );
  });

  it('passes through a line that is not a pino object', () => {
    expect(prettyLogLine('plain text')).toBe('plain text\n');
  });
});
