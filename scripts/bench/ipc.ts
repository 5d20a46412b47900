/**
 * IPC v1 benchmark: `switch_scene` delivery latency from the engine's send to the shim's receive over
 * the real Unix socket, idle and under a 10,000 messages/s low+normal flood.
 *
 *   node --import tsx scripts/bench/ipc.ts [samples]
 *
 * The engine (IpcServer) runs in this process; the shim side (ShimIpcClient) runs in a child process,
 * as in production. Both stamp times with `performance.timeOrigin + performance.now()` (same machine
 * clock, sub-millisecond). Each switch is sent after the previous one was acknowledged.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { EngineMetrics, IpcServer } from '@telemy/engine';
import { createLogger, makeMessage, type StatusSnapshotPayload } from '@telemy/protocol';
import { ShimIpcClient } from '@telemy/shim';
import { percentileAtIndex } from './lib/report.js';

const wallNow = () => performance.timeOrigin + performance.now();
const silent = createLogger('bench-ipc', { level: 'silent' });

if (process.argv[2] === '--receiver') {
  await runReceiver(process.argv[3]!, process.argv[4]!);
} else {
  await runBench(Number(process.argv[2] ?? 10_000));
}

/** Shim side: records when each switch_scene arrives, acknowledges it, and reports on request. */
async function runReceiver(dir: string, reportFile: string): Promise<void> {
  const client = new ShimIpcClient({ dir, logger: silent, pluginVersion: 'bench' });
  const received = new Map<string, number>();
  let flood = 0;
  client.on('message', (m) => {
    if (m.type === 'switch_scene') {
      received.set(m.payload.request_id, wallNow());
      client.send(
        makeMessage('scene_switch_result', { request_id: m.payload.request_id, ok: true, error: null }),
      );
    } else if (m.type === 'user_notice' || m.type === 'status_snapshot') {
      flood += 1;
    } else if (m.type === 'shutdown_request') {
      writeFileSync(reportFile, JSON.stringify({ received: [...received], flood }));
      client.stop();
      process.exit(0);
    }
  });
  client.start();
}

function snapshot(n: number): StatusSnapshotPayload {
  return {
    mode: 'irl',
    engine_state: 'IRL_ACTIVE',
    health: 'good',
    bitrate_kbps: n % 8000,
    rtt_ms: 42,
    override_enabled: false,
    flags: {
      auto_scene_switch: true,
      low_quality_fallback: true,
      manual_override: false,
      chat_bot: true,
      alerts: true,
    },
    thresholds: { low_bitrate_kbps: 1500, offline_bitrate_kbps: 300 },
    relay: {
      status: 'active',
      region: 'eu-central-1',
      grace_remaining_seconds: null,
      uptime_seconds: n,
      time_bank_seconds_remaining: 36_000,
    },
    scene: { active: 'Live', pending_request_id: null, pending_scene: null },
    outputs: [
      {
        id: 'adv_stream',
        name: 'Horizontal',
        active: true,
        bitrate_kbps: 6000,
        fps: 60,
        drop_ratio: 0,
        encoding_lag_ms: 2,
        status: 'healthy',
      },
    ],
  };
}

interface Phase {
  name: string;
  sentAt: Map<string, number>;
  floodSent: number;
  seconds: number;
}

async function runBench(samples: number): Promise<void> {
  const base = mkdtempSync(path.join(tmpdir(), 'telemy-bench-ipc-'));
  const dir = path.join(base, 'run');
  const reportFile = path.join(base, 'received.json');
  const metrics = new EngineMetrics();
  const server = new IpcServer({
    dir,
    logger: silent,
    metrics,
    coreVersion: 'bench',
    getStatusSnapshot: () => snapshot(0),
  });
  await server.start();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', import.meta.filename, '--receiver', dir, reportFile],
    {
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  const report = new Promise<{ received: Array<[string, number]>; flood: number }>((resolve) => {
    child.once('exit', () => resolve(JSON.parse(readFileSync(reportFile, 'utf8'))));
  });
  await new Promise<void>((resolve) => server.once('ready', () => resolve()));

  const runPhase = async (name: string, floodPerSecond: number): Promise<Phase> => {
    const phase: Phase = { name, sentAt: new Map(), floodSent: 0, seconds: 0 };
    const started = performance.now();
    let floodTimer: NodeJS.Timeout | null = null;
    if (floodPerSecond > 0) {
      // Keep the flood at the target rate whatever the timer resolution: top up to rate × elapsed.
      floodTimer = setInterval(() => {
        const due = Math.floor(((performance.now() - started) / 1000) * floodPerSecond);
        for (; phase.floodSent < due; phase.floodSent++) {
          const n = phase.floodSent;
          server.send(
            n % 2
              ? makeMessage('user_notice', { level: 'info', message: `flood ${n}` }, 'low')
              : makeMessage('status_snapshot', snapshot(n)),
          );
        }
      }, 1);
    }
    for (let i = 0; i < samples; i++) {
      const id = `${name}-${i}`;
      phase.sentAt.set(id, wallNow());
      const r = await server.switchScene({
        requestId: id,
        scene: 'BRB',
        reason: 'auto_failover',
        deadlineMs: 550,
      });
      if (!r.ok) throw new Error(`switch ${id} failed: ${r.error?.message}`);
      // A short gap so switches land at varied points of the flood's write cycle.
      await new Promise((r) => setTimeout(r, i % 4 === 0 ? 1 : 0));
    }
    if (floodTimer) clearInterval(floodTimer);
    phase.seconds = (performance.now() - started) / 1000;
    return phase;
  };

  const idle = await runPhase('idle', 0);
  const flood = await runPhase('flood', 10_000);
  server.requestShutdown('manual_exit');
  const { received, flood: floodReceived } = await report;
  const recvAt = new Map(received);
  await server.stop();

  const dropped = await metrics.registry.getSingleMetric('telemy_ipc_queue_dropped_total')?.get();
  const drops = Object.fromEntries((dropped?.values ?? []).map((v) => [v.labels.lane, v.value]));
  const rows = [idle, flood].map((p) => {
    const lat = [...p.sentAt].map(([id, t]) => {
      const r = recvAt.get(id);
      if (r === undefined) throw new Error(`${id} never arrived`);
      return r - t;
    });
    return {
      phase: p.name,
      samples: lat.length,
      floodRate: p.floodSent / p.seconds,
      p50: percentileAtIndex(lat, 50),
      p99: percentileAtIndex(lat, 99),
      max: Math.max(...lat),
    };
  });
  const ms = (x: number) => x.toFixed(3);
  console.log('| phase | samples | flood msg/s (sent) | p50 ms | p99 ms | max ms |');
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(
      `| ${r.phase} | ${r.samples} | ${Math.round(r.floodRate)} | ${ms(r.p50)} | ${ms(r.p99)} | ${ms(r.max)} |`,
    );
  }
  console.log(
    `\nflood messages sent ${flood.floodSent}, received by the shim ${floodReceived} (includes the engine's 1 Hz periodic snapshots); ` +
      `dropped by lane: critical ${drops.critical ?? 0}, high ${drops.high ?? 0}, normal ${drops.normal ?? 0}, low ${drops.low ?? 0}; ` +
      `switch_scene delivered ${recvAt.size}/${2 * samples}`,
  );
  process.exit(0);
}
