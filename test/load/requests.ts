// The load suite's requests as they go on the wire: a case or a malformed request, sent on one
// surface, with what its answer must be. Shared by the driver (every request) and the test
// (priming: each case on each surface once before the load).
import { CASES, MALFORMED, OUTCOME_SHARE, SURFACE_SHARE, SURFACES, bodyFor, headersFor, type Case, type Clearances, type Malformed, type Outcome, type Surface } from './mix';

/** One request: where it goes and what it must get. */
export interface LoadRequest {
  readonly surface: Surface;
  readonly outcome: Outcome;
  /** The case's or the malformed request's name. */
  readonly name: string;
  /** A standing reason code the answer must carry. */
  readonly reason: string | undefined;
  /** geogate's socket, or the caller Worker's (rpc). */
  readonly target: 'geogate' | 'caller';
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: string | undefined;
  /** The case names an account. */
  readonly account: boolean;
}

/** What the requests need from the run. */
export interface RequestContext {
  readonly checkToken: string;
  readonly clearances: Clearances;
  readonly random: () => number;
}

/** `case` sent on `surface` for account `k`. */
export function caseRequest(surface: Surface, c: Case, k: number, ctx: RequestContext): LoadRequest {
  const body = bodyFor(c, k, ctx.random, ctx.clearances, Date.now());
  const common = { surface, outcome: c.outcome, name: c.name, reason: c.reason, account: c.accounts > 0 };
  switch (surface) {
    case 'check':
      return { ...common, target: 'geogate', method: 'POST', path: '/v1/check', headers: { authorization: `Bearer ${ctx.checkToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body) };
    case 'authorize':
      return { ...common, target: 'geogate', method: 'GET', path: '/v1/authorize', headers: { authorization: `Bearer ${ctx.checkToken}`, ...headersFor(body) }, body: undefined };
    case 'rpc':
      return { ...common, target: 'caller', method: 'POST', path: '/', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ method: 'check', input: body }) };
  }
}

/** A malformed request of its surface. */
export function malformedRequest(m: Malformed, ctx: RequestContext): LoadRequest {
  const common = { surface: m.surface, outcome: 'invalid' as const, name: m.name, reason: undefined, account: false };
  switch (m.surface) {
    case 'check':
      return { ...common, target: 'geogate', method: 'POST', path: '/v1/check', headers: { authorization: `Bearer ${ctx.checkToken}`, 'content-type': 'application/json' }, body: m.body };
    case 'authorize':
      return { ...common, target: 'geogate', method: 'GET', path: '/v1/authorize', headers: { authorization: `Bearer ${ctx.checkToken}`, ...m.headers }, body: undefined };
    case 'rpc':
      return { ...common, target: 'caller', method: 'POST', path: '/', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ method: 'check', input: m.input }) };
  }
}

/** Draws from `weights` (summing to 1). */
function draw<K extends string>(weights: Readonly<Partial<Record<K, number>>>, random: () => number): K {
  const keys = Object.keys(weights) as K[];
  let x = random();
  for (const k of keys) {
    x -= weights[k] ?? 0;
    if (x < 0) return k;
  }
  return keys[keys.length - 1] as K;
}

/**
 * LOAD_CASES (diagnosis only): a regular expression; only the cases and malformed requests whose
 * names match are sent, the shares renormalised over what is left. The test's assertions expect
 * the whole mix (every outcome on every surface), so a filtered run fails them by design: it is a
 * way to find which traffic a problem comes from, not a way to pass.
 */
const only = process.env.LOAD_CASES ? new RegExp(process.env.LOAD_CASES) : undefined;
const selected = <T extends { name: string }>(list: readonly T[]) => (only === undefined ? list : list.filter((x) => only.test(x.name)));

const casesByOutcome = new Map<Outcome, Case[]>();
for (const c of selected(CASES)) casesByOutcome.set(c.outcome, [...(casesByOutcome.get(c.outcome) ?? []), c]);
const malformedBySurface = new Map<Surface, Malformed[]>();
for (const m of selected(MALFORMED)) malformedBySurface.set(m.surface, [...(malformedBySurface.get(m.surface) ?? []), m]);

/** The outcome shares over the outcomes that have something to send on `surface`. */
const sharesOn = (surface: Surface): Partial<Record<Outcome, number>> => {
  const present = (Object.keys(OUTCOME_SHARE) as Outcome[]).filter((o) => (o === 'invalid' ? (malformedBySurface.get(surface)?.length ?? 0) > 0 : casesByOutcome.has(o)));
  const total = present.reduce((a, o) => a + OUTCOME_SHARE[o], 0);
  return Object.fromEntries(present.map((o) => [o, OUTCOME_SHARE[o] / total]));
};
const OUTCOME_SHARE_ON = Object.fromEntries(SURFACES.map((s) => [s, sharesOn(s)])) as Record<Surface, Partial<Record<Outcome, number>>>;

const pick = <T>(list: readonly T[], random: () => number): T => list[Math.floor(random() * list.length)] as T;

/** The next request of the mix: a surface, an outcome, a case of that outcome and one of its accounts. */
export function nextRequest(ctx: RequestContext): LoadRequest {
  const surface = draw(SURFACE_SHARE, ctx.random);
  const outcome = draw(OUTCOME_SHARE_ON[surface], ctx.random);
  if (outcome === 'invalid') return malformedRequest(pick(malformedBySurface.get(surface) ?? [], ctx.random), ctx);
  const c = pick(casesByOutcome.get(outcome) ?? [], ctx.random);
  return caseRequest(surface, c, Math.floor(ctx.random() * Math.max(1, c.accounts)), ctx);
}

/** Every case on every surface (account 0) and every malformed request, once: the priming round. */
export function everyRequest(ctx: RequestContext): LoadRequest[] {
  return [...SURFACES.flatMap((s) => selected(CASES).map((c) => caseRequest(s, c, 0, ctx))), ...selected(MALFORMED).map((m) => malformedRequest(m, ctx))];
}
