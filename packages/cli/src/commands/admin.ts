import type { Db } from '@telemy/control-plane';
import { PLAN_STATUSES, PLAN_TIERS, type PlanStatus, type PlanTier } from '@telemy/protocol';
import { type Command, InvalidArgumentError, Option } from 'commander';

/** The control plane (PGlite, pg, jose) loads only when an admin command runs. */
const controlPlane = () => import('@telemy/control-plane');

type ControlPlane = Awaited<ReturnType<typeof controlPlane>>;

async function withDb<T>(fn: (db: Db, cp: ControlPlane) => Promise<T>): Promise<T> {
  const cp = await controlPlane();
  const db = await cp.openDatabase();
  try {
    await cp.migrate(db);
    return await fn(db, cp);
  } finally {
    await db.close();
  }
}

function print(json: boolean, obj: Record<string, unknown>, plain: string): void {
  process.stdout.write(json ? `${JSON.stringify(obj)}\n` : `${plain}\n`);
}

function parseTtl(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 60 || n > 30 * 86_400)
    throw new InvalidArgumentError('ttl is 60-2592000 seconds');
  return n;
}

/** `telemy admin …`: users, API keys, access tokens. */
export function registerAdmin(program: Command): void {
  const admin = program
    .command('admin')
    .description('control plane administration: users, API keys, access tokens');

  const user = admin.command('user').description('manage users');
  user
    .command('create')
    .description('create a user; prints the user id')
    .requiredOption('--email <email>', 'e-mail address (unique)')
    .addOption(new Option('--plan <tier>', 'plan tier').choices([...PLAN_TIERS]).default('starter'))
    .addOption(
      new Option('--plan-status <status>', 'plan status').choices([...PLAN_STATUSES]).default('active'),
    )
    .option('--name <display name>', 'display name')
    .option('--json', 'print a JSON object')
    .action(
      async (o: { email: string; plan: PlanTier; planStatus: PlanStatus; name?: string; json?: boolean }) => {
        if (!/^[^\s@]+@[^\s@]+$/.test(o.email))
          throw new InvalidArgumentError(`"${o.email}" is not an e-mail address`);
        const u = await withDb((db, cp) =>
          cp
            .createUser(
              db,
              { email: o.email, plan: o.plan, planStatus: o.planStatus, displayName: o.name ?? null },
              new Date(),
            )
            .catch((err: { code?: string }) => {
              if (err.code === '23505') throw new Error(`a user with e-mail ${o.email} already exists`);
              throw err;
            }),
        );
        print(
          !!o.json,
          { user_id: u.id, email: u.email, plan_tier: u.plan_tier, included_seconds: u.included_seconds },
          u.id,
        );
      },
    );

  user
    .command('list')
    .description('list users')
    .option('--json', 'print a JSON object')
    .action(async (o: { json?: boolean }) => {
      const users = await withDb((db, cp) => cp.listUsers(db));
      const rows = users.map((u) => ({
        user_id: u.id,
        email: u.email,
        plan_tier: u.plan_tier,
        plan_status: u.plan_status,
        included_seconds: u.included_seconds,
      }));
      print(
        !!o.json,
        { users: rows },
        rows
          .map((r) => `${r.user_id}  ${r.email}  ${r.plan_tier}/${r.plan_status}  ${r.included_seconds}s`)
          .join('\n') || '(no users)',
      );
    });

  admin
    .command('key')
    .description('manage API keys')
    .command('create')
    .description('issue an API key for a user; prints it once (only its hash is stored)')
    .requiredOption('--user <id>', 'user id (usr_…)')
    .option('--label <label>', 'what the key is for')
    .option('--json', 'print a JSON object')
    .action(async (o: { user: string; label?: string; json?: boolean }) => {
      const k = await withDb(async (db, cp) => {
        if (!(await cp.getUser(db, o.user)))
          throw new Error(`no user ${o.user} (see telemy admin user list)`);
        return cp.createApiKey(db, o.user, new Date(), o.label ?? null);
      });
      print(!!o.json, { key_id: k.keyId, user_id: o.user, api_key: k.apiKey }, k.apiKey);
    });

  admin
    .command('token')
    .description('mint an access JWT for a user (needs only the JWT key, not the database)')
    .requiredOption('--user <id>', 'user id (usr_…)')
    .option('--ttl <seconds>', 'lifetime in seconds', parseTtl, 3600)
    .option('--json', 'print a JSON object')
    .action(async (o: { user: string; ttl: number; json?: boolean }) => {
      const cp = await controlPlane();
      const cfg = await cp.jwtConfigFromEnv();
      const { token, expiresAt } = await cp.signAccessToken(cfg, o.user, Date.now(), o.ttl);
      print(!!o.json, { cp_access_jwt: token, expires_at: expiresAt.toISOString() }, token);
    });

  admin
    .command('plans')
    .description('show the plan tiers and their monthly Time Bank')
    .option('--json', 'print a JSON object')
    .action(async (o: { json?: boolean }) => {
      const cp = await controlPlane();
      print(
        !!o.json,
        { plans: Object.values(cp.PLANS) },
        Object.values(cp.PLANS)
          .map(
            (p) =>
              `${p.tier}  ${p.includedSeconds}s/month  overage ${p.overageAllowed ? 'allowed' : 'not allowed'}`,
          )
          .join('\n'),
      );
    });
}
