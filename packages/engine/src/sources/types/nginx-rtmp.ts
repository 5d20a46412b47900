import type { ParseOutcome } from '../feed-sample.js';
import { httpStatsSource, type SourceModule } from '../source-module.js';

function xmlText(block: string, tag: string): string | null {
  const m = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(block);
  return m ? (m[1] ?? '').trim() : null;
}

/**
 * nginx-rtmp `/stat` XML: the `<stream>` named `stream` inside application `publisher` (either may
 * be omitted). `bw_in` is bits/s over the last measurement window; `<publishing/>` marks a publisher.
 */
export function parseNginxRtmpStat(text: string, publisher?: string, stream?: string): ParseOutcome {
  if (!/<rtmp>/.test(text)) return { kind: 'offline', reason: 'nginx-rtmp stat: not an <rtmp> document' };
  const apps = text.split('<application>').slice(1);
  for (const app of apps) {
    const appName = xmlText(app, 'name');
    if (publisher !== undefined && appName !== publisher) continue;
    for (const raw of app.split('<stream>').slice(1)) {
      const block = raw.split('</stream>')[0] ?? '';
      const name = xmlText(block, 'name');
      if (stream !== undefined && name !== stream) continue;
      // A stream's own <publishing/> sits outside its <client> elements.
      const own = block.replace(/<client>[\s\S]*?<\/client>/g, '');
      if (!/<publishing\s*\/>/.test(own))
        return { kind: 'offline', reason: `nginx-rtmp: ${name ?? 'stream'} not publishing` };
      const missing: string[] = [];
      const bw = Number(xmlText(block, 'bw_in'));
      const hasBw = xmlText(block, 'bw_in') !== null && Number.isFinite(bw);
      if (!hasBw) missing.push('bw_in');
      return {
        kind: 'sample',
        connected: true,
        bitrate_kbps: hasBw ? bw / 1000 : null,
        rtt_ms: null,
        loss_pct: null,
        missing,
      };
    }
  }
  const which = [publisher, stream].filter(Boolean).join('/') || 'any stream';
  return { kind: 'offline', reason: `nginx-rtmp: ${which} not found` };
}

export const source: SourceModule = httpStatsSource((body, config) =>
  parseNginxRtmpStat(body, config.publisher, config.stream),
);
