/**
 * Relay stall detection latency (issue 7): a real ffmpeg publisher → relay agent (real
 * srt-live-transmit), kill -9 the publisher, time until `ingest: stalled` arrives on the telemetry
 * WebSocket. Run: node --import tsx scripts/bench/relay.ts [trials]   (writes docs/bench/relay.md)
 */
import { execSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from '@telemy/protocol';
import { startRelayAgent } from '@telemy/relay';
import { freeUdpPort, publish, tapTelemetry, waitFor } from '../../packages/relay/test/srt-peers.js';
import { latencyRow, writeReport } from './lib/report.js';

const TRIALS = Number(process.argv[2] ?? 20);
const STALL_AFTER_MS = 300;
const PAIR = 'BENCHPAIRTOKEN234567';
const WS_TOKEN = 'bench-ws-token-0123456789';

process.env.TELEMY_HOME = fs.mkdtempSync(path.join(os.tmpdir(), 'telemy-bench-relay-'));

interface Series {
  label: string;
  latencyMs: number;
  samples: number[];
}

async function run(latencyMs: number): Promise<Series> {
  const agent = await startRelayAgent(
    {
      sessionId: 'ses_bench',
      instanceId: 'bench',
      pairToken: PAIR,
      relayWsToken: WS_TOKEN,
      egressPassphrase: 'BENCHEGRESSPASS765',
      bindHost: '127.0.0.1',
      ingestPorts: [await freeUdpPort()],
      maxLinks: 1,
      egressPort: await freeUdpPort(),
      telemetryPort: 0,
      stallAfterMs: STALL_AFTER_MS,
      ingestLatencyMs: latencyMs,
    },
    { log: createLogger('relay', { level: 'error' }) },
  );
  const tap = await tapTelemetry(agent.addresses.telemetryPort, WS_TOKEN);
  const samples: number[] = [];
  try {
    for (let i = 0; i < TRIALS; i++) {
      const seen = tap.messages.length;
      // The listener may still be rebinding after the previous trial: publish again until it takes.
      let pub = publish(agent.addresses.ingestPorts[0] as number, PAIR, latencyMs);
      let gone = false;
      pub.exited.then(() => {
        gone = true;
      });
      const deadline = Date.now() + 30_000;
      while (!tap.messages.slice(seen).some((m) => m.type === 'ingest' && m.state === 'resumed')) {
        if (Date.now() > deadline) throw new Error('publisher never got through');
        if (gone) {
          gone = false;
          pub = publish(agent.addresses.ingestPorts[0] as number, PAIR, latencyMs);
          pub.exited.then(() => {
            gone = true;
          });
        }
        await sleep(20);
      }
      await sleep(1_500);
      const killedAt = performance.now();
      pub.kill();
      const stalled = await waitFor(
        () => tap.messages.slice(seen).find((m) => m.type === 'ingest' && m.state === 'stalled'),
        10_000,
        'ingest stalled',
      );
      samples.push(stalled.receivedAt - killedAt);
      await pub.exited;
      // srt-live-transmit serves one caller and only listens again once SRT's 5 s peer-idle timeout
      // has dropped the dead one; restarting the listener lets the next trial connect at once.
      agent.processes.ingest[0]?.kill();
      await waitFor(() => agent.processes.ingest[0]?.pid, 5_000, 'ingest listener restarted');
      await sleep(300);
      process.stdout.write(
        `latency ${latencyMs} ms, trial ${i + 1}: ${(stalled.receivedAt - killedAt).toFixed(1)} ms\n`,
      );
    }
  } finally {
    tap.close();
    await agent.close();
  }
  return { label: `SRT latency ${latencyMs} ms`, latencyMs, samples };
}

const series = [await run(20), await run(120)];
const rows = series.map((s) => `${latencyRow(s.label, s.samples, 0)} ${STALL_AFTER_MS + s.latencyMs} |`);
const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const node = process.version;
const srt = execSync('srt-live-transmit -version 2>&1 | head -1', { encoding: 'utf8' }).trim();
const doc = `# Relay benchmark: publisher kill → \`ingest: stalled\`

Command: \`node --import tsx scripts/bench/relay.ts ${TRIALS}\` — run ${date}, Debian 12, 2 cores / 24 GiB,
Node ${node}, ${srt}; other work (tests of other components) was running on the machine at the time.

Each trial: ffmpeg publishes a 320x180 test pattern over SRT (passphrase = pair token) to the relay
agent's ingest listener (real \`srt-live-transmit\`), flows for 1.5 s, then is killed with SIGKILL; the
figure is the time from the kill to the \`ingest\` message with \`state: "stalled"\` arriving at a
telemetry WebSocket client. \`stall_after_ms\` = ${STALL_AFTER_MS}.

| SRT receive latency | trials | p50 ms | p95 ms | max ms | stall_after_ms + latency |
|---|---|---|---|---|---|
${rows.join('\n')}

Reading: the agent's stall timer is reset by every packet on the loopback hop and fires
\`stall_after_ms\` after the last one, so the stall is pushed the moment it happens (no polling).
The last packets a killed publisher sent are still released by SRT's receive buffer up to the SRT
latency later, so the detection time is about \`stall_after_ms\` + the negotiated SRT latency; with
a 20 ms latency it is within \`stall_after_ms\` + 100 ms. Phones publishing with a larger SRT latency
add that latency one for one (\`--ingest-latency-ms\` sets the relay side; SRT uses the larger of
both sides).

Between trials the bench restarts the ingest listener so the next publisher connects at once:
\`srt-live-transmit\` serves one caller at a time and would accept a new one only after SRT's 5 s
peer-idle timeout; the agent itself gives a silent link a fresh listener after
\`relisten_after_stall_ms\` (1.5 s), which is what a reconnecting phone relies on.
`;
writeReport('docs/bench/relay.md', doc);
process.stdout.write(`\n${doc}`);
