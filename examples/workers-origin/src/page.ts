// The sample's page: one HTML document and its module script. The script wraps fetch with
// geogate/browser, calls the guarded API route and shows the decision it answers; it loads nothing
// from any other origin (the Content-Security-Policy says so).

/** The page: a status line and the decision as JSON, filled in by {@link PAGE_SCRIPT}. */
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>geogate: Workers origin example</title>
<script type="module" src="/app.js"></script>
</head>
<body>
<h1>geogate decision for this browser</h1>
<p id="status">Asking…</p>
<pre id="decision"></pre>
</body>
</html>
`;

/**
 * The page's script: the app's own fetch, wrapped (window.fetch stays as it is). It publishes the
 * answer on `#decision` (JSON) and its HTTP status on `#decision[data-status]`.
 */
export const PAGE_SCRIPT = `// #region readme
import { withGeogate } from '/geogate-browser.js'; // dist/lib/browser.js, as geogate/browser ships it

const api = withGeogate(); // a fetch adding the Geogate-Client-* headers; window.fetch is untouched
const answer = api('/api/decision'); // this origin's route, guarded by geogate/hono
// #endregion
const status = document.getElementById('status');
const out = document.getElementById('decision');
try {
  const res = await answer;
  const body = await res.json();
  status.textContent = body.decision + ': ' + body.summary;
  out.textContent = JSON.stringify(body, null, 2);
  out.dataset.status = String(res.status);
} catch (error) {
  status.textContent = 'The decision could not be read: ' + error;
  out.dataset.status = 'error';
}
`;

/** Same-origin scripts only: nothing inline, nothing from elsewhere. */
export const PAGE_CSP = "default-src 'none'; script-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
