import { expect } from 'vitest';

/**
 * What a user of an installed Telemy (the npm package, the single executable) sees once
 * `telemy start` printed its dashboard URL: `/healthz` with the product version, the dashboard
 * page and its script served from the installed dock files, and OBS connected.
 */
export async function expectDashboardServed(url: string, version: string): Promise<void> {
  const base = new URL(url).origin;
  expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: 'ok', version });

  const auth = { authorization: `Bearer ${new URL(url).searchParams.get('token')}` };
  const page = await fetch(url);
  expect(page.status).toBe(200);
  const script = (await page.text()).match(/<script[^>]+src="([^"]+\.js)"/)?.[1];
  expect(script).toBeDefined();
  const asset = await fetch(new URL(script as string, url), { headers: auth });
  expect(asset.status).toBe(200);
  expect(asset.headers.get('content-type')).toMatch(/javascript/);

  const obsConnection = async () =>
    ((await (await fetch(`${base}/api/state`, { headers: auth })).json()) as { obs: { connection: string } })
      .obs.connection;
  await expect.poll(obsConnection, { timeout: 30_000 }).toBe('connected');
}
