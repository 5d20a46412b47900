import type { ControlPlaneContext } from './context.js';
import { deprovisionInstance, stopSession } from './lifecycle.js';
import { assertTransition } from './transitions.js';

interface ProvisionInput {
  session_id: string;
  user_id: string;
  region: string;
  max_session_seconds: number;
  pair_token: string;
  relay_ws_token: string;
  egress_passphrase: string;
  relay_instance_id: string;
  image_id: string;
  instance_type: string;
}

/**
 * Launches the relay of a freshly created session. The raw relay credential exists only here and
 * in the provider's hand-off to the agent; the database holds its hash. A launch that fails stops
 * the session (`error_recovery`); a launch that ends after the session was stopped is torn down.
 */
export async function provisionRelay(ctx: ControlPlaneContext, sessionId: string, relayCredential: string) {
  const res = await ctx.db.query<ProvisionInput>(
    `SELECT s.id AS session_id, s.user_id, s.region, s.max_session_seconds, s.pair_token, s.relay_ws_token,
            s.egress_passphrase, s.relay_instance_id, r.image_id, r.instance_type
     FROM sessions s JOIN relay_instances r ON r.id = s.relay_instance_id WHERE s.id = $1`,
    [sessionId],
  );
  const s = res.rows[0];
  if (!s) return;
  const labels = { provider: ctx.provider.name, region: s.region };
  const t0 = ctx.clock();
  let relay: Awaited<ReturnType<typeof ctx.provider.provision>>;
  try {
    relay = await ctx.provider.provision({
      session_id: s.session_id,
      user_id: s.user_id,
      region: s.region,
      image_id: s.image_id,
      instance_type: s.instance_type,
      agent: {
        control_plane_url: ctx.publicUrl,
        relay_credential: relayCredential,
        pair_token: s.pair_token,
        relay_ws_token: s.relay_ws_token,
        egress_passphrase: s.egress_passphrase,
        max_session_seconds: s.max_session_seconds,
      },
    });
  } catch (err) {
    ctx.metrics.provisionTotal.inc({ ...labels, status: 'error' });
    ctx.metrics.provisionDuration.observe({ ...labels, status: 'error' }, (ctx.clock() - t0) / 1000);
    ctx.log.error({ session: sessionId, err: (err as Error).message }, 'relay provisioning failed');
    await ctx.db.query(`UPDATE relay_instances SET state = 'error' WHERE id = $1 AND state <> 'terminated'`, [
      s.relay_instance_id,
    ]);
    await stopSession(ctx, sessionId, 'error_recovery', 'error');
    return;
  }
  ctx.metrics.provisionTotal.inc({ ...labels, status: 'ok' });
  ctx.metrics.provisionDuration.observe({ ...labels, status: 'ok' }, (ctx.clock() - t0) / 1000);
  const now = new Date(ctx.clock());
  const status = await ctx.db.transaction(async (tx) => {
    const cur = await tx.query<{ status: string }>('SELECT status FROM sessions WHERE id = $1 FOR UPDATE', [
      sessionId,
    ]);
    const recorded = await tx.query<{ last_health_at: Date | null }>(
      `UPDATE relay_instances SET provider_instance_id = $2, public_ip = $3,
         srt_port = $4, egress_port = $5, ws_port = $6, launched_at = $7,
         state = CASE WHEN state = 'provisioning' THEN 'running' ELSE state END
       WHERE id = $1 RETURNING last_health_at`,
      [
        s.relay_instance_id,
        relay.instance_id,
        relay.public_ip,
        relay.srt_port,
        relay.egress_port,
        relay.ws_port,
        now,
      ],
    );
    // The relay already reported health while its launch was being recorded: activate it now.
    if (cur.rows[0]?.status === 'provisioning' && recorded.rows[0]?.last_health_at) {
      assertTransition('provisioning', 'active');
      await tx.query(
        `UPDATE sessions SET status = 'active', activated_at = $2, updated_at = $2 WHERE id = $1`,
        [sessionId, now],
      );
    }
    return cur.rows[0]?.status;
  });
  ctx.userChanged(s.user_id);
  ctx.log.info({ session: sessionId, instance: relay.instance_id }, 'relay provisioned');
  if (status === 'stopped') await deprovisionInstance(ctx, s.relay_instance_id);
}
