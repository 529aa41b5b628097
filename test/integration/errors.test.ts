// The error boundary: a bug answers a JSON 500 without internals, never an exception page.
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/app';

describe('unhandled errors', () => {
  it('become a JSON 500 without a stack trace', async () => {
    const app = createApp();
    app.get('/boom', () => {
      throw new Error('secret internals at src/engine/evaluate.ts:42');
    });
    const res = await app.request('/boom', {}, env);
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ error: { code: 'INTERNAL', message: 'Internal error: the request was not decided.' } });
    expect(text).not.toMatch(/secret|\.ts:/);
  });
});
