import { describe, expect, it } from 'vitest';
import { EngineMetrics } from '../../src/metrics/metrics.js';
import { SystemMetrics, type SystemProbes } from '../../src/system/system-metrics.js';

function scripted() {
  const state = {
    t: 0,
    cpu: { total: 0, idle: 0 },
    net: { rxBytes: 1_000_000, txBytes: 2_000_000 } as { rxBytes: number; txBytes: number } | null,
    gpu: null as number | null,
    gpuCalls: 0,
    memFails: false,
  };
  const probes: SystemProbes = {
    cpuTicks: async () => ({ ...state.cpu }),
    memory: async () => {
      if (state.memFails) throw new Error('meminfo unreadable');
      return { total: 1000, available: 250 };
    },
    netBytes: async () => (state.net ? { ...state.net } : null),
    gpuPercent: async () => {
      state.gpuCalls++;
      return state.gpu;
    },
  };
  return { state, probes };
}

async function metricText(m: EngineMetrics, name: string): Promise<string> {
  const text = await m.registry.metrics();
  return text
    .split('\n')
    .filter((l) => l.startsWith(name))
    .join('\n');
}

describe('SystemMetrics', () => {
  it('derives CPU and network rates from deltas; the first sample has none', async () => {
    const { state, probes } = scripted();
    const metrics = new EngineMetrics();
    const sys = new SystemMetrics({ probes, metrics, now: () => state.t });

    const first = await sys.sample();
    expect(first.cpuRatio).toBeNull();
    expect(first.network).toBeNull();
    expect(first.memoryRatio).toBeCloseTo(0.75, 9);
    expect(await metricText(metrics, 'telemy_system_cpu_ratio')).toBe('');

    state.t = 500;
    state.cpu = { total: 2000, idle: 1500 };
    state.net = { rxBytes: 1_250_000, txBytes: 2_050_000 };
    const second = await sys.sample();
    expect(second.cpuRatio).toBeCloseTo(0.25, 9);
    expect(second.network).toEqual({ rxBytesPerSec: 500_000, txBytesPerSec: 100_000 });
    expect(await metricText(metrics, 'telemy_system_cpu_ratio')).toContain('telemy_system_cpu_ratio 0.25');
    const net = await metricText(metrics, 'telemy_system_network_bytes_total');
    expect(net).toContain('telemy_system_network_bytes_total{direction="rx"} 250000');
    expect(net).toContain('telemy_system_network_bytes_total{direction="tx"} 50000');
  });

  it('reports a failed probe as null and removes its gauge instead of exporting 0', async () => {
    const { state, probes } = scripted();
    const metrics = new EngineMetrics();
    const sys = new SystemMetrics({ probes, metrics, now: () => state.t });
    await sys.sample();
    expect(await metricText(metrics, 'telemy_system_memory_ratio')).toContain(
      'telemy_system_memory_ratio 0.75',
    );
    state.memFails = true;
    state.net = null;
    state.t = 500;
    const s = await sys.sample();
    expect(s.memoryRatio).toBeNull();
    expect(s.memoryUsedBytes).toBeNull();
    expect(s.network).toBeNull();
    expect(await metricText(metrics, 'telemy_system_memory_ratio')).toBe('');
  });

  it('without a GPU reports null (absent gauge) and stops probing; with one it caches between probes', async () => {
    const none = scripted();
    const m1 = new EngineMetrics();
    const noGpu = new SystemMetrics({ probes: none.probes, metrics: m1, now: () => none.state.t });
    for (let i = 0; i < 5; i++) {
      none.state.t += 20_000;
      expect((await noGpu.sample()).gpuRatio).toBeNull();
    }
    expect(none.state.gpuCalls).toBe(1);
    expect(await metricText(m1, 'telemy_system_gpu_ratio')).toBe('');

    const some = scripted();
    some.state.gpu = 40;
    const m2 = new EngineMetrics();
    const gpu = new SystemMetrics({
      probes: some.probes,
      metrics: m2,
      now: () => some.state.t,
      gpuIntervalMs: 1000,
    });
    expect((await gpu.sample()).gpuRatio).toBeCloseTo(0.4, 9);
    some.state.gpu = 80;
    some.state.t = 500;
    expect((await gpu.sample()).gpuRatio).toBeCloseTo(0.4, 9);
    some.state.t = 1500;
    expect((await gpu.sample()).gpuRatio).toBeCloseTo(0.8, 9);
    expect(some.state.gpuCalls).toBe(2);
    expect(await metricText(m2, 'telemy_system_gpu_ratio')).toContain('telemy_system_gpu_ratio 0.8');
  });

  it('the real probes read this host', async () => {
    const sys = new SystemMetrics();
    await sys.sample();
    await new Promise((r) => setTimeout(r, 200));
    const s = await sys.sample();
    expect(s.cpuRatio).not.toBeNull();
    expect(s.cpuRatio as number).toBeGreaterThanOrEqual(0);
    expect(s.cpuRatio as number).toBeLessThanOrEqual(1);
    expect(s.memoryRatio as number).toBeGreaterThan(0);
    expect(s.network).not.toBeNull();
  });
});
