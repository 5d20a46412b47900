import { createServer } from 'node:net';
import { createApiKey, createUser, getUser, runControlPlane } from '@telemy/control-plane';
import type { Vault } from '@telemy/engine/vault';
import type { Logger } from '@telemy/protocol';

const USER_ID_KEY = 'embedded_user_id';
const JWT_SECRET_KEY = 'embedded_jwt_secret';

export interface EmbeddedCloud {
  url: string;
  close(): Promise<void>;
}

/**
 * `cloud.mode = "embedded"`: the control plane runs inside this process on PGlite in the data folder,
 * with the `local` relay provider, and a local user and API key made on first run — so one machine
 * can do the whole IRL flow with no account anywhere. Its secrets live in the vault.
 */
export async function startEmbeddedCloud(
  vault: Vault,
  apiKeyName: string,
  logger: Logger,
): Promise<EmbeddedCloud> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const { TELEMY_DATABASE_URL: _external, ...env } = process.env;
  const cp = await runControlPlane({
    role: 'all',
    port,
    host: '127.0.0.1',
    logger,
    env: {
      ...env,
      TELEMY_JWT_SECRET: vault.getOrCreate(JWT_SECRET_KEY).value,
      TELEMY_RELAY_PROVIDER: 'local',
      TELEMY_PUBLIC_URL: url,
    },
  });
  const userId = vault.get(USER_ID_KEY);
  if (!userId || !(await getUser(cp.db, userId)) || !vault.get(apiKeyName)) {
    const now = new Date();
    const user =
      userId && (await getUser(cp.db, userId))
        ? { id: userId }
        : await createUser(cp.db, { email: 'local@telemy.invalid', plan: 'starter' }, now);
    const { apiKey } = await createApiKey(cp.db, user.id, now, 'embedded');
    vault.set(USER_ID_KEY, user.id);
    vault.set(apiKeyName, apiKey);
    logger.info({ user_id: user.id }, 'embedded control plane: local user and API key created');
  }
  return { url: cp.url, close: () => cp.close() };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}
