/**
 * Control plane figures (issue 4): GET /relay/active and GET /usage/current against PostgreSQL,
 * next to a bare fastify route returning the same JSON, at each concurrency level (one user, then
 * 100 users whose requests interleave), and the time for 100 concurrent starts of one user to settle.
 * Run: node --import tsx scripts/bench/control-plane.ts [--duration 10] [--connections 10,100]
 * Writes docs/bench/control-plane.md.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  createApiKey,
  createControlPlane,
  createPgDb,
  createUser,
  type Db,
  FakeRelayProvider,
  hs256Config,
  migrate,
  seedManifest,
  signAccessToken,
} from '@telemy/control-plane';
import { createLogger } from '@telemy/protocol';
import autocannon from 'autocannon';
import Fastify from 'fastify';
import { startPostgres } from '../../test/support/postgres.js';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const DURATION = Number(arg('--duration') ?? 10);
const LEVELS = (arg('--connections') ?? '10,100').split(',').map(Number);
const MANY_USERS = 100;
const NOTES_MARKER = '<!-- notes: kept across runs -->';

interface Figure {
  name: string;
  rps: number;
  p99: number;
  p50: number;
  errors: number;
  non2xx: number;
  /** Requests per database statement of each kind (control plane rows only). */
  perStatement?: string;
}

/**
 * `tokens`: one Authorization value per request, taken in turn (many users interleaved); the bare
 * route gets the same rotation so that both sides pay the same client cost.
 */
async function cannon(
  name: string,
  url: string,
  headers: Record<string, string>,
  connections: number,
  tokens?: string[],
): Promise<Figure> {
  let next = 0;
  const r = await autocannon({
    url,
    headers,
    connections,
    duration: DURATION,
    ...(tokens
      ? {
          requests: [
            {
              setupRequest: (req: autocannon.Request) => ({
                ...req,
                headers: { ...req.headers, authorization: tokens[next++ % tokens.length]! },
              }),
            },
          ],
        }
      : {}),
  });
  return {
    name,
    rps: Math.round(r.requests.average),
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors,
    non2xx: r.non2xx,
  };
}

/** Counts the statements the hot path sends, to show how many requests each one served. */
function countingStatements(db: Db) {
  const counts = { auth: 0, active: 0, usage: 0 };
  const wrapped: Db = {
    ...db,
    query: <R>(sql: string, params?: unknown[]) => {
      if (sql.includes('INSERT INTO rate_limit_counters')) counts.auth++;
      else if (sql.includes('s.user_id = ANY')) counts.active++;
      else if (sql.includes('WITH ORDINALITY')) counts.usage++;
      return db.query<R>(sql, params);
    },
  };
  return { db: wrapped, counts };
}

const HEALTH_LINKS = [
  {
    link_id: 'l1',
    label: 'phone',
    source_ip: '203.0.113.5',
    protocol: 'srt',
    status: 'active',
    bitrate_kbps: 4500,
    rtt_ms: 35,
    packet_loss_pct: 0.2,
    jitter_ms: 4,
    connected_at: new Date().toISOString(),
  },
];

