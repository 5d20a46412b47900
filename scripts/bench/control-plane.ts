/**
 * Control plane figures (issue 4): GET /relay/active and GET /usage/current against PostgreSQL,
 * next to a bare fastify route returning the same JSON, at each concurrency level (one user, then
 * 100 users whose requests interleave), and the time for 100 concurrent starts of one user to settle.
 * Each comparison is several rounds of (bare, API) taken back to back, in alternating order, and
 * reports medians: on a shared machine the speed drifts by more than the difference being measured,
 * and a ratio of two runs seconds apart cancels most of that drift.
 * Run: node --import tsx scripts/bench/control-plane.ts [--duration 4] [--rounds 5] [--connections 10,100]
 * Writes docs/bench/control-plane.md.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  createApiKey,
  createControlPlane,
  createPgDb,
  createUser,
  type Db,
  FakeRelayProvider,
  hs256Config,
  migrate,
  type QueryOptions,
  RoundTripBatcher,
  seedManifest,
  signAccessToken,
} from '@telemy/control-plane';
import { createLogger } from '@telemy/protocol';
import autocannon from 'autocannon';
import Fastify from 'fastify';
import pg from 'pg';
import { authenticateRequests } from '../../packages/control-plane/src/store/authenticate.js';
import { startPostgres } from '../../test/support/postgres.js';
import { machine, percentile } from './report.js';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const DURATION = Number(arg('--duration') ?? 4);
const ROUNDS = Number(arg('--rounds') ?? 5);
const LEVELS = (arg('--connections') ?? '10,100').split(',').map(Number);
const MANY_USERS = 100;
const NOTES_MARKER = '<!-- notes: kept across runs -->';

interface Figure {
  rps: number;
  p99: number;
  p50: number;
  errors: number;
  non2xx: number;
  /** Share of the run the event loop (servers and load generator alike) was busy, 0–1. */
  busy: number;
}

/** One route against its bare twin, round by round. */
interface Comparison {
  route: string;
  bare: Figure[];
  /** The bare route after one batched `SELECT 1` round trip: the ceiling of a database read per request. */
  roundTrip: Figure[];
  roundTripRatios: number[];
  api: Figure[];
  ratios: number[];
  /** Mean requests per authentication statement, over all the API rounds. */
  perStatement: number;
  /** 10th and 90th percentile of the requests one statement served. */
  batchP10: number;
  batchP90: number;
  /** Mean wall time of one authentication statement (send to answer parsed), ms. */
  statementMs: number;
}

interface Run {
  title: string;
  comparisons: Comparison[];
}

/**
 * `tokens`: one Authorization value per request, taken in turn (many users interleaved); the bare
 * route gets the same rotation so that both sides pay the same client cost.
 */
async function cannon(
  url: string,
  headers: Record<string, string>,
  connections: number,
  tokens?: string[],
): Promise<Figure> {
  let next = 0;
  const loop0 = performance.eventLoopUtilization();
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
    rps: Math.round(r.requests.average),
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors,
    non2xx: r.non2xx,
    busy: performance.eventLoopUtilization(loop0).utilization,
  };
}

/**
 * Counts and times the authentication statements (which carry the polled routes' reads), and keeps
 * how many requests each served (the sum of its per-request counts, parameter $5).
 */
function countingStatements(db: Db) {
  const counts = { ms: 0, batchSizes: [] as number[] };
  const wrapped: Db = {
    ...db,
    query: async <R>(sql: string, params?: unknown[], opts?: QueryOptions) => {
      if (!sql.includes('INSERT INTO rate_limit_counters')) return db.query<R>(sql, params, opts);
      counts.batchSizes.push(((params ?? [])[4] as number[]).reduce((a, n) => a + n, 0));
      const t0 = performance.now();
      try {
        return await db.query<R>(sql, params, opts);
      } finally {
        counts.ms += performance.now() - t0;
      }
    },
  };
  return { db: wrapped, counts };
}

/** One call's figures for the authentication statement run alone, per plan choice. */
interface AloneFigure {
  users: number;
  mode: string;
  msPerCall: number;
  generic: number;
  custom: number;
}

const ALONE_CALLS = 300;

/**
 * The authentication statement alone, on one connection and nothing else running: a batch of 40
 * requests spread over `userIds` (each with a live-session read), prepared under a name, with
 * PostgreSQL's default plan choice and then with the generic plan forced. Mean wall time per call,
 * and how many generic and custom plans PostgreSQL used (pg_prepared_statements).
 */
