import { type Attributes, type HrTime, ValueType } from '@opentelemetry/api';
import {
  AggregationTemporality,
  type DataPoint,
  DataPointType,
  type Histogram,
  type MetricData,
} from '@opentelemetry/sdk-metrics';

/** One entry of prom-client's `registry.getMetricsAsJSON()` as it is at run time. */
export interface PromMetric {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary';
  values: PromSample[];
}

export interface PromSample {
  value: number;
  labels: Record<string, string | number | undefined>;
  /** Set on histogram samples: `<name>_bucket`, `<name>_sum` or `<name>_count`. */
  metricName?: string;
}

export function hrTime(ms: number): HrTime {
  const whole = Math.floor(ms / 1000);
  return [whole, Math.round((ms - whole * 1000) * 1e6)];
}

function attributes(labels: Record<string, string | number | undefined>, skip?: string): Attributes {
  const out: Attributes = {};
  for (const [k, v] of Object.entries(labels)) if (k !== skip && v !== undefined) out[k] = String(v);
  return out;
}

function descriptor(m: PromMetric) {
  // Names stay exactly as on /metrics (no unit), so the shipped dashboards and alert rules work
  // unchanged against a Prometheus-compatible OTLP backend such as Grafana Cloud.
  return { name: m.name, description: m.help, unit: '', valueType: ValueType.DOUBLE };
}

function histogramPoints(m: PromMetric, start: HrTime, end: HrTime): DataPoint<Histogram>[] {
  interface Acc {
    attrs: Attributes;
    buckets: { le: number; cumulative: number }[];
    sum: number;
    count: number;
  }
  const groups = new Map<string, Acc>();
  const group = (s: PromSample): Acc => {
    const attrs = attributes(s.labels, 'le');
    const key = JSON.stringify(Object.entries(attrs).sort(([a], [b]) => a.localeCompare(b)));
    let g = groups.get(key);
    if (!g) {
      g = { attrs, buckets: [], sum: 0, count: 0 };
      groups.set(key, g);
    }
    return g;
  };
  for (const s of m.values) {
    const g = group(s);
    if (s.metricName === `${m.name}_bucket`) {
      const le = s.labels.le;
      if (le !== '+Inf') g.buckets.push({ le: Number(le), cumulative: s.value });
    } else if (s.metricName === `${m.name}_sum`) g.sum = s.value;
    else if (s.metricName === `${m.name}_count`) g.count = s.value;
  }
  return [...groups.values()].map((g) => {
    const sorted = g.buckets.sort((a, b) => a.le - b.le);
    // Prometheus buckets are cumulative; OTLP explicit buckets count each interval, the last one open.
    let below = 0;
    const counts = sorted.map((b) => {
      const inBucket = b.cumulative - below;
      below = b.cumulative;
      return inBucket;
    });
    counts.push(g.count - (sorted.at(-1)?.cumulative ?? 0));
    return {
      startTime: start,
      endTime: end,
      attributes: g.attrs,
      value: { buckets: { boundaries: sorted.map((b) => b.le), counts }, sum: g.sum, count: g.count },
    };
  });
}

/**
 * Converts a prom-client registry snapshot (`registry.getMetricsAsJSON()`) into OTLP metric data:
 * counters become cumulative monotonic sums, gauges stay gauges, histograms become explicit-bucket
 * histograms with the same boundaries. `startMs` is the start of the cumulative series.
 */
export function promToOtlp(metrics: PromMetric[], startMs: number, nowMs: number): MetricData[] {
  const start = hrTime(startMs);
  const end = hrTime(nowMs);
  const out: MetricData[] = [];
  for (const m of metrics) {
    // Summaries: the engine registers none, and OTLP has no explicit equivalent worth inventing.
    if (m.values.length === 0 || m.type === 'summary') continue;
    const samples = m.values;
    if (m.type === 'histogram') {
      out.push({
        descriptor: descriptor(m),
        aggregationTemporality: AggregationTemporality.CUMULATIVE,
        dataPointType: DataPointType.HISTOGRAM,
        dataPoints: histogramPoints(m, start, end),
      });
    } else if (m.type === 'counter') {
      out.push({
        descriptor: descriptor(m),
        aggregationTemporality: AggregationTemporality.CUMULATIVE,
        dataPointType: DataPointType.SUM,
        isMonotonic: true,
        dataPoints: samples.map((s) => ({
          startTime: start,
          endTime: end,
          attributes: attributes(s.labels),
          value: s.value,
        })),
      });
    } else {
      out.push({
        descriptor: descriptor(m),
        aggregationTemporality: AggregationTemporality.CUMULATIVE,
        dataPointType: DataPointType.GAUGE,
        dataPoints: samples.map((s) => ({
          startTime: end,
          endTime: end,
          attributes: attributes(s.labels),
          value: s.value,
        })),
      });
    }
  }
  return out;
}
