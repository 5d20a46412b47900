/**
 * Control plane figures (issue 4): GET /relay/active and GET /usage/current against PostgreSQL,
 * next to a bare fastify route returning the same JSON, at each concurrency level (one user, then
 * 100 users whose requests interleave), and the time for 100 concurrent starts of one user to settle.
 * The API is measured twice: with the per-process user cache (the default) and without it
 * (`userCache: false`, every request reads the database), two instances on the same store.
 * Each comparison is several rounds of (bare, bare + round trip, API, API without cache) taken back
 * to back, the order rotating, and reports medians: on a shared machine the speed drifts by more
 * than the difference being measured, and a ratio of two runs seconds apart cancels most of that
 * drift.
 * Run: node --import tsx scripts/bench/control-plane.ts [--duration 4] [--rounds 5] [--connections 10,100]
 * Writes docs/bench/control-plane.md.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import {
  createApiKey,
  createControlPlane,
  createPgDb,
  createUser,
  type Db,
  DEFAULT_RATE_LIMITS,
  FakeRelayProvider,
  hs256Config,
  migrate,
  type Queryable,
  type QueryOptions,
  RoundTripBatcher,
  seedManifest,
  signAccessToken,
} from '@telemy/control-plane';
import { createLogger } from '@telemy/protocol';
import autocannon from 'autocannon';
import Fastify from 'fastify';
import pg from 'pg';
import { leaseBlock, maxLeaseBlock } from '../../packages/control-plane/src/cache/rate-limit-leases.js';
import { type CounterLease, readUserStates } from '../../packages/control-plane/src/store/user-states.js';
import { startPostgres } from '../../test/support/postgres.js';
import { keptFrom, loadAverages, machine, percentile, writeReport } from './lib/report.js';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '4' },
    rounds: { type: 'string', default: '5' },
    connections: { type: 'string', default: '10,100' },
  },
});
const DURATION = Number(args.duration);
const ROUNDS = Number(args.rounds);
const LEVELS = args.connections.split(',').map(Number);
const MANY_USERS = 100;
/** The rate limits, out of reach, and the first block of counts a statement takes in a window (`leaseBlock`). */
const BIG = 1_000_000_000;
const BLOCK = leaseBlock(BIG, 0);
const NOTES_MARKER = '<!-- notes: kept across runs -->';

interface Figure {
  rps: number;
  p99: number;
  p50: number;
  errors: number;
  non2xx: number;
  /** Share of the run the event loop (servers and load generator alike) was busy, 0–1. */
  busy: number;
  /**
   * Requests sent (autocannon's `requests.sent`). Its `requests.total` counts only the answers
   * received before the run stopped, not the requests then in flight, which the server still serves.
   */
  sent: number;
}

/** What one control plane instance's hot-path statements did (cumulative; runs take differences). */
interface StatementCounts {
  /** Requests each statement served (`onAuthStatement`), one entry per statement. */
  batchSizes: number[];
  /** The statements' summed wall time, send to answer parsed (each statement is also one batch size). */
  ms: number;
}

/** One (route, variant) of a comparison, round by round. */
interface Line {
  figures: Figure[];
  /** req/s over the same round's bare route. */
  ratios: number[];
  /** The API variants' statements over all rounds (a slice of `StatementCounts` per run). */
  statements?: StatementCounts;
}

/** One route: the bare route, bare + round trip, and the API with and without the user cache. */
interface Comparison {
  route: string;
  bare: Line;
  /** The bare route after one batched `SELECT 1` round trip: the ceiling of a database read per request. */
  roundTrip: Line;
  /** The control plane with its user cache (the default). */
  api: Line;
  /** The control plane with `userCache: false`: every request waits for the statement. */
  apiNoCache: Line;
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
    sent: r.requests.sent,
  };
}

/**
 * One control plane instance's view of the store: times its hot-path statements (`readUserStates`,
 * the one statement that raises the rate-limit counters), and `onAuthStatement` keeps how many
 * requests each served.
 */
