// Hostile input on the RPC entrypoint (AccessCheck.check, Workers RPC): any structured-clone value
// (what RPC can carry and JSON cannot: NaN, Infinity, -0, undefined, BigInt, Date, Map, Set, typed
// arrays, sparse arrays, null-prototype and boxed values, own "__proto__" keys) answers a
// decision or the INVALID_REQUEST value and never throws; RPC answers what POST /v1/check answers
// for the same JSON; a hostile JS value added to a realistic request never makes it more
// permissive. Most cases call the entrypoint class in this isolate on a structured clone of the
// input (what RPC delivers); a sample goes through the real service binding (GEOGATE) and the
// RPC_ORIGIN fixture Worker.
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { AccessCheck, type AccessCheckResult } from '../../src/rpc/access-check';
import { compile } from '../helpers';
import {
  appAnswer, checkRequest, decisionOf, essentials, expectNoPollution, FUZZ_POLICIES, fuzz, pinClock, quietFile, send, severityOfCheck, Tally, underPolicy, usePolicy,
  type Answer, type DecisionView,
} from './harness';
import { asList, hostileStringArb, hostileZoneArb, setAt, writeJson, type Body } from './hostile';
import { baseArb, variantArb } from './variants';

type Geogate = { check(input: unknown): Promise<AccessCheckResult> };
const bindings = env as unknown as { GEOGATE: Geogate; RPC_ORIGIN: Fetcher };

/** Thrown by the caller's runtime when it cannot serialise the input (RPC would throw the same at the caller, before geogate runs). */
class NotSerialisable extends Error {}

/** Calls the entrypoint as RPC would: on a structured clone of the input, in a fresh context. */
async function rpcCheck(input: unknown): Promise<AccessCheckResult> {
  let clone: unknown;
  try {
    clone = structuredClone(input);
  } catch (e) {
    throw new NotSerialisable(String(e), { cause: e });
  }
  const ctx = createExecutionContext();
  const result = await new AccessCheck(ctx, env).check(clone as never);
  await waitOnExecutionContext(ctx);
  return result;
}

/** The RPC answer as the harness reads an HTTP one: a decision (200) or the INVALID_REQUEST value (400). */
function asAnswer(result: AccessCheckResult): Answer {
  const json = JSON.parse(JSON.stringify(result)) as unknown;
  const isError = typeof result === 'object' && result !== null && 'error' in result;
  if (isError) {
    const error = (result as { error: { code: unknown; message: unknown; issues: unknown } }).error;
    expect(error.code).toBe('INVALID_REQUEST');
    expect(typeof error.message).toBe('string');
    expect(Array.isArray(error.issues)).toBe(true);
    expect(Object.keys(result)).toEqual(['error']);
  }
  return { status: isError ? 400 : 200, json, headers: new Headers(), text: JSON.stringify(result).slice(0, 2000) };
}

function issuesOf(json: unknown): string[] {
  return ((json as { error: { issues: { path: string; code: string }[] } }).error.issues ?? []).map((i) => `${i.path}:${i.code}`).sort();
}

/** JS values RPC carries and JSON does not, and JSON values too. */
const jsValueArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.anything({ maxDepth: 3, withBigInt: true, withBoxedValues: true, withDate: true, withMap: true, withSet: true, withNullPrototype: true, withObjectString: true, withSparseArray: true, withTypedArray: true, withUnicodeString: true }) },
  { weight: 2, arbitrary: fc.constantFrom<unknown>(Number.NaN, Infinity, -Infinity, -0, undefined, null, 0n, 10n ** 30n, true, '', 480, '480') },
  { weight: 1, arbitrary: fc.constant(null).map(() => [new Date(Number.NaN), new Date(8.64e15), /Asia\/Shanghai/g, new ArrayBuffer(8), new Uint16Array([480]), new Error('x'), new String('Asia/Shanghai'), new Number(480)]) },
  { weight: 1, arbitrary: fc.constant(null).map(() => JSON.parse('{"__proto__":{"polluted":true},"timezone":"Asia/Shanghai"}') as unknown) },
  { weight: 1, arbitrary: fc.integer({ min: 100_000, max: 1_000_000 }).map((n) => 'Asia/Shanghai '.repeat(Math.ceil(n / 14)).slice(0, n)) },
  { weight: 1, arbitrary: fc.integer({ min: 10, max: 2000 }).map((n) => { let v: unknown = 'Asia/Shanghai'; for (let i = 0; i < n; i++) v = [v]; return v; }) },
);

quietFile();

