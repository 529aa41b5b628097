// The proxy examples (examples/) hold the trust boundary: each one sends geogate the user's facts
// from the proxy's own view, never a client-sent origin-side Geogate-* header, and carries the
// check token. These are static checks of the files users copy; `npm run test:proxies` (a later
// issue) runs nginx and Caddy for real.
import { describe, expect, it } from 'vitest';
import { GEOGATE_HEADERS } from '../../src/facts/forward-headers';
import caddy from '../../examples/caddy/Caddyfile?raw';
import envoy from '../../examples/envoy/ext_authz.yaml?raw';
import nginx from '../../examples/nginx/geogate.conf?raw';
import traefik from '../../examples/traefik/dynamic.yml?raw';

/** Origin-side header names, as the proxies write them (case-insensitive in HTTP). */
const ORIGIN_SIDE = [...GEOGATE_HEADERS.map((f) => f.header), 'geogate-token'];
/** Headers only the application can know: forwarding a client's value would let it lift rules. */
const ACCOUNT = ['geogate-account-id', 'geogate-org-id', 'geogate-owner-country'];

const lines = (text: string) => text.split('\n').filter((l) => !l.trim().startsWith('#'));

describe('nginx example', () => {
  const conf = lines(nginx).join('\n').toLowerCase();
  it('forwards nothing the user sends unless listed (an allow-list)', () => {
    expect(conf).toMatch(/proxy_pass_request_headers\s+off;/);
  });
  it.each(ORIGIN_SIDE)('sets or clears %s itself', (header) => {
    expect(conf).toMatch(new RegExp(`proxy_set_header\\s+${header}\\s`));
  });
  it('sends the check token', () => {
    expect(conf).toMatch(/proxy_set_header\s+authorization\s+"bearer /);
  });
  it('shows the challenge page only for a challenge decision', () => {
    expect(conf).toMatch(/error_page 401 = @geogate_challenge/);
    expect(conf).toMatch(/if \(\$geogate_decision != "challenge"\) \{ return 500; \}/);
  });
});

describe('Caddy example', () => {
  const conf = lines(caddy).join('\n').toLowerCase();
  it.each(ORIGIN_SIDE)('sets or clears %s itself', (header) => {
    expect(conf).toMatch(new RegExp(`header_up\\s+${header}\\s`));
  });
  it('sends the check token', () => {
    expect(conf).toMatch(/header_up authorization "bearer \{env\.geogate_check_token\}"/);
  });
});

describe('Traefik example', () => {
  const conf = lines(traefik).join('\n').toLowerCase();
  const allowed = [...conf.matchAll(/^\s+- "([^"]+)"$/gm)].map((m) => m[1]);
  it('forwards the token and strips it before the app', () => {
    expect(allowed).toContain('geogate-token');
    expect(conf).toMatch(/geogate-strip:\s+headers:\s+customrequestheaders:\s+geogate-token: ""/);
    expect(conf).toMatch(/middlewares: \["geogate-token", "geogate", "geogate-strip"\]/);
  });
  it.each(ACCOUNT)('never forwards a client-sent %s', (header) => {
    expect(allowed).not.toContain(header);
  });
});

describe('Envoy example', () => {
  const conf = lines(envoy).join('\n').toLowerCase();
  const allowed = [...conf.matchAll(/\{ exact: ([a-z-]+) \}/g)].map((m) => m[1]);
  it('adds the check token', () => {
    expect(conf).toMatch(/key: authorization, value: "bearer /);
    expect(conf).toMatch(/failure_mode_allow: false/);
  });
  it.each(ACCOUNT)('never forwards a client-sent %s', (header) => {
    expect(allowed).not.toContain(header);
  });
});