function countingStatements(db: Db) {
  const counts: StatementCounts = { batchSizes: [], ms: 0 };
  const wrapped: Db = {
    ...db,
    query: async <R>(sql: string, params?: unknown[], opts?: QueryOptions) => {
      if (!sql.includes('INSERT INTO rate_limit_counters')) return db.query<R>(sql, params, opts);
      const t0 = performance.now();
      try {
        return await db.query<R>(sql, params, opts);
      } finally {
        counts.ms += performance.now() - t0;
      }
    },
  };
  const onAuthStatement = (requests: number) => {
    counts.batchSizes.push(requests);
  };
  return { db: wrapped, counts, onAuthStatement };
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

/** Requests in the batch "the statement alone" mirrors. */
const ALONE_BATCH = 40;

/**
 * The hot-path statement alone, on one connection and nothing else running, as the control plane
 * sends it for a batch of ALONE_BATCH `/relay/active` requests spread over `userIds` that hold no
 * leased count (a window's first statement, so the block is `BLOCK`): every user's state, and each user's
 * counter raised by what its requests need and a block (1 user: one lease of 50; 40 users: 40 leases
 * of 11). Prepared under a name, with PostgreSQL's default plan choice and then with the
 * generic plan forced. Mean wall time per call, and how many generic and custom plans PostgreSQL
 * used (pg_prepared_statements).
 */
async function statementAlone(url: string, userIds: string[]): Promise<AloneFigure[]> {
  let sql = '';
  let params: unknown[] = [];
  const capture: Queryable = {
    query: async <R>(text: string, values?: unknown[]) => {
      sql = text;
      params = values ?? [];
      return { rows: [] as R[], rowCount: 0 };
    },
    exec: async () => {},
  };
  const windowStartMs = Math.floor(Date.now() / 60_000) * 60_000;
  const leases: CounterLease[] = userIds.map((userId) => ({
    userId,
    bucket: `active:${userId}`,
    windowStartMs,
    amount: ALONE_BATCH / userIds.length + BLOCK,
  }));
  await readUserStates(capture, userIds, leases);
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
  const limits = { start: BIG, stop: BIG, active: BIG, usage: BIG, authToken: BIG };
  const logger = createLogger('bench', { level: 'silent' });
  // Two instances on the one store: with the user cache (the default) and without it.
  const instance = (counts: ReturnType<typeof countingStatements>, userCache: boolean) =>
    createControlPlane({
      db: counts.db,
      provider,
      jwt,
      limits,
      logger,
      userCache,
      onAuthStatement: counts.onAuthStatement,
      // autocannon opens up to 100 connections from 127.0.0.1 (default limit: 64 per address).
      http: { maxConnectionsPerAddress: 0 },
    });
  const counted = countingStatements(db);
  const app = await instance(counted, true);
  if (!app.cp.userCache.isEnabled) throw new Error('the user cache is off: LISTEN failed');
  const cpUrl = await app.listen({ port: 0, host: '127.0.0.1' });
  const countedNoCache = countingStatements(db);
  const appNoCache = await instance(countedNoCache, false);
  const cpNoCacheUrl = await appNoCache.listen({ port: 0, host: '127.0.0.1' });
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
    await statementAlone(server.url, [solo.userId]),
    await statementAlone(
      server.url,
      many.slice(0, ALONE_BATCH).map((m) => m.userId),
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
   * ROUNDS rounds of (bare route, bare + round trip, API, API without cache) back to back, the order
   * rotating (round i starts with the i-th of the four) so that none always runs on a warmer or
   * quieter machine.
   */
  const compare = async (
    route: '/relay/active' | '/usage/current',
    connections: number,
    tokens?: string[],
  ): Promise<Comparison> => {
    const bareRoute = route === '/relay/active' ? '/active' : '/usage';
    const statements = (): StatementCounts => ({ batchSizes: [], ms: 0 });
    const c: Comparison = {
      route,
      bare: { figures: [], ratios: [] },
      roundTrip: { figures: [], ratios: [] },
      api: { figures: [], ratios: [], statements: statements() },
      apiNoCache: { figures: [], ratios: [], statements: statements() },
    };
    // The same request bytes to all: the bare routes also receive (and ignore) the client headers.
    const run = async (line: Line, url: string, counts?: StatementCounts) => {
      const first = counts?.batchSizes.length ?? 0;
      const ms = counts?.ms ?? 0;
      const f = await cannon(url, headers, connections, tokens);
      line.figures.push(f);
      if (counts && line.statements) {
        line.statements.batchSizes.push(...counts.batchSizes.slice(first));
        line.statements.ms += counts.ms - ms;
      }
      return f;
    };
    const runners = [
      () => run(c.bare, `${bareUrl}${bareRoute}`),
      () => run(c.roundTrip, `${bareUrl}${bareRoute}-rt`),
      () => run(c.api, `${cpUrl}/api/v1${route}`, counted.counts),
      () => run(c.apiNoCache, `${cpNoCacheUrl}/api/v1${route}`, countedNoCache.counts),
    ];
    const lines = [c.bare, c.roundTrip, c.api, c.apiNoCache];
    for (let i = 0; i < ROUNDS; i++) {
      for (let k = 0; k < runners.length; k++) await runners[(i + k) % runners.length]!();
      const bareRps = c.bare.figures[i]!.rps;
      for (const line of lines.slice(1)) line.ratios.push(line.figures[i]!.rps / bareRps);
    }
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
  await appNoCache.close();

  const date = new Date().toISOString();
  const load = loadAverages(1);
  const pgVersion = execFileSync('/usr/lib/postgresql/15/bin/postgres', ['--version']).toString().trim();
  const med = (xs: number[]) => percentile(xs, 50);
  const sum = (xs: number[]) => xs.reduce((a, n) => a + n, 0);
  const line = (route: string, variant: string, l: Line, headline: boolean) => {
    const fs = l.figures;
    const rps = Math.round(med(fs.map((f) => f.rps)));
    const lat = (k: 'p50' | 'p99') => med(fs.map((f) => f[k]));
    const errors = sum(fs.map((f) => f.errors + f.non2xx));
    const busy = `${Math.round(med(fs.map((f) => f.busy)) * 100)} %`;
    const ratioMed = med(l.ratios).toFixed(2);
    const ratio =
      l.ratios.length === 0
        ? '–'
        : `${headline ? `**${ratioMed}**` : ratioMed} (${l.ratios.map((r) => r.toFixed(2)).join(', ')})`;
    let perStatement = '–';
    let statementMs = '–';
    let share = '–';
    const st = l.statements;
    if (st) {
      const n = st.batchSizes.length;
      const served = sum(st.batchSizes);
      perStatement =
        n > 0
          ? `${(served / n).toFixed(1)} (${percentile(st.batchSizes, 10)}–${percentile(st.batchSizes, 90)})`
          : 'no statement';
      statementMs = n > 0 ? (st.ms / n).toFixed(2) : '–';
      const sent = sum(fs.map((f) => f.sent));
      share = `${((served / sent) * 100).toFixed(1)} % (${served} of ${sent})`;
    }
    return `| GET ${route} | ${variant} | ${rps} | ${lat('p50')} / ${lat('p99')} | ${errors} | ${busy} | ${ratio} | ${perStatement} | ${statementMs} | ${share} |`;
  };
  const comparisonLines = (c: Comparison) =>
    [
      line(c.route, 'bare', c.bare, false),
      line(c.route, 'bare + round trip', c.roundTrip, false),
      line(c.route, 'API, user cache on', c.api, true),
      line(c.route, 'API, user cache off', c.apiNoCache, false),
    ].join('\n');
  const section = (r: Run) => `### ${r.title}

| route | variant | req/s | p50 / p99 ms | errors + non-2xx | event loop busy | ratio to bare, median (each round) | requests per statement, mean (p10–p90) | ms per statement | requests that needed a statement, of those sent |
|---|---|---|---|---|---|---|---|---|---|
${r.comparisons.map(comparisonLines).join('\n')}
`;
  const md = `# Control plane benchmark

Command: \`flock /tmp/telemy-bench.lock node --import tsx scripts/bench/control-plane.ts --duration ${DURATION} --rounds ${ROUNDS} --connections ${LEVELS.join(',')}\`

- Date: ${date}
- Machine: ${machine()}
- Store: ${pgVersion}, throwaway server on loopback (\`fsync\` and \`synchronous_commit\` off), one
  \`pg\` pool of 20 shared by both control plane instances (the named hot-path statement runs on
  the store's own pool of 2 with generic plans)
- Load: autocannon in the same process as the servers, ${ROUNDS} rounds per row of four ${DURATION} s runs
  back to back (bare route, bare route + round trip, control plane with its user cache, control
  plane without it), each round starting with the next of the four; all get the same requests
  (the client headers and access token; the bare routes ignore them); rate limits set out of reach.
  Load average 1/5/15 min at the end: ${load}.
- Figures are medians over the rounds; the ratio is the median of the rounds' ratios to the same
  round's bare route (each round's in brackets), which cancels the machine's drift between rounds.
  The bold ratio is the control plane's as it runs by default, with the user cache.

Every control plane request does the full path: header checks, the access JWT (HS256; a token
already verified is not verified again, its \`exp\`/\`nbf\` are still checked), then the user's
state (the user row, the live session joined with its relay instance and latest health report,
the Time Bank's session usage) and a rate-limit count. The counts are taken from the shared
counter ahead of need: a statement raises a counter by what its requests need and a block more
(\`leaseBlock\`: 10, or what the process already took in the minute when that is more, never more
than a tenth of the limit), and the process hands the spare counts to the next requests of that
bucket.
"User cache on" (the default): each process keeps the users' state in memory and drops a user's
entry when PostgreSQL notifies a change to it (LISTEN/NOTIFY). A request whose user is cached and
whose bucket still holds a count is answered without the database. The others wait for ONE
statement for all requests that queued while the previous one ran (or, when none was running,
that arrived in the same event-loop turn): it reads their users' state fresh (and caches it) and
raises their counters. "User cache off" (\`userCache: false\`): every request waits for that
statement; only the counts still come ahead of need.
The limits here are out of reach (${BIG.toLocaleString('en-US')} a minute): the blocks start at ${BLOCK} and
double with use up to ${maxLeaseBlock(BIG).toLocaleString('en-US')}, so after the first few statements of a minute the counts
cost no statement, and with the cache on almost every request is answered from memory. That is
not what production limits give: ${DEFAULT_RATE_LIMITS.active} a minute for \`/relay/active\` and ${DEFAULT_RATE_LIMITS.usage} for
\`/usage/current\` cap the blocks at ${maxLeaseBlock(DEFAULT_RATE_LIMITS.active)} and ${maxLeaseBlock(DEFAULT_RATE_LIMITS.usage)}, so a polling engine needs a statement at least every
${maxLeaseBlock(DEFAULT_RATE_LIMITS.active) + 1}th and ${maxLeaseBlock(DEFAULT_RATE_LIMITS.usage) + 1}th request (and after every change of its user); the "user cache off" line is the
other bound, a statement for every request.

"Bare + round trip" is the bare route answering after one database round trip that does nothing
(\`SELECT 1\`, batched and sent exactly as the control plane's statement is): the ceiling of a
design where each request waits for one batched round trip. "Requests per statement" is how many
requests each hot-path statement served (the mean, and the 10th–90th percentile of single
statements: a wide spread means the polling clients split into a small and a large batch that
alternate), "ms per statement" its mean wall time from send to parsed answer, and "requests that
needed a statement" the requests the statements served over the requests autocannon sent, over
all rounds (sent, not answered: the requests in flight when a run stops are served but not
answered to autocannon). "Event loop busy" is the share of the run the one Node thread (servers and load generator)
was working rather than waiting.

${runs.map(section).join('\n')}
### The statement alone

The hot-path statement (\`readUserStates\`) as a process sends it for a batch of ${ALONE_BATCH} requests of
\`/relay/active\` that hold no count, with out-of-reach limits: over 1 user (its state, and its
counter raised by ${ALONE_BATCH} + ${BLOCK}) and over ${ALONE_BATCH} users (their states, and ${ALONE_BATCH} counters each raised by
1 + ${BLOCK}). On one connection with nothing else running, prepared under a name, ${ALONE_CALLS} calls after 20
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
  const notes = keptFrom(out, NOTES_MARKER) ?? NOTES_MARKER;
  writeReport(out, `${md}\n${notes.trimEnd()}\n`);
  process.stdout.write(md);
} finally {
  await db.close();
  await server.stop();
}