async function statementAlone(db: Db, url: string, userIds: string[]): Promise<AloneFigure[]> {
  let sql = '';
  let params: unknown[] = [];
  const capture: Db = {
    ...db,
    query: <R>(text: string, values?: unknown[], opts?: QueryOptions) => {
      sql = text;
      params = values ?? [];
      return db.query<R>(text, values, opts);
    },
  };
  const windowStart = new Date(Math.floor(Date.now() / 60_000) * 60_000);
  const reqs = Array.from({ length: 40 }, (_, i) => {
    const userId = userIds[i % userIds.length]!;
    return { userId, bucket: `active:${userId}`, windowStart, read: 'live' as const };
  });
  await authenticateRequests(capture, reqs, new Date());
  const out: AloneFigure[] = [];
  for (const mode of ['auto', 'force_generic_plan']) {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(`SET plan_cache_mode = ${mode}`);
      const call = () => client.query({ name: 'alone', text: sql, values: params, rowMode: 'array' });
      for (let i = 0; i < 20; i++) await call();
      const t0 = performance.now();
      for (let i = 0; i < ALONE_CALLS; i++) await call();
      const msPerCall = (performance.now() - t0) / ALONE_CALLS;
      const plans = await client.query<{ generic_plans: string; custom_plans: string }>(
        'SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE name = $1',
        ['alone'],
      );
      out.push({
        users: userIds.length,
        mode,
        msPerCall,
        generic: Number(plans.rows[0]?.generic_plans),
        custom: Number(plans.rows[0]?.custom_plans),
      });
    } finally {
      await client.end();
    }
  }
  return out;
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

