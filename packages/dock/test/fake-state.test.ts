import { dockStateSchema } from '@telemy/protocol';
import { describe, expect, it } from 'vitest';
import { fakeDockState } from './support/fake-state.js';

describe('fakeDockState', () => {
  it('is a valid DockState, so the dock is tested against what the engine may send', () => {
    const r = dockStateSchema.safeParse(fakeDockState());
    expect(r.success ? [] : r.error.issues).toEqual([]);
  });
});
