import { describe, expect, it } from 'vitest';
import { failurePageHtml, serveFailurePage } from '../src/failure-page.js';

describe('failure page', () => {
  it('says what failed and how to restart, escaping the error text', () => {
    const html = failurePageHtml({ lastError: 'boom <script>', failedAt: new Date(0) });
    expect(html).toContain('engine failed twice');
    expect(html).toContain('boom &#60;script&#62;');
    expect(html).toContain('telemy start');
    expect(html).not.toContain('<script>');
  });

  it('is served with status 503 on every path', async () => {
    const server = await serveFailurePage('127.0.0.1', 0, { lastError: 'x', failedAt: new Date() });
    const addr = server.address();
    const port = typeof addr === 'object' && addr ? addr.port : 0;
    const res = await fetch(`http://127.0.0.1:${port}/api/v1/state`);
    expect(res.status).toBe(503);
    expect(await res.text()).toContain('engine failed twice');
    await new Promise((r) => server.close(r));
  });
});
