// The Worker of the HTTP benchmark's floor phase (bench/http.mjs): the real Worker (src/index.ts,
// same app, same Durable Object classes, built by wrangler with wrangler.toml's settings) plus one
// bench-only route, POST /__bench/floor, that answers a check as cheaply as any Worker could: the
// bearer token compared in constant time (the production function), the JSON body read and
// parsed, and the very text /v1/check answered for that body, served from a per-body cache that
// the real route filled on first sight (so the answer has the real size; its headers are the
// JSON, no-store and nosniff ones every answer carries). What the floor costs over /healthz is the
// platform's price of a token-checked JSON request with a decision-sized answer; what /v1/check
// costs over the floor is geogate deciding (validation, facts, the engine, the ticket,
// serialising, the log). Every other request goes to the real Worker untouched; the only thing
// the wrapper adds to them is one string comparison.
/* global Request, Response */
import worker from '../src/index';
import { bearerToken, tokenEquals } from '../src/http/auth';

export { AccessCheck, AccountActivity, OrgActivity, PolicyAdmin } from '../src/index';

/** The bench-only route (bench/http.mjs names it too: a Worker module exports handlers only). */
const FLOOR_PATH = '/__bench/floor';

/** /v1/check's answer text per request body, filled by the first request with that body. */
const answers = new Map();

const HEADERS = { 'content-type': 'application/json', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };

export default {
  async fetch(request, env, ctx) {
    if (!request.url.endsWith(FLOOR_PATH)) return worker.fetch(request, env, ctx);
    const token = bearerToken(request.headers.get('authorization') ?? undefined);
    if (token === undefined || !env.CHECK_TOKEN || !tokenEquals(token, env.CHECK_TOKEN)) return Response.json({ error: 'UNAUTHORIZED' }, { status: 401 });
    const text = await request.text();
    JSON.parse(text);
    let answer = answers.get(text);
    if (answer === undefined) {
      const res = await worker.fetch(new Request(request.url.slice(0, -FLOOR_PATH.length) + '/v1/check', { method: 'POST', headers: request.headers, body: text }), env, ctx);
      answer = await res.text();
      if (res.status !== 200) return new Response(answer, { status: res.status, headers: HEADERS });
      answers.set(text, answer);
    }
    return new Response(answer, { headers: HEADERS });
  },
};
