import type { SwitchError } from '@telemy/protocol';
import { describe, expect, it } from 'vitest';
import { SwitchExecutor } from '../src/switch-executor.js';

function deferred() {
  let resolve!: (v: SwitchError | null) => void;
  const promise = new Promise<SwitchError | null>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('SwitchExecutor', () => {
  it('executes strictly in arrival order, one at a time, and answers each', async () => {
    const t = 0;
    const started: string[] = [];
    const gates = new Map<string, ReturnType<typeof deferred>>();
    const replies: Array<[string, boolean, string | null | undefined]> = [];
    const ex = new SwitchExecutor(
      (scene) => {
        started.push(scene);
        const d = deferred();
        gates.set(scene, d);
        return d.promise;
      },
      (r) => replies.push([r.request_id, r.ok, r.error_code]),
      () => t,
    );
    ex.enqueue({ request_id: 'a', scene_name: 'BRB', reason: 'auto_failover', deadline_ms: 550 });
    ex.enqueue({ request_id: 'b', scene_name: 'Live', reason: 'auto_recover', deadline_ms: 550 });
    ex.enqueue({ request_id: 'c', scene_name: 'Low', reason: 'manual', deadline_ms: 550 });
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual(['BRB']);
    gates.get('BRB')!.resolve(null);
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual(['BRB', 'Live']);
    gates.get('Live')!.resolve({ code: 'scene_missing', message: 'OBS has no scene named "Live"' });
    await new Promise((r) => setImmediate(r));
    gates.get('Low')!.resolve(null);
    await ex.idle();
    expect(started).toEqual(['BRB', 'Live', 'Low']);
    expect(replies).toEqual([
      ['a', true, null],
      ['b', false, 'scene_missing'],
      ['c', true, null],
    ]);
  });

  it('answers deadline_exceeded without touching OBS when a request expired while waiting', async () => {
    let t = 0;
    const executed: string[] = [];
    const replies: Array<{ id: string; code: string | null | undefined }> = [];
    const gate = deferred();
    const ex = new SwitchExecutor(
      async (scene) => {
        executed.push(scene);
        return scene === 'Slow' ? gate.promise : null;
      },
      (r) => replies.push({ id: r.request_id, code: r.error_code }),
      () => t,
    );
    ex.enqueue({ request_id: 'slow', scene_name: 'Slow', reason: 'manual', deadline_ms: 550 });
    ex.enqueue({ request_id: 'stale', scene_name: 'BRB', reason: 'auto_failover', deadline_ms: 100 });
    await new Promise((r) => setImmediate(r));
    t = 200;
    gate.resolve(null);
    await ex.idle();
    expect(executed).toEqual(['Slow']);
    expect(replies).toEqual([
      { id: 'slow', code: null },
      { id: 'stale', code: 'deadline_exceeded' },
    ]);
  });
});
