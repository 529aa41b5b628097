// A sample origin: a Hono app on Workers that fronts its users and asks geogate about its API
// requests through the GEOGATE service binding (geogate's AccessCheck entrypoint). Its page loads
// geogate/browser, whose wrapped fetch adds the user's time-zone claims to the API calls; the API
// route answers the decision as JSON, allow, challenge or deny alike, so the page can show it.
// A real app would answer a challenge with its challenge flow and show its users far less than
// the evidence (docs/challenges.md); this one shows everything because it is a demonstration.
import { Hono, type Context } from 'hono';
import { geogate, type AccessCheckService, type GeogateDecision, type GeogateVariables } from 'geogate/hono';
// The very file the package ships as `geogate/browser` (built by `npm run build:lib`), as text.
import snippet from '../../../dist/lib/browser.js';
import { PAGE_CSP, PAGE_HTML, PAGE_SCRIPT } from './page';

type AppEnv = { Bindings: { GEOGATE: AccessCheckService }; Variables: GeogateVariables };

/** What the API route answers: the decision, and the client claims the request carried. */
function decisionView(c: Context<AppEnv>, d: GeogateDecision) {
  return {
    decision: d.decision,
    summary: d.summary,
    score: d.score,
    reasons: d.reasons.map((r) => ({ code: r.code, rule: r.rule, action: r.action, message: r.message, evidence: r.evidence, ...(r.liftedBy !== undefined ? { liftedBy: r.liftedBy } : {}) })),
    failed: d.failed,
    via: d.via,
    requestId: d.requestId,
    // Echoed so the page shows what geogate/browser sent.
    claims: {
      timezone: c.req.header('geogate-client-timezone') ?? null,
      utcOffset: c.req.header('geogate-client-utc-offset') ?? null,
      clock: c.req.header('geogate-client-clock') ?? null,
    },
  };
}

const app = new Hono<AppEnv>();

const scriptHeaders = { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' };

app.get('/', (c) => c.html(PAGE_HTML, 200, { 'content-security-policy': PAGE_CSP, 'cache-control': 'no-store' }));
app.get('/app.js', (c) => c.body(PAGE_SCRIPT, 200, scriptHeaders));
app.get('/geogate-browser.js', (c) => c.body(snippet, 200, scriptHeaders));

app.use(
  '/api/*',
  geogate<AppEnv>({
    // The defaults answer 403 / 401 with the codes only; this page shows the whole decision.
    onDeny: (c, d) => c.json(decisionView(c, d), 403),
    onChallenge: (c, d) => c.json(decisionView(c, d), 401),
  }),
);
app.get('/api/decision', (c) => c.json(decisionView(c, c.var.geogate)));

export default app;
