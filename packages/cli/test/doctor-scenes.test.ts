import { describe, expect, it } from 'vitest';
import { checkRoleScenes } from '../src/commands/doctor.js';

const roles = {
  live: 'LIVE',
  low: 'LOW',
  brb: 'BRB',
  offline: 'OFFLINE',
  managed_extra: [],
  fallback: ['OFFLINE', 'LOW'] as Array<'OFFLINE' | 'LOW' | 'BRB'>,
};

describe('telemy doctor: role scenes against OBS', () => {
  it('every role scene present is ok', () => {
    const checks = checkRoleScenes(roles, ['LIVE', 'LOW', 'BRB', 'OFFLINE', 'Chatting']);
    expect(checks.map((c) => c.level)).toEqual(['ok', 'ok', 'ok', 'ok']);
  });

  it('a renamed BRB with a fallback scene is a warning naming the stand-in; without one it fails', () => {
    const withStandIn = checkRoleScenes(roles, ['LIVE', 'LOW', 'Be right back', 'OFFLINE']);
    expect(withStandIn.find((c) => c.what === 'scene BRB')).toMatchObject({
      level: 'warn',
      detail: expect.stringMatching(/'BRB' does not exist in OBS; 'OFFLINE' stands in/),
    });
    const alone = checkRoleScenes({ ...roles, fallback: [] }, ['LIVE', 'LOW', 'OFFLINE']);
    expect(alone.find((c) => c.what === 'scene BRB')).toMatchObject({
      level: 'FAIL',
      detail: expect.stringMatching(/automation cannot put BRB on air/),
    });
  });

  it('a missing LIVE or OFFLINE fails, a missing LOW warns, an unset LOW is fine', () => {
    const checks = checkRoleScenes(roles, ['BRB']);
    expect(Object.fromEntries(checks.map((c) => [c.what, c.level]))).toEqual({
      'scene LIVE': 'FAIL',
      'scene LOW': 'warn',
      'scene BRB': 'ok',
      'scene OFFLINE': 'FAIL',
    });
    expect(checkRoleScenes({ ...roles, low: '' }, ['LIVE', 'BRB', 'OFFLINE'])[1]).toMatchObject({
      level: 'ok',
    });
  });
});
