/** Pure math for host metrics: cumulative counters (CPU ticks, interface bytes) → ratios and rates. */

export interface CpuTicks {
  /** Sum of all time categories over all cores (any unit, e.g. ms). */
  total: number;
  idle: number;
}

/** Busy share of CPU time between two readings (0–1); null when nothing elapsed or counters reset. */
export function cpuRatio(prev: CpuTicks | undefined, cur: CpuTicks): number | null {
  if (!prev) return null;
  const dTotal = cur.total - prev.total;
  const dIdle = cur.idle - prev.idle;
  if (!(dTotal > 0) || dIdle < 0 || dIdle > dTotal) return null;
  return (dTotal - dIdle) / dTotal;
}

export interface NetCounters {
  /** Epoch ms of the reading. */
  at: number;
  rxBytes: number;
  txBytes: number;
}

export interface NetRates {
  rxBytesPerSec: number;
  txBytesPerSec: number;
}

/**
 * Bytes per second from two readings of the interfaces' lifetime totals. The first reading has
 * no rate (null, not 0): a fresh reader's "0 B/s" was the previous product's bug.
 */
export function netRates(prev: NetCounters | undefined, cur: NetCounters): NetRates | null {
  if (!prev) return null;
  const elapsedMs = cur.at - prev.at;
  const dRx = cur.rxBytes - prev.rxBytes;
  const dTx = cur.txBytes - prev.txBytes;
  if (!(elapsedMs > 0) || dRx < 0 || dTx < 0) return null;
  return { rxBytesPerSec: (dRx * 1000) / elapsedMs, txBytesPerSec: (dTx * 1000) / elapsedMs };
}

/** Memory in use (total − available) as a share of total; null when the reading is unusable. */
export function memoryRatio(total: number, available: number): number | null {
  if (!(total > 0) || !(available >= 0) || available > total) return null;
  return (total - available) / total;
}

/** GPU utilisation percent (0–100) → ratio; anything not a finite percent means "no GPU data". */
export function gpuRatio(utilizationPercent: unknown): number | null {
  if (typeof utilizationPercent !== 'number' || !Number.isFinite(utilizationPercent)) return null;
  if (utilizationPercent < 0 || utilizationPercent > 100) return null;
  return utilizationPercent / 100;
}

/**
 * Parses `/proc/net/dev` into rx/tx byte totals summed over interfaces, skipping loopback unless
 * asked (host throughput means traffic that leaves the machine). Null when nothing parses.
 */
export function parseProcNetDev(
  text: string,
  includeLoopback = false,
): { rxBytes: number; txBytes: number } | null {
  let rx = 0;
  let tx = 0;
  let parsed = 0;
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    if (!name || name.includes('|')) continue;
    // Receive: bytes packets errs drop fifo frame compressed multicast | Transmit: bytes ...
    const f = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .map(Number);
    const r = f[0];
    const t = f[8];
    if (r === undefined || t === undefined || !Number.isFinite(r) || !Number.isFinite(t)) continue;
    parsed++;
    if (name === 'lo' && !includeLoopback) continue;
    rx += r;
    tx += t;
  }
  return parsed > 0 ? { rxBytes: rx, txBytes: tx } : null;
}