describe('AccessCheck.check under the default policy', () => {
  const bind = compile(FUZZ_POLICIES.default).challenge.bind;
  underPolicy(FUZZ_POLICIES.default);

  it('any structured-clone value, whole or in any field, answers a decision or INVALID_REQUEST and never throws', async ({ task }) => {
    const tally = new Tally();
    const paths = ['(whole)', 'ip', 'geo', 'client', 'account', 'surface', 'requestId', 'clearance', 'geo.country', 'geo.asn', 'geo.latitude', 'client.timezone', 'client.utcOffsetMinutes', 'client.clock', 'client.acceptLanguage', 'client.userAgent', 'client.deviceId', 'account.id', 'account.orgId'];
    const cases = fc.tuple(baseArb, fc.constantFrom(...paths), jsValueArb);
    await fuzz(task, 'rpc.values', cases, async ([[now, base], path, value]) => {
      pinClock(now);
      let input: unknown = value;
      if (path !== '(whole)') {
        const body: Body = { ...base };
        setAt(body, path, value);
        input = body;
      }
      let result: AccessCheckResult;
      try {
        structuredClone(input);
      } catch {
        tally.add('not-cloneable');
        return;
      }
      try {
        result = await rpcCheck(input);
      } catch (e) {
        throw new Error(`AccessCheck.check threw for ${path}: ${String(e)}`, { cause: e });
      }
      const answer = asAnswer(result);
      tally.add(`${path === '(whole)' ? 'whole' : 'field'}:${answer.status}`);
      if (answer.status === 200) decisionOf(answer);
      expectNoPollution();
    }, tally);
    expect(tally.get('field:200'), tally.toString()).toBeGreaterThan(0);
    expect(tally.get('field:400'), tally.toString()).toBeGreaterThan(0);
  });

  it('answers what POST /v1/check answers for the same JSON (hostile variants included)', async ({ task }) => {
    const tally = new Tally();
    const cases = baseArb.chain(([now, base]) => fc.tuple(fc.constant(now), fc.constant(base), variantArb(base, now, bind)));
    await fuzz(task, 'rpc.parity', cases, async ([now, base, variant]) => {
      pinClock(now);
      const built = await variant.build(base, now);
      if (built.value === undefined) {
        tally.add('http-only');
        return;
      }
      const http = await appAnswer(await send(checkRequest(built.body)));
      if (http.status === 413) {
        tally.add('http-too-large');
        return;
      }
      let result: AccessCheckResult;
      try {
        result = await rpcCheck(built.value);
      } catch (e) {
        // 20,000 levels of nesting: V8's serialiser overflows its stack at the caller (RangeError).
        if (!(e instanceof NotSerialisable)) throw e;
        expect(e.message, variant.detail).toMatch(/Maximum call stack|could not be cloned/);
        tally.add('not-serialisable');
        return;
      }
      const rpc = asAnswer(result);
      const context = `${variant.kind} (${variant.detail}): HTTP ${http.status} ${http.text.slice(0, 200)} / RPC ${rpc.text.slice(0, 200)}`;
      tally.add(`${variant.kind}:${http.status}`);
      expect(rpc.status, context).toBe(http.status);
      if (http.status === 200) expect(essentials(rpc.json as DecisionView), context).toEqual(essentials(http.json as DecisionView));
      else expect(issuesOf(rpc.json), context).toEqual(issuesOf(http.json));
    }, tally);
  });

  it('a hostile JS value added to a realistic request never makes it more permissive', async ({ task }) => {
    const tally = new Tally();
    /** What RPC lets an origin add that JSON cannot say, each with what it must do. */
    const additions = fc.oneof(
      fc.tuple(fc.constantFrom('timezone', 'utcOffsetMinutes', 'clock', 'acceptLanguage', 'deviceId'), fc.array(fc.oneof({ weight: 1, arbitrary: jsValueArb }, { weight: 3, arbitrary: hostileZoneArb }, { weight: 2, arbitrary: hostileStringArb }, { weight: 1, arbitrary: fc.constantFrom<unknown>(Number.NaN, Infinity, -0, 1e308, undefined) }), { minLength: 1, maxLength: 3 })).map(([field, extra]) => ({
        kind: `extra-${field}`,
        apply: (b: Body) => ({ ...b, client: { ...((b.client ?? {})), [field]: [...asList(((b.client ?? {}) as Record<string, unknown>)[field]), ...extra] } }),
      })),
      fc.constantFrom('client', 'geo', 'account').map((field) => ({
        kind: `null-prototype-${field}`,
        apply: (b: Body) => (b[field] === undefined ? b : { ...b, [field]: Object.assign(Object.create(null) as object, b[field]) }),
      })),
      fc.constant({
        // Known fields present with the value undefined (RPC keeps them; JSON would drop them): absent.
        kind: 'undefined-members',
        apply: (b: Body) => {
          const client = (b.client ?? {}) as Record<string, unknown>;
          const geo = (b.geo ?? {}) as Record<string, unknown>;
          return {
            requestId: undefined,
            clearance: undefined,
            ...b,
            geo: { city: undefined, region: undefined, ...geo },
            client: { userAgent: undefined, deviceId: undefined, clock: undefined, ...client },
          };
        },
      }),
      fc.constantFrom('timezone', 'clock').map((field) => ({
        kind: `sparse-${field}`,
        apply: (b: Body) => {
          const claims = asList(((b.client ?? {}) as Record<string, unknown>)[field]);
          const sparse: unknown[] = new Array(claims.length + 2);
          claims.forEach((c, i) => (sparse[i + 2] = c));
          return { ...b, client: { ...((b.client ?? {})), [field]: sparse } };
        },
      })),
      fc.constantFrom('client', 'geo', 'account').map((field) => ({
        // The same members in a Map (or a Date or Set holding nothing readable): what an origin
        // might pass by mistake. Never read as an empty object that drops its claims or its place.
        kind: `map-${field}`,
        apply: (b: Body) => (b[field] === undefined ? b : { ...b, [field]: new Map(Object.entries(b[field] as object)) }),
      })),
    );
    // Was KNOWN: a Map in place of `geo`, `client` or `account` read as an empty object (dropping a
    // place, claims or an owner); parseCheckRequest now refuses objects that are not plain.
    const cases = fc.tuple(baseArb, additions);
    await fuzz(task, 'rpc.differential', cases, async ([[now, base], addition]) => {
      pinClock(now);
      const before = asAnswer(await rpcCheck(base));
      const baseDecision = decisionOf(before);
      expect(baseDecision, before.text.slice(0, 300)).toBeDefined();
      const hostile = addition.apply(base);
      const after = asAnswer(await rpcCheck(hostile));
      const context = `${addition.kind} at ${new Date(now).toISOString()} on ${writeJson(base).slice(0, 300)}: ${baseDecision?.decision} -> ${after.text.slice(0, 300)}`;
      tally.add(`${addition.kind}:${after.status === 200 ? (after.json as DecisionView).decision : after.status}`);
      expect(severityOfCheck(after), context).toBeGreaterThanOrEqual(severityOfCheck(before));
      if (addition.kind.startsWith('null-prototype') || addition.kind.startsWith('undefined-members')) expect(essentials(decisionOf(after) as DecisionView), context).toEqual(essentials(baseDecision as DecisionView));
      // A Map where an object belongs is refused, never read as an empty object.
      if (addition.kind.startsWith('map-') && base[addition.kind.slice(4)] !== undefined) expect(after.status, context).toBe(400);
    }, tally);
  });
});

