import { EventEmitter } from 'node:events';
import { SOURCE_TYPES } from '@telemy/protocol';
import { describe, expect, it } from 'vitest';
import { defaultConfigText } from '../../src/config/template.js';
import type { MetricsHub } from '../../src/obs/metrics-hub.js';
import type { ObsLink } from '../../src/obs/obs-link.js';
import type { FeedSample } from '../../src/sources/feed-sample.js';
import { SOURCE_MODULES } from '../../src/sources/registry.js';
import type { SourceContext } from '../../src/sources/source-module.js';

/** A context whose timers run only when a test calls them. */
function context(
  type: (typeof SOURCE_TYPES)[number],
  samples: FeedSample[],
  polls: Array<() => Promise<void>>,
) {
  const hub = Object.assign(new EventEmitter(), {
    snapshot: () => ({ at: 5, obsConnected: false, statsError: null, stream: null }),
  });
  const ctx: SourceContext = {
    config: {
      name: `src-${type}`,
      type,
      priority: 1,
      enabled: true,
      url: 'http://127.0.0.1:9/stats',
      input: 'Phone',
      stats_file: '/nonexistent',
    },
    intervalMs: 1000,
    now: () => 7,
    ingest: (s) => samples.push(s),
    looked: () => undefined,
    every: (_ms, poll) => {
      polls.push(poll);
      return { start: () => undefined, stop: () => undefined };
    },
    obs: { call: async () => ({ mediaState: 'OBS_MEDIA_STATE_PLAYING' }) } as unknown as ObsLink,
    hub: hub as unknown as MetricsHub,
    cloud: () => null,
    cloudStarting: () => false,
    secret: () => null,
  };
  return { ctx, hub };
}

describe('source type registry', () => {
  it('every type of the shared table has a module that builds a runner', () => {
    for (const type of SOURCE_TYPES) {
      const runner = SOURCE_MODULES[type].runner(context(type, [], []).ctx);
      expect(typeof runner.start, type).toBe('function');
      expect(typeof runner.stop, type).toBe('function');
    }
    expect(Object.keys(SOURCE_MODULES).sort()).toEqual([...SOURCE_TYPES].sort());
  });

  it('the config template names every type', () => {
    const line = defaultConfigText()
      .split('\n')
      .find((l) => l.startsWith('# type = '));
    for (const type of SOURCE_TYPES) expect(line).toContain(type);
  });

  it('a module hands its samples to the context under the configured source name', async () => {
    const samples: FeedSample[] = [];
    const polls: Array<() => Promise<void>> = [];
    SOURCE_MODULES.obs_media_source.runner(context('obs_media_source', samples, polls).ctx);
    await polls[0]?.();
    expect(samples).toEqual([expect.objectContaining({ source: 'src-obs_media_source', connected: true })]);

    const { ctx, hub } = context('obs_output', samples, polls);
    const runner = SOURCE_MODULES.obs_output.runner(ctx);
    runner.start();
    hub.emit('sample');
    runner.stop();
    hub.emit('sample');
    expect(samples.slice(1)).toEqual([
      expect.objectContaining({ source: 'src-obs_output', reason: 'OBS not connected' }),
    ]);
  });
});
