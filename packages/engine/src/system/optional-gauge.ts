import type { Gauge, Registry } from 'prom-client';

/**
 * Sets an unlabelled gauge, or takes it out of the exposition while its value is unknown:
 * prom-client reports an unlabelled gauge as 0 until set, and a failed probe must not read as 0.
 */
export function setOptionalGauge(registry: Registry, name: string, gauge: Gauge, value: number | null): void {
  const registered = registry.getSingleMetric(name) !== undefined;
  if (value === null || !Number.isFinite(value)) {
    if (registered) registry.removeSingleMetric(name);
    return;
  }
  if (!registered) registry.registerMetric(gauge);
  gauge.set(value);
}