describe('through the real service binding (GEOGATE) and an origin Worker (RPC_ORIGIN)', () => {
  beforeAll(() => usePolicy(FUZZ_POLICIES.default));

  /** What the caller's runtime may refuse to send: these throw at the caller, before geogate runs. */
  const SERIALISATION = /serializ|DataCloneError|Maximum call stack|could not be cloned|not.*cloneable/i;

  it('answers a decision or INVALID_REQUEST; only the runtime refuses what it cannot serialise', async ({ task }) => {
    const tally = new Tally();
    const inputs = fc.oneof(
      { weight: 4, arbitrary: fc.tuple(baseArb, jsValueArb).map(([[, base], v]) => ({ ...base, client: { ...((base.client ?? {})), timezone: v } })) },
      { weight: 1, arbitrary: jsValueArb },
      { weight: 1, arbitrary: fc.constantFrom<unknown>(() => 'Asia/Shanghai', { client: { timezone: () => 1 } }, { client: { timezone: Symbol('x') } }, { geo: { country: 'US' }, toJSON: () => ({}) }) },
      {
        weight: 1,
        arbitrary: fc.constant(null).map(() => {
          let v: unknown = 'x';
          for (let i = 0; i < 20_000; i++) v = [v];
          // fast-check would print a counterexample by recursing 20,000 levels deep.
          return Object.defineProperty({ client: { timezone: v } }, fc.toStringMethod, { value: () => '{ client: { timezone: 20,000 nested arrays } }' });
        }),
      },
    );
    await fuzz(task, 'rpc.binding', fc.tuple(inputs, fc.integer({ min: 0, max: 4 })), async ([input, route]) => {
      if (route === 0) {
        // Through a customer's Worker: JSON in, the RPC answer out.
        let text: string;
        try {
          text = JSON.stringify({ method: 'check', input });
        } catch {
          tally.add('origin:not-json');
          return;
        }
        if (text === undefined) return;
        const res = await bindings.RPC_ORIGIN.fetch('https://origin.test/', { method: 'POST', body: text });
        const body = await res.json<{ result?: AccessCheckResult; thrown?: { name: string; message: string } }>();
        if (body.thrown !== undefined) {
          // The origin Worker's runtime could not serialise the input for the call (it threw there).
          expect(`${body.thrown.name}: ${body.thrown.message}`, 'only a serialisation error may come back as a throw').toMatch(SERIALISATION);
          tally.add('origin:runtime-refused');
          return;
        }
        const answer = asAnswer(body.result as AccessCheckResult);
        if (answer.status === 200) decisionOf(answer);
        tally.add(`origin:${answer.status}`);
        return;
      }
      let result: AccessCheckResult;
      try {
        result = await bindings.GEOGATE.check(input);
      } catch (e) {
        expect(String(e), 'only a serialisation error may come back as a throw').toMatch(SERIALISATION);
        tally.add(`runtime-refused:${String(e).slice(0, 60)}`);
        return;
      }
      const answer = asAnswer(result);
      if (answer.status === 200) decisionOf(answer);
      tally.add(`binding:${answer.status}`);
    }, tally);
    expect(tally.get('binding:200') + tally.get('binding:400'), tally.toString()).toBeGreaterThan(0);
  });
});
