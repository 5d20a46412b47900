import { readFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import type { Logger } from '@telemy/protocol';
import si from 'systeminformation';
import type { EngineMetrics } from '../metrics/metrics.js';
import { setOptionalGauge } from './optional-gauge.js';
import {
  type CpuTicks,
  cpuRatio,
  gpuRatio,
  memoryRatio,
  type NetCounters,
  type NetRates,
  netRates,
  parseProcNetDev,
} from './system-rates.js';

/** Host load at one instant. Every field is null when its probe failed or has no rate yet. */
export interface SystemSample {
  at: number;
  cpuRatio: number | null;
  memoryRatio: number | null;
  memoryUsedBytes: number | null;
  memoryTotalBytes: number | null;
  network: NetRates | null;
  gpuRatio: number | null;
}

/** Raw readings; each returns null when it cannot read. Injected in tests. */
export interface SystemProbes {
  cpuTicks(): Promise<CpuTicks | null>;
  memory(): Promise<{ total: number; available: number } | null>;
  netBytes(): Promise<{ rxBytes: number; txBytes: number } | null>;
  /** GPU utilisation percent of the busiest controller, or null without a GPU that reports it. */
  gpuPercent(): Promise<number | null>;
}

export function defaultSystemProbes(opts: { includeLoopback?: boolean } = {}): SystemProbes {
  return {
    async cpuTicks() {
      const list = cpus();
      if (list.length === 0) return null;
      let total = 0;
      let idle = 0;
      for (const c of list) {
        total += c.times.user + c.times.nice + c.times.sys + c.times.idle + c.times.irq;
        idle += c.times.idle;
      }
      return { total, idle };
    },
    async memory() {
      const m = await si.mem();
      return m.total > 0 ? { total: m.total, available: m.available } : null;
    },
    async netBytes() {
      // On Linux, systeminformation's networkStats() spawns a shell per interface per call; at two
      // samples a second that alone would break the engine's CPU budget. /proc/net/dev has the same
      // lifetime totals in one cheap read.
      if (process.platform === 'linux') {
        return parseProcNetDev(await readFile('/proc/net/dev', 'utf8'), opts.includeLoopback);
      }
      const stats = await si.networkStats('*');
      if (stats.length === 0) return null;
      return {
        rxBytes: stats.reduce((a, s) => a + (s.rx_bytes || 0), 0),
        txBytes: stats.reduce((a, s) => a + (s.tx_bytes || 0), 0),
      };
    },
    async gpuPercent() {
      const g = await si.graphics();
      const values = g.controllers
        .map((c) => c.utilizationGpu)
        .filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
      return values.length > 0 ? Math.max(...values) : null;
    },
  };
}

export interface SystemMetricsOptions {
  metrics?: EngineMetrics;
  probes?: SystemProbes;
  now?: () => number;
  logger?: Logger;
  /** GPU probing is expensive (it runs external tools); poll it at most this often. Default 10 s. */
  gpuIntervalMs?: number;
}

/**
 * Samples host CPU, memory, network throughput and GPU from counter deltas and mirrors them into
 * the engine metrics. A probe that fails reports null (and removes its gauge), never 0.
 */
export class SystemMetrics {
  private readonly probes: SystemProbes;
  private readonly now: () => number;
  private readonly gpuIntervalMs: number;
  private prevCpu: CpuTicks | undefined;
  private prevNet: NetCounters | undefined;
  private gpu: { at: number; ratio: number | null; available: boolean } | null = null;
  private readonly failed = new Set<string>();

  constructor(private readonly options: SystemMetricsOptions = {}) {
    this.probes = options.probes ?? defaultSystemProbes();
    this.now = options.now ?? Date.now;
    this.gpuIntervalMs = options.gpuIntervalMs ?? 10_000;
    const m = options.metrics;
    if (m) {
      setOptionalGauge(m.registry, 'telemy_system_cpu_ratio', m.systemCpuRatio, null);
      setOptionalGauge(m.registry, 'telemy_system_memory_ratio', m.systemMemoryRatio, null);
      setOptionalGauge(m.registry, 'telemy_system_gpu_ratio', m.systemGpuRatio, null);
    }
  }

  async sample(): Promise<SystemSample> {
    const [cpu, mem, net, gpu] = await Promise.all([
      this.probe('cpu', () => this.probes.cpuTicks()),
      this.probe('memory', () => this.probes.memory()),
      this.probe('network', () => this.probes.netBytes()),
      this.sampleGpu(),
    ]);
    const at = this.now();

    let cpuValue: number | null = null;
    if (cpu) {
      cpuValue = cpuRatio(this.prevCpu, cpu);
      this.prevCpu = cpu;
    }

    let network: NetRates | null = null;
    let netDelta: { rx: number; tx: number } | null = null;
    if (net) {
      const cur: NetCounters = { at, ...net };
      network = netRates(this.prevNet, cur);
      if (network && this.prevNet) {
        netDelta = { rx: cur.rxBytes - this.prevNet.rxBytes, tx: cur.txBytes - this.prevNet.txBytes };
      }
      this.prevNet = cur;
    }

    const memValue = mem ? memoryRatio(mem.total, mem.available) : null;
    const sample: SystemSample = {
      at,
      cpuRatio: cpuValue,
      memoryRatio: memValue,
      memoryUsedBytes: mem && memValue !== null ? mem.total - mem.available : null,
      memoryTotalBytes: mem && memValue !== null ? mem.total : null,
      network,
      gpuRatio: gpu,
    };
    this.export(sample, netDelta);
    return sample;
  }

  private export(s: SystemSample, netDelta: { rx: number; tx: number } | null): void {
    const m = this.options.metrics;
    if (!m) return;
    setOptionalGauge(m.registry, 'telemy_system_cpu_ratio', m.systemCpuRatio, s.cpuRatio);
    setOptionalGauge(m.registry, 'telemy_system_memory_ratio', m.systemMemoryRatio, s.memoryRatio);
    setOptionalGauge(m.registry, 'telemy_system_gpu_ratio', m.systemGpuRatio, s.gpuRatio);
    if (netDelta) {
      m.systemNetworkBytesTotal.inc({ direction: 'rx' }, netDelta.rx);
      m.systemNetworkBytesTotal.inc({ direction: 'tx' }, netDelta.tx);
    }
  }

  /** GPU data is cached between probes; once a probe finds no GPU, it is not probed again. */
  private async sampleGpu(): Promise<number | null> {
    const t = this.now();
    if (this.gpu && (!this.gpu.available || t - this.gpu.at < this.gpuIntervalMs)) return this.gpu.ratio;
    const percent = await this.probe('gpu', () => this.probes.gpuPercent());
    const ratio = gpuRatio(percent);
    this.gpu = { at: t, ratio, available: ratio !== null };
    return ratio;
  }

  private async probe<T>(name: string, read: () => Promise<T | null>): Promise<T | null> {
    try {
      const v = await read();
      this.failed.delete(name);
      return v;
    } catch (err) {
      if (!this.failed.has(name)) {
        this.failed.add(name);
        this.options.logger?.warn({ probe: name, err }, 'host metric probe failed; reporting it as unknown');
      }
      return null;
    }
  }
}
