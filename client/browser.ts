// geogate/browser: adds the client's time-zone claims (Geogate-Client-Timezone, -UTC-Offset and
// -Clock) to the app's own fetch calls. Opt-in: it wraps a fetch the app chooses to call and never
// patches the global one. Same-origin only unless origins are listed: a custom header on a
// cross-origin request costs a CORS preflight and hands the user's time zone to a third party.
// Zero dependencies; built minified to dist/lib/browser.js, budget 1 KiB (a test holds it to it).

/** The headers the snippet sets (lower-case, as geogate's src/facts/forward-headers.ts reads them). */
export const GEOGATE_CLIENT_HEADERS = {
  timezone: 'geogate-client-timezone',
  utcOffset: 'geogate-client-utc-offset',
  clock: 'geogate-client-clock',
} as const;

/** Options of {@link withGeogate}. */
export interface WithGeogateOptions {
  /**
   * Other origins whose requests also get the headers (`"https://api.example.com"`; a full URL is
   * reduced to its origin). Each must answer CORS preflights allowing the three headers.
   * @default [] (the page's own origin only)
   */
  origins?: readonly string[];
}

const pad = (n: number) => String(n).padStart(2, '0');

/**
 * The three claims for the instant `now`, as geogate reads them:
 * - `geogate-client-timezone`: the IANA zone the browser runs in (`Asia/Shanghai`); left out when
 *   the browser reports none;
 * - `geogate-client-utc-offset`: the UTC offset in minutes EAST of UTC (`480`; `-300` for New
 *   York in winter), i.e. the negated `getTimezoneOffset()`;
 * - `geogate-client-clock`: the local time as ISO-8601 with that offset
 *   (`2026-11-26T20:00:00.000+08:00`): geogate reads both the instant and the offset in it.
 *
 * @param now The instant to describe.
 * @default now: the current time
 * @example
 * ```ts
 * const xhr = new XMLHttpRequest();
 * xhr.open('GET', '/api/me');
 * for (const [name, value] of Object.entries(geogateHeaders())) xhr.setRequestHeader(name, value);
 * ```
 */
export function geogateHeaders(now: Date = new Date()): Record<string, string> {
  const east = -now.getTimezoneOffset();
  const abs = Math.abs(east);
  const headers: Record<string, string> = {
    [GEOGATE_CLIENT_HEADERS.utcOffset]: String(east),
    // The local wall time: the instant shifted by the offset, printed as if it were UTC.
    [GEOGATE_CLIENT_HEADERS.clock]: new Date(now.getTime() + east * 60_000).toISOString().slice(0, -1) + (east < 0 ? '-' : '+') + pad(Math.floor(abs / 60)) + ':' + pad(abs % 60),
  };
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone as string | undefined;
  if (zone) headers[GEOGATE_CLIENT_HEADERS.timezone] = zone;
  return headers;
}

/**
 * Wraps `fetch` so that requests to the page's own origin (and to `options.origins`) carry
 * geogate's client headers, computed at each call. Headers the app already set on the request are
 * kept as they are; other requests pass through untouched. Takes every form `fetch` takes: a URL
 * string (relative ones against the page), a `URL`, a `Request`, and headers as a `Headers`, an
 * object or a list of pairs.
 *
 * @param fetchFn The fetch to wrap.
 * @default fetchFn: the global `fetch`, looked up at each call
 * @param options See {@link WithGeogateOptions}.
 * @example
 * ```ts
 * import { withGeogate } from 'geogate/browser';
 * const api = withGeogate();
 * const res = await api('/api/orders', { method: 'POST', body: JSON.stringify(order) });
 * ```
 */
export function withGeogate(fetchFn?: typeof fetch, options: WithGeogateOptions = {}): typeof fetch {
  const global = globalThis as { location?: { href: string; origin: string }; document?: { baseURI: string } };
  const allowed = (options.origins ?? []).map((o) => new URL(o).origin);
  return (input, init) => {
    const page = global.location;
    // Resolved as fetch resolves it: against the document's base URL (a <base href> counts).
    const url = new URL(input instanceof Request ? input.url : String(input), global.document?.baseURI ?? page?.href);
    if (url.origin === page?.origin || allowed.includes(url.origin)) {
      // As fetch does: init.headers, when given, replace the Request's own headers.
      const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
      for (const [name, value] of Object.entries(geogateHeaders())) if (!headers.has(name)) headers.set(name, value);
      init = { ...init, headers };
    }
    return (fetchFn ?? fetch)(input, init);
  };
}