const pg = await startPostgres();
const db = createPgDb(pg.url, { max: 20 });
try {
  await migrate(db);
  const provider = new FakeRelayProvider();
  await seedManifest(db, provider.defaultManifest, new Date());
  const jwt = hs256Config('bench-secret-0123456789abcdef0123456789');
  const big = 1_000_000_000;
  const counted = countingStatements(db);
  const app = await createControlPlane({
    db: counted.db,
    provider,
    jwt,
    limits: { start: big, stop: big, active: big, usage: big, authToken: big },
    logger: createLogger('bench', { level: 'silent' }),
  });
  const cpUrl = await app.listen({ port: 0, host: '127.0.0.1' });
  const clientHeaders = { 'x-aegis-client-version': '0.0.3', 'x-aegis-client-platform': 'linux' };

  /** A user with an active relay session (started, provisioned, first health report received). */
  const streamer = async (email: string): Promise<string> => {
    const user = await createUser(db, { email }, new Date());
    await createApiKey(db, user.id, new Date());
    const authorization = `Bearer ${(await signAccessToken(jwt, user.id, Date.now(), 3600)).token}`;
    const start = await fetch(`${cpUrl}/api/v1/relay/start`, {
      method: 'POST',
      headers: {
        ...clientHeaders,
        authorization,
        'content-type': 'application/json',
        'idempotency-key': crypto.randomUUID(),
      },
      body: JSON.stringify({
        region_preference: 'auto',
        client_context: { obs_connected: true, mode: 'irl', requested_by: 'cli' },
      }),
    });
    const session = (await start.json()) as { session_id: string };
    await app.cp.ctx.tasks.drain();
    const agent = provider.agentFor(session.session_id)!;
    const health = await fetch(`${cpUrl}/api/v1/relay/health`, {
      method: 'POST',
      headers: { authorization: `Relay ${agent.relay_credential}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        session_id: session.session_id,
        instance_id: provider.instanceFor(session.session_id),
        ingest_active: true,
        egress_active: true,
        session_uptime_seconds: 5,
        observed_at: new Date().toISOString(),
        links: HEALTH_LINKS,
        bonded: { total_bitrate_kbps: 4500, active_link_count: 1, health: 'healthy' },
      }),
    });
    if (health.status !== 204) throw new Error(`health report answered ${health.status}`);
    return authorization;
  };

  const soloToken = await streamer('bench@example.test');
  const manyTokens: string[] = [];
  for (let i = 0; i < MANY_USERS; i++) manyTokens.push(await streamer(`bench-${i}@example.test`));
  const headers = { ...clientHeaders, authorization: soloToken };
  const activeJson = await (await fetch(`${cpUrl}/api/v1/relay/active`, { headers })).json();
  const usageJson = await (await fetch(`${cpUrl}/api/v1/usage/current`, { headers })).json();

  const bare = Fastify();
  bare.get('/active', async () => activeJson);
  bare.get('/usage', async () => usageJson);
  const bareUrl = await bare.listen({ port: 0, host: '127.0.0.1' });

  /** The control plane route, with the requests each of its statements served during the run. */
  const measured = async (name: string, route: string, connections: number, tokens?: string[]) => {
    const before = { ...counted.counts };
    const f = await cannon(name, `${cpUrl}${route}`, headers, connections, tokens);
    const total = f.rps * DURATION;
    const per = (k: keyof typeof before) => {
      const n = counted.counts[k] - before[k];
      return n > 0 ? (total / n).toFixed(1) : '-';
    };
    f.perStatement = `${per('auth')} / ${per(route.endsWith('active') ? 'active' : 'usage')}`;
    return f;
  };

  interface Run {
    title: string;
    figures: Figure[];
  }
  const runs: Run[] = [];
  for (const c of LEVELS) {
    runs.push({
      title: `${c} connections, one user`,
      figures: [
        await cannon('bare fastify, same JSON as /relay/active', `${bareUrl}/active`, {}, c),
        await measured('GET /api/v1/relay/active', '/api/v1/relay/active', c),
        await cannon('bare fastify, same JSON as /usage/current', `${bareUrl}/usage`, {}, c),
        await measured('GET /api/v1/usage/current', '/api/v1/usage/current', c),
      ],
    });
  }
  const manyLevel = Math.max(...LEVELS);
  runs.push({
    title: `${manyLevel} connections, requests of ${MANY_USERS} users interleaved (each has a live session)`,
    figures: [
      await cannon(
        'bare fastify, same JSON as /relay/active',
        `${bareUrl}/active`,
        {},
        manyLevel,
        manyTokens,
      ),
      await measured('GET /api/v1/relay/active', '/api/v1/relay/active', manyLevel, manyTokens),
      await cannon(
        'bare fastify, same JSON as /usage/current',
        `${bareUrl}/usage`,
        {},
        manyLevel,
        manyTokens,
      ),
      await measured('GET /api/v1/usage/current', '/api/v1/usage/current', manyLevel, manyTokens),
    ],
  });

  // 100 concurrent starts of a fresh user, distinct keys: time until every caller has its answer and
  // the one relay launch has finished.
  const racer = await createUser(db, { email: 'racer@example.test' }, new Date());
  const racerToken = (await signAccessToken(jwt, racer.id, Date.now(), 3600)).token;
  const t0 = performance.now();
  const answers = await Promise.all(
    Array.from({ length: 100 }, () =>
      fetch(`${cpUrl}/api/v1/relay/start`, {
        method: 'POST',
        headers: {
          ...clientHeaders,
          authorization: `Bearer ${racerToken}`,
          'content-type': 'application/json',
          'idempotency-key': crypto.randomUUID(),
        },
        body: JSON.stringify({
          region_preference: 'auto',
          client_context: { obs_connected: true, mode: 'irl', requested_by: 'cli' },
        }),
      }).then(async (r) => ({
        status: r.status,
        id: ((await r.json()) as { session_id: string }).session_id,
      })),
    ),
  );
  await app.cp.ctx.tasks.drain();
  const settleMs = performance.now() - t0;
  const ids = new Set(answers.map((a) => a.id));
  const fiveXx = answers.filter((a) => a.status >= 500).length;

  await bare.close();
  await app.close();

  const date = new Date().toISOString();
  const load = os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' / ');
  const pgVersion = execFileSync('/usr/lib/postgresql/15/bin/postgres', ['--version']).toString().trim();
  const ratio = (r: Run, i: number) => r.figures[i]!.rps / r.figures[i - 1]!.rps;
  const section = (r: Run) => `### ${r.title}

| route | req/s | p50 ms | p99 ms | errors + non-2xx | requests per statement (auth / read) |
|---|---|---|---|---|---|
${r.figures
  .map(
    (f) =>
      `| ${f.name} | ${f.rps} | ${f.p50} | ${f.p99} | ${f.errors + f.non2xx} | ${f.perStatement ?? ''} |`,
  )
  .join('\n')}

Ratio to the bare route (target ≥ 0.5): GET /relay/active **${ratio(r, 1).toFixed(2)}**, GET /usage/current **${ratio(r, 3).toFixed(2)}**.
`;
  const md = `# Control plane benchmark

Command: \`flock /tmp/telemy-bench.lock node --import tsx scripts/bench/control-plane.ts --duration ${DURATION} --connections ${LEVELS.join(',')}\`

- Date: ${date}
- Machine: ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}, Node ${process.version}
- Store: ${pgVersion}, throwaway server on loopback (fsync off), \`pg\` pool of 20
- Load: autocannon, ${DURATION} s per row, in the same process as the servers; rate limits set out of reach
- Other work was running on the machine at the time (load average 1/5/15 min at the end: ${load}),
  so absolute numbers are noisy; the ratios compare rows taken one after the other.

Every control plane request does the full path: header checks, the access JWT (HS256; a token
already verified is not verified again, its \`exp\`/\`nbf\` are still checked), the user lookup fused
with the exact rate-limit count (one statement per batch of waiting requests), and the route's own
read (the live session joined with its relay instance and latest health report; the Time Bank sum),
batched the same way. "Requests per statement" is how many requests each statement served.

${runs.map(section).join('\n')}
100 concurrent \`POST /relay/start\` of one user with distinct Idempotency-Keys: settled (every answer
received and the single relay launch finished) in **${settleMs.toFixed(0)} ms**; ${ids.size} distinct
session id(s), ${fiveXx} 5xx, ${answers.filter((a) => a.status === 201).length}×201 and
${answers.filter((a) => a.status === 200).length}×200.
`;
  // Notes written by hand after a run (profile, reading) live below the marker and are kept.
  const out = path.resolve(import.meta.dirname, '../../docs/bench/control-plane.md');
  const previous = fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : '';
  const notes = previous.includes(NOTES_MARKER)
    ? previous.slice(previous.indexOf(NOTES_MARKER))
    : NOTES_MARKER;
  fs.writeFileSync(out, `${md}\n${notes.trimEnd()}\n`);
  process.stdout.write(md);
} finally {
  await db.close();
  await pg.stop();
}