const server = await startPostgres();
const db = createPgDb(server.url, { max: 20 });
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
  const streamer = async (email: string): Promise<{ authorization: string; userId: string }> => {
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
    return { authorization, userId: user.id };
  };

  const solo = await streamer('bench@example.test');
  const many: Array<{ authorization: string; userId: string }> = [];
  for (let i = 0; i < MANY_USERS; i++) many.push(await streamer(`bench-${i}@example.test`));
  const manyTokens = many.map((m) => m.authorization);
  const headers = { ...clientHeaders, authorization: solo.authorization };
  const alone = [
    await statementAlone(db, server.url, [solo.userId]),
    await statementAlone(
      db,
      server.url,
      many.slice(0, 40).map((m) => m.userId),
    ),
  ];
  const activeJson = await (await fetch(`${cpUrl}/api/v1/relay/active`, { headers })).json();
  const usageJson = await (await fetch(`${cpUrl}/api/v1/usage/current`, { headers })).json();

  const bare = Fastify();
  bare.get('/active', async () => activeJson);
  bare.get('/usage', async () => usageJson);
  // The same routes after one database round trip that does nothing, batched and sent exactly as the
  // control plane's statement is (RoundTripBatcher, a named statement on the store's pool).
  const roundTrip = new RoundTripBatcher<null, null>(async (items) => {
    await db.query('SELECT 1', [], { name: 'bench_round_trip' });
    return items.map(() => null);
  });
  bare.get('/active-rt', async () => {
    await roundTrip.enqueue(null);
    return activeJson;
  });
  bare.get('/usage-rt', async () => {
    await roundTrip.enqueue(null);
    return usageJson;
  });
  const bareUrl = await bare.listen({ port: 0, host: '127.0.0.1' });

  /**
   * ROUNDS rounds of (bare route, control plane route) back to back, the order alternating so that
   * neither side always runs on a warmer or quieter machine.
   */
  const compare = async (
    route: '/relay/active' | '/usage/current',
    connections: number,
    tokens?: string[],
  ): Promise<Comparison> => {
    const bareRoute = route === '/relay/active' ? '/active' : '/usage';
    const c: Comparison = {
      route,
      bare: [],
      roundTrip: [],
      roundTripRatios: [],
      api: [],
      ratios: [],
      perStatement: 0,
      batchP10: 0,
      batchP90: 0,
      statementMs: 0,
    };
    let statementMs = 0;
    /** Requests per statement, one entry per statement of the API rounds. */
    const batchSizes: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      // The same request bytes to both: the bare route also receives (and ignores) the client headers.
      const runBare = () => cannon(`${bareUrl}${bareRoute}`, headers, connections, tokens);
      const runApi = async () => {
        const msBefore = counted.counts.ms;
        const firstBatch = counted.counts.batchSizes.length;
        const f = await cannon(`${cpUrl}/api/v1${route}`, headers, connections, tokens);
        statementMs += counted.counts.ms - msBefore;
        batchSizes.push(...counted.counts.batchSizes.slice(firstBatch));
        return f;
      };
      const runRoundTrip = () => cannon(`${bareUrl}${bareRoute}-rt`, headers, connections, tokens);
      let bareFig: Figure;
      let roundTripFig: Figure;
      let apiFig: Figure;
      if (i % 2 === 0) {
        bareFig = await runBare();
        roundTripFig = await runRoundTrip();
        apiFig = await runApi();
      } else {
        apiFig = await runApi();
        roundTripFig = await runRoundTrip();
        bareFig = await runBare();
      }
      c.bare.push(bareFig);
      c.roundTrip.push(roundTripFig);
      c.roundTripRatios.push(roundTripFig.rps / bareFig.rps);
      c.api.push(apiFig);
      c.ratios.push(apiFig.rps / bareFig.rps);
    }
    const statements = batchSizes.length;
    c.perStatement = statements > 0 ? batchSizes.reduce((a, n) => a + n, 0) / statements : 0;
    c.batchP10 = percentile(batchSizes, 10);
    c.batchP90 = percentile(batchSizes, 90);
    c.statementMs = statements > 0 ? statementMs / statements : 0;
    return c;
  };

  const runs: Run[] = [];
  for (const c of LEVELS) {
    runs.push({
      title: `${c} connections, one user`,
      comparisons: [await compare('/relay/active', c), await compare('/usage/current', c)],
    });
  }
  const manyLevel = Math.max(...LEVELS);
  runs.push({
    title: `${manyLevel} connections, requests of ${MANY_USERS} users interleaved (each has a live session)`,
    comparisons: [
      await compare('/relay/active', manyLevel, manyTokens),
      await compare('/usage/current', manyLevel, manyTokens),
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
  const med = (xs: number[]) => percentile(xs, 50);
  const row = (c: Comparison) => {
    const errors = c.api.reduce((n, f) => n + f.errors + f.non2xx, 0);
    const rps = (fs: Figure[]) => Math.round(med(fs.map((f) => f.rps)));
    const lat = (fs: Figure[], k: 'p50' | 'p99') => med(fs.map((f) => f[k]));
    const busy = (fs: Figure[]) => `${Math.round(med(fs.map((f) => f.busy)) * 100)} %`;
    const ratio = (xs: number[]) => `**${med(xs).toFixed(2)}** (${xs.map((r) => r.toFixed(2)).join(', ')})`;
    return `| GET ${c.route} | ${rps(c.bare)} | ${rps(c.roundTrip)} | ${med(c.roundTripRatios).toFixed(2)} | ${rps(c.api)} | ${lat(c.bare, 'p99')} | ${lat(c.api, 'p50')} / ${lat(c.api, 'p99')} | ${errors} | ${busy(c.bare)} / ${busy(c.api)} | ${c.perStatement.toFixed(1)} (${c.batchP10}–${c.batchP90}) | ${c.statementMs.toFixed(2)} | ${ratio(c.ratios)} |`;
  };
  const section = (r: Run) => `### ${r.title}

| route | bare req/s | bare + round trip req/s | its ratio to bare | API req/s | bare p99 ms | API p50 / p99 ms | API errors + non-2xx | event loop busy, bare / API | requests per statement, mean (p10–p90) | ms per statement | API ratio to bare, median (each round) |
|---|---|---|---|---|---|---|---|---|---|---|---|
${r.comparisons.map(row).join('\n')}
`;
  const md = `# Control plane benchmark

Command: \`flock /tmp/telemy-bench.lock node --import tsx scripts/bench/control-plane.ts --duration ${DURATION} --rounds ${ROUNDS} --connections ${LEVELS.join(',')}\`

- Date: ${date}
- Machine: ${machine()}
- Store: ${pgVersion}, throwaway server on loopback (\`fsync\` and \`synchronous_commit\` off), \`pg\`
  pool of 20 (the named hot-path statement runs on the store's own pool of 2 with generic plans)
- Load: autocannon in the same process as the servers, ${ROUNDS} rounds of (bare route ${DURATION} s,
  bare route + round trip ${DURATION} s, control plane route ${DURATION} s) per row, the order
  reversed every other round; all get the same requests (the client headers and access token; the
  bare routes ignore them); rate limits set out of reach.
  Load average 1/5/15 min at the end: ${load}.
- Figures are medians over the rounds; the ratio is the median of the rounds' ratios (each round's in
  brackets), which cancels the machine's drift between rounds.

Every control plane request does the full path: header checks, the access JWT (HS256; a token
already verified is not verified again, its \`exp\`/\`nbf\` are still checked), then ONE statement
for the batch of requests that waited while the previous one ran (or, when none was running, that
arrived in the same event-loop turn): their users, the exact rate-limit
counts, and the polled routes' reads (the live session joined with its relay instance and latest
health report; the Time Bank sum). "Bare + round trip" is the bare route answering after one
database round trip that does nothing (\`SELECT 1\`, batched and sent exactly as the control plane's
statement is): the ceiling of this design, where each request waits for one batched round trip.
"Requests per statement" is how many requests each statement served (the mean, and the
10th–90th percentile of single statements: a wide spread means the polling clients split into a
small and a large batch that alternate), "ms per statement" its mean wall time from send to parsed answer, and "event loop busy" the share of
the run the one Node thread (servers and load generator) was working rather than waiting.

${runs.map(section).join('\n')}
### The statement alone

The authentication statement for a batch of 40 requests (the live-session read) over 1 and over 40
users, on one connection with nothing else running, prepared under a name, ${ALONE_CALLS} calls after 20
warm-up calls; "plans" is what \`pg_prepared_statements\` counted over all of them.

| users | plan_cache_mode | ms per call | plans: generic / custom |
|---|---|---|---|
${alone
  .flat()
  .map((a) => `| ${a.users} | ${a.mode} | ${a.msPerCall.toFixed(2)} | ${a.generic} / ${a.custom} |`)
  .join('\n')}

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
  await server.stop();
}
