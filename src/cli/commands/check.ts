// `geogate check`: one request, decided offline under a policy file or the built-in default, with
// every reason explained ("why was this blocked?"). Flags build a /v1/check body, validated by the
// same schema as the Worker's.
import { evaluate } from '../../engine/evaluate';
import { bundledIntel } from '../../engine/intel';
import { MEMORY_SIGNALS } from '../../engine/detectors/history';
import { SIGNAL_NAMES, type SignalName } from '../../engine/types';
import { factsFromCheckRequest, parseCheckRequest, toInputIssues } from '../../facts/check-request';
import { printJson, type CliContext } from '../context';
import { ACTION_STYLE, table } from '../format';
import { CliError, EXIT } from '../io';
import { DEFAULT_POLICY_NAME, loadPolicyFile, readTextFile } from '../policy-file';
import { parseInstant } from './time';

/** Flags of `geogate check` (each maps to one field of a /v1/check body). */
export interface CheckOptions {
  request?: string;
  ip?: string;
  country?: string;
  region?: string;
  regionCode?: string;
  city?: string;
  geoTz?: string;
  asn?: string;
  asOrg?: string;
  clientTz: string[];
  utcOffset: string[];
  acceptLanguage?: string;
  clock?: string;
  userAgent?: string;
  account?: string;
  org?: string;
  ownerCountry?: string;
  surface?: string;
  policy?: string;
  now?: string;
  json?: boolean;
}

type Json = Record<string, unknown>;

function set(target: Json, key: string, value: unknown): void {
  if (value !== undefined) target[key] = value;
}

/** A number flag, or the text itself so that the schema names the field it is wrong for. */
function numberish(text: string | undefined): number | string | undefined {
  if (text === undefined) return undefined;
  const trimmed = text.replace(/^AS/i, '');
  return trimmed !== '' && Number.isFinite(Number(trimmed)) ? Number(trimmed) : text;
}

/** Memory signals: the CLI has no account memory, so they are undetermined unless it ever gets one. */
const MEMORY: ReadonlySet<SignalName> = new Set(MEMORY_SIGNALS);

const oneOrMany = <T>(xs: T[]): T | T[] | undefined => (xs.length === 0 ? undefined : xs.length === 1 ? xs[0] : xs);

/** The /v1/check body the flags describe, on top of --request's body when given. */
async function requestBody(ctx: CliContext, o: CheckOptions): Promise<Json> {
  let body: Json = {};
  if (o.request !== undefined) {
    const text = await readTextFile(ctx.io, o.request);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      throw new CliError(EXIT.INVALID, `${o.request} is not JSON: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new CliError(EXIT.INVALID, `${o.request} must hold one JSON object`);
    // An exported decision-log line carries the body in `request`.
    const record = parsed as Json;
    body = typeof record.request === 'object' && record.request !== null ? { ...(record.request as Json) } : { ...record };
  }
  const geo: Json = { ...((body.geo as Json | undefined) ?? {}) };
  set(geo, 'country', o.country);
  set(geo, 'region', o.region);
  set(geo, 'regionCode', o.regionCode);
  set(geo, 'city', o.city);
  set(geo, 'timezone', o.geoTz);
  set(geo, 'asn', numberish(o.asn));
  set(geo, 'asOrganization', o.asOrg);
  const client: Json = { ...((body.client as Json | undefined) ?? {}) };
  set(client, 'timezone', oneOrMany(o.clientTz));
  set(client, 'utcOffsetMinutes', oneOrMany(o.utcOffset.map((x) => numberish(x))));
  set(client, 'acceptLanguage', o.acceptLanguage);
  set(client, 'clock', o.clock);
  set(client, 'userAgent', o.userAgent);
  const account: Json = { ...((body.account as Json | undefined) ?? {}) };
  set(account, 'id', o.account);
  set(account, 'orgId', o.org);
  set(account, 'ownerCountry', o.ownerCountry);
  set(body, 'ip', o.ip);
  set(body, 'surface', o.surface);
  if (Object.keys(geo).length) body.geo = geo;
  if (Object.keys(client).length) body.client = client;
  if (Object.keys(account).length) body.account = account;
  return body;
}

/** "+50": what a signal reason added to the score (its points when partial, else its weight). */
function pointsOf(evidence: Readonly<Record<string, unknown>>): string {
  const points = typeof evidence.points === 'number' ? evidence.points : evidence.weight;
  return typeof points === 'number' ? `+${points}` : '';
}

/** Decides one request and explains it. Exit 0 whatever the decision; 1 for an invalid policy. */
export async function checkCommand(ctx: CliContext, o: CheckOptions): Promise<number> {
  const body = await requestBody(ctx, o);
  const parsed = parseCheckRequest(body);
  if (!parsed.success) {
    const issues = toInputIssues(parsed.error);
    throw new CliError(EXIT.INVALID, `invalid request:\n${issues.map((i) => `  ${i.path}: ${i.message}`).join('\n')}`);
  }
  const now = o.now !== undefined ? parseInstant(o.now) : ctx.io.now();
  const policy = await loadPolicyFile(ctx.io, o.policy ?? DEFAULT_POLICY_NAME);
  const decision = evaluate(policy.compiled, factsFromCheckRequest(parsed.data), now);
  const evaluatedAt = new Date(now).toISOString();
  if (o.json) {
    printJson(ctx, { ...decision, policyVersion: policy.compiled.version, intel: { version: bundledIntel().version, source: 'bundled' }, evaluatedAt, request: parsed.data });
    return EXIT.OK;
  }
  const p = ctx.paint;
  ctx.out(`${p('bold', p(ACTION_STYLE[decision.decision], decision.decision.toUpperCase()))}  ${decision.summary}`);
  ctx.out(p('dim', `policy ${policy.compiled.version} (${policy.source}), intel ${bundledIntel().version} (bundled), at ${evaluatedAt}, score ${decision.score}`));
  if (decision.reasons.length > 0) {
    ctx.out('');
    ctx.out('reasons:');
    const rows = decision.reasons.map((r) => [
      p(ACTION_STYLE[r.action], r.code),
      `rule ${r.rule}`,
      r.action,
      r.liftedBy !== undefined ? `lifted by ${r.liftedBy}` : pointsOf(r.evidence),
      r.message,
    ]);
    ctx.out(table(rows));
  }
  // The CLI has no account memory: its signals are always undetermined here, so they are not listed.
  const flagged = SIGNAL_NAMES.filter((n) => decision.signals[n] !== false && !(MEMORY.has(n) && decision.signals[n] === 'undetermined'));
  if (flagged.length > 0) {
    ctx.out('');
    ctx.out(`signals: ${flagged.map((n) => `${n}=${String(decision.signals[n])}`).join(' ')}`);
  }
  return EXIT.OK;
}
