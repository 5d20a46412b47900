import { createServer, type Server } from 'node:http';

export interface FailureInfo {
  lastError: string;
  failedAt: Date;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function failurePageHtml(info: FailureInfo): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Telemy engine stopped</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 2em auto">
<h1>Telemy engine failed twice</h1>
<p><strong>What failed:</strong> ${escapeHtml(info.lastError)}</p>
<p>The engine crashed, was restarted once, and failed again, so it is not restarted any more.
OBS was not touched: your scenes and stream are as they were, but automatic scene switching is off.</p>
<p><strong>How to restart:</strong> fix the cause above, then run <code>telemy start</code> again
(run <code>telemy doctor</code> to check the setup).</p>
<p><small>Failed at ${info.failedAt.toISOString()}</small></p>
</body></html>
`;
}

/**
 * Serves the failure page on the dashboard port (free now that the engine is dead) for every path,
 * with status 503 so monitors see the outage too; `/healthz` says the same as JSON.
 */
export async function serveFailurePage(host: string, port: number, info: FailureInfo): Promise<Server> {
  const html = failurePageHtml(info);
  const server = createServer((req, res) => {
    // An open dock probes /healthz when its socket drops, to tell "failed twice" from "not running".
    if (req.url?.split('?')[0] === '/healthz') {
      res.writeHead(503, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(
        JSON.stringify({ status: 'failed', error: info.lastError, failed_at: info.failedAt.toISOString() }),
      );
      return;
    }
    res.writeHead(503, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(html);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}
