// The policy format: the single source of truth for what a policy document may say.
// Strict everywhere (an unknown or misspelt field is an error, never silently ignored) and
// cross-checked (unique rule ids, liftDeny targets that exist, denyAt >= challengeAt), so that
// a policy that parses is a policy the engine can compile. Documented in docs/policy.md.
import * as z from 'zod';
import { isIsoCountry, isRegionCode, TOR_COUNTRY } from '../engine/countries';
import { CidrSet } from '../engine/ip';
import { BUILTIN_LIST_NAMES, isBuiltinList, RULE_LIST_KINDS, type ListKind } from '../engine/lists';
import { HISTORY_MODES, MAX_DISTINCT_THRESHOLD } from '../engine/history';
import { DECISION_LOG_FIELDS, FAIL_MODES, RULE_MODES, type NetworkSetSpec, type PolicySpec } from '../engine/policy';
import { SIGNAL_NAMES } from '../engine/types';
import { CLEARABLE_CODES, TURNSTILE_KIND } from '../engine/clearance';
import { checkPolicySize, type SizeProblem } from './limits';

const countryCode = z
  .string()
  .toUpperCase()
  .refine((c) => isIsoCountry(c), { error: 'not an ISO 3166-1 alpha-2 country code' });

const countryOrTor = z
  .string()
  .toUpperCase()
  .refine((c) => c === TOR_COUNTRY || isIsoCountry(c), {
    error: 'not an ISO 3166-1 alpha-2 country code (or T1 for Tor)',
  });

const regionCode = z
  .string()
  .toUpperCase()
  .refine(isRegionCode, {
    error: 'not an ISO 3166-2 subdivision code such as "UA-43"',
  });

const asn = z.int().min(0).max(4_294_967_295);
/**
 * A list of CIDR blocks, parsed once: CidrSet.tryFrom validates and builds the set in one pass
 * (and keeps it for compile), so a list of 60,000 blocks costs milliseconds, not seconds.
 */
const cidrList = z.array(z.string()).superRefine((list, ctx) => {
  const r = CidrSet.tryFrom(list);
  if (r.ok) return;
  for (const i of r.invalid.slice(0, 20)) {
    ctx.addIssue({ code: 'custom', path: [i], message: 'not a CIDR block such as "192.0.2.0/24" or "2001:db8::/32"' });
  }
});
const ruleId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'use 1-64 lower-case letters, digits, ".", "_" or "-"');
/** A named list's name (also the last segment of its admin URL, /v1/lists/{name}). */
export const ListNameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'use 1-64 lower-case letters, digits, ".", "_" or "-"');
/** Lists a rule names: checked against the stored lists by {@link parsePolicy}. */
const listRefs = z.array(ListNameSchema).max(100).default([]);
/** The pattern of a surface name (also read by the check request's fast path). */
export const SURFACE_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;
/** Surface names are lower-case words such as "web" or "api". */
export const surfaceName = z.string().regex(SURFACE_NAME, 'use 1-32 lower-case letters, digits, "_" or "-"');

const restrictiveAction = z.enum(['deny', 'challenge']);
const anyAction = z.enum(['allow', 'challenge', 'deny']);

const ruleBase = {
  id: ruleId,
  description: z.string().max(500).optional(),
  /** When present, the rule applies only to requests whose `surface` is listed. */
  surfaces: z.array(surfaceName).optional(),
  /** `dry-run`: evaluated and reported in `dryRun`, never deciding. Absent means `enforce`. */
  mode: z.enum(RULE_MODES).optional(),
};
/** Only allow-exceptions may say which denies they lift; challenges are always lifted. */
const liftDeny = z.array(z.string()).optional();

const countryRule = z.strictObject({
  ...ruleBase,
  type: z.literal('country'),
  action: restrictiveAction,
  countries: z.array(countryOrTor),
});
const countryAllowlistRule = z.strictObject({
  ...ruleBase,
  type: z.literal('country-allowlist'),
  action: restrictiveAction,
  /** Countries that are NOT hit by the rule: every other known country is. */
  countries: z.array(countryOrTor),
});
const regionRule = z.strictObject({
  ...ruleBase,
  type: z.literal('region'),
  action: restrictiveAction,
  regions: z.array(regionCode),
});
const ownerCountryRule = z.strictObject({
  ...ruleBase,
  type: z.literal('owner-country'),
  action: restrictiveAction,
  countries: z.array(countryCode),
  /** Named `org-owner` lists. */
  lists: listRefs,
});
const asnRule = z.strictObject({
  ...ruleBase,
  type: z.literal('asn'),
  action: anyAction,
  asns: z.array(asn).default([]),
  /** Built-in lists (x4b-vpn, x4b-datacenter) and named `asn` lists. */
  lists: listRefs,
  liftDeny,
});
const cidrRule = z.strictObject({
  ...ruleBase,
  type: z.literal('cidr'),
  action: anyAction,
  cidrs: cidrList.default([]),
  /** Named `cidr` lists. */
  lists: listRefs,
  liftDeny,
});
const accountRule = z.strictObject({
  ...ruleBase,
  type: z.literal('account'),
  action: anyAction,
  accounts: z.array(z.string().min(1).max(256)).default([]),
  orgs: z.array(z.string().min(1).max(256)).default([]),
  /** Named `account` and `org` lists. */
  lists: listRefs,
  liftDeny,
});

const rule = z.discriminatedUnion('type', [
  countryRule,
  countryAllowlistRule,
  regionRule,
  ownerCountryRule,
  asnRule,
  cidrRule,
  accountRule,
]);

/** Built-in lists (the intel's categories) and named `asn` / `cidr` lists a network set takes. */
const NETWORK_LIST_KINDS = ['asn', 'cidr'] as const satisfies readonly ListKind[];

const networkSet = z.strictObject({
  asns: z.array(asn).default([]),
  /** Built-in lists and named `asn` / `cidr` lists: checked against the stored lists by {@link parsePolicy}. */
  lists: listRefs,
  cidrs: cidrList.default([]),
});

/** A name of the policy's own network category, reported in NETWORK_LISTED's evidence. */
const networkCategoryName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'use 1-32 lower-case letters, digits, "_" or "-"');

const weight = z.number().min(0).max(1000);
const weights = z.strictObject(
  Object.fromEntries(SIGNAL_NAMES.map((n) => [n, weight.optional()])) as Record<
    (typeof SIGNAL_NAMES)[number],
    z.ZodOptional<typeof weight>
  >,
);
// Thresholds are positive: a score of 0 (no suspicious signal) must never challenge or deny.
const threshold = z.number().positive().max(100_000);

const surfaceSettings = z.strictObject({
  /** Replaces the listed weights for this surface; unlisted weights keep the top-level value. */
  weights: weights.optional(),
  challengeAt: threshold.optional(),
  denyAt: threshold.optional(),
});

const distinctThreshold = z.int().min(2).max(MAX_DISTINCT_THRESHOLD);

/** Account and organisation memory (docs/policy.md, "Account memory"). Every field has a default. */
const historySettings = z
  .strictObject({
    /** `async` (default): never wait for the objects; `sync`: wait up to syncBudgetMs; `off`. */
    mode: z.enum(HISTORY_MODES).default('async'),
    /** When the memory a sync check waited for failed: judge without it, or challenge (MEMORY_UNAVAILABLE). */
    unavailable: z.enum(['ignore', 'challenge']).default('ignore'),
    syncBudgetMs: z.int().min(1).max(5000).default(50),
    cacheTtlSeconds: z.int().min(1).max(3600).default(300),
    fanout: z
      .strictObject({
        windowSeconds: z.int().min(60).max(3600).default(600),
        networks: distinctThreshold.default(8),
        asns: distinctThreshold.default(5),
        countries: distinctThreshold.default(3),
        timezones: distinctThreshold.default(3),
        devices: distinctThreshold.default(5),
      })
      .prefault({}),
    signature: z
      .strictObject({ windowSeconds: z.int().min(10).max(600).default(60), requests: z.int().min(2).max(100_000).default(30) })
      .prefault({}),
    travel: z.strictObject({ maxKmh: z.number().min(100).max(5000).default(1000), minKm: z.number().min(0).max(5000).default(500) }).prefault({}),
    restrictedDays: z.int().min(1).max(365).default(30),
    org: z
      .strictObject({
        windowDays: z.int().min(1).max(365).default(30),
        minShare: z.number().gt(0).max(1).default(0.3),
        minAccounts: z.int().min(1).max(10_000).default(3),
      })
      .prefault({}),
  })
  .prefault({});

/** A relay fingerprint: an exact value, or a prefix when it ends in `*`. */
const fingerprintPattern = z
  .string()
  .min(1)
  .max(512)
  .refine((p) => p !== '*', { error: 'a lone "*" would match everything' });

const fingerprints = z
  .strictObject({
    userAgents: z.array(fingerprintPattern).max(1000).default([]),
    devices: z.array(fingerprintPattern).max(1000).default([]),
    /** Named `user-agent` and `device` lists. */
    lists: listRefs,
  })
  .prefault({});

/** A challenge kind: `turnstile`, `step-up`, or the origin's own name for another check. */
const challengeKind = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,31}$/, 'use 1-32 lower-case letters, digits or "-", starting with a letter');

const uniqueKinds = z
  .array(challengeKind)
  .min(1)
  .max(16)
  .refine((k) => new Set(k).size === k.length, { error: 'names a kind twice' });

const clearableCode = z.enum(CLEARABLE_CODES, { error: 'not a reason code that can challenge (see docs/policy.md, "Challenges")' });

/** Challenges: the kinds the origin can present, and the clearances that resolve them. */
const challengeSettings = z
  .strictObject({
    /** The kinds the origin supports, most preferred first. */
    kinds: uniqueKinds.default([TURNSTILE_KIND]),
    /**
     * Other orders for particular reasons, first match wins: a challenge with any of `reasons`
     * offers `kinds` instead (e.g. step-up first when the facts point to mainland China, where
     * Turnstile does not load).
     */
    offers: z
      .array(z.strictObject({ reasons: z.array(clearableCode).min(1).max(64), kinds: uniqueKinds }))
      .max(16)
      .default([]),
    /** How long a challenge (its ticket) may be answered, in seconds. */
    expiresInSeconds: z.int().min(30).max(86_400).default(600),
    /** How long a clearance lifts the challenges it cleared, in seconds. */
    clearanceTtlSeconds: z.int().min(60).max(604_800).default(1800),
    /** The network a clearance is bound to: this many leading bits of the user's IP. */
    bind: z
      .strictObject({
        ipv4Prefix: z.int().min(8).max(32).default(24),
        ipv6Prefix: z.int().min(16).max(128).default(48),
      })
      .prefault({}),
  })
  .prefault({})
  .superRefine((c, ctx) => {
    c.offers.forEach((o, i) => {
      o.kinds.forEach((k, j) => {
        if (!c.kinds.includes(k)) ctx.addIssue({ code: 'custom', path: ['offers', i, 'kinds', j], message: `"${k}" is not one of challenge.kinds` });
      });
    });
  });

/** Decision logs (docs/decision-logs.md): how many decisions are logged and which fields are masked. */
const decisionLogSettings = z
  .strictObject({
    /** Share of decisions written to Analytics Engine and the log: 0 (none) to 1 (every one). */
    sampleRate: z
      .number({ error: 'must be a number from 0 (log no decision) to 1 (log every decision)' })
      .min(0, { error: 'must be from 0 (log no decision) to 1 (log every decision)' })
      .max(1, { error: 'must be from 0 (log no decision) to 1 (log every decision)' })
      .default(1),
    /** Fields written as "masked" (Analytics Engine) or left out (the log line). */
    mask: z
      .array(z.enum(DECISION_LOG_FIELDS, { error: `not a field the decision log can mask (one of ${DECISION_LOG_FIELDS.join(', ')})` }))
      .refine((m) => new Set(m).size === m.length, { error: 'names a field twice' })
      .default([]),
  })
  .prefault({});

/** A fail mode: `closed` denies, `challenge` challenges, `open` allows. */
export const FailModeSchema = z.enum(FAIL_MODES);

/** Words the score's own liftDeny entry may use besides rule ids. */
export const SCORE_RULE_ID = 'score';

/** A geogate policy document, as stored in KV. */
export const PolicySchema = z
  .strictObject({
    /** Editors' JSON-schema pointer; ignored. */
    $schema: z.string().optional(),
    /** Operator-chosen label reported with every decision. */
    version: z
      .string()
      .max(64)
      .regex(/^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/, 'use 1-64 printable ASCII characters (it is sent in a header)'),
    description: z.string().max(2000).optional(),
    rules: z.array(rule).max(1000),
    /**
     * Countries whose time zones and locales count as restricted for TZ_RESTRICTED and
     * LOCALE_RESTRICTED. Default: every country of a `country` rule whose action is `deny`.
     */
    restrictedCountries: z.array(countryCode).optional(),
    network: z
      .strictObject({
        vpn: networkSet.optional(),
        hosting: networkSet.optional(),
        /** The policy's own categories (e.g. "relay"): a network in one adds NETWORK_LISTED. */
        categories: z
          .record(networkCategoryName, networkSet)
          .refine((c) => Object.keys(c).length <= 32, { error: 'at most 32 network categories' })
          .default({}),
      })
      .default({ categories: {} }),
    score: z.strictObject({
      weights,
      challengeAt: threshold,
      denyAt: threshold,
      /** A score deny needs location evidence (a restricted zone or offset); else it challenges. */
      denyRequiresLocation: z.boolean().default(true),
    }),
    surfaces: z.record(surfaceName, surfaceSettings).default({}),
    /** What to do when the request's IP country is unknown. */
    missingGeo: anyAction.default('challenge'),
    /** A client clock further than this from edge time is CLOCK_SKEW. */
    clockSkewToleranceSeconds: z.int().min(0).max(86_400).default(300),
    challenge: challengeSettings,
    /** What decisions answer when this policy should be in force but no usable copy exists. */
    failMode: FailModeSchema.default('closed'),
    /** Account and organisation memory: how it is consulted and what its signals need. */
    history: historySettings,
    /** Known relay user agents and device ids (RELAY_FINGERPRINT). */
    fingerprints,
    /** Decision logs: sampling and masked fields (every field has a default). */
    decisionLog: decisionLogSettings,
  })
  .superRefine((policy, ctx) => {
    const byId = new Map<string, (typeof policy.rules)[number]>();
    policy.rules.forEach((r, i) => {
      if (r.id === SCORE_RULE_ID || byId.has(r.id)) {
        ctx.addIssue({
          code: 'custom',
          path: ['rules', i, 'id'],
          message: r.id === SCORE_RULE_ID ? '"score" is reserved' : `duplicate rule id "${r.id}"`,
        });
      }
      byId.set(r.id, r);
    });
    policy.rules.forEach((r, i) => {
      if (!('liftDeny' in r) || r.liftDeny === undefined) return;
      if (r.action !== 'allow') {
        ctx.addIssue({ code: 'custom', path: ['rules', i, 'liftDeny'], message: 'only rules with action "allow" can lift' });
        return;
      }
      r.liftDeny.forEach((target, j) => {
        const t = byId.get(target);
        if (target !== SCORE_RULE_ID && t?.action !== 'deny') {
          ctx.addIssue({
            code: 'custom',
            path: ['rules', i, 'liftDeny', j],
            message: `"${target}" is neither "score" nor the id of a rule whose action is "deny"`,
          });
        }
      });
    });
    const check = (path: (string | number)[], challengeAt: number, denyAt: number) => {
      if (denyAt < challengeAt) {
        ctx.addIssue({ code: 'custom', path, message: `denyAt (${denyAt}) must be >= challengeAt (${challengeAt})` });
      }
    };
    check(['score', 'denyAt'], policy.score.challengeAt, policy.score.denyAt);
    for (const [name, s] of Object.entries(policy.surfaces)) {
      check(['surfaces', name, 'denyAt'], s.challengeAt ?? policy.score.challengeAt, s.denyAt ?? policy.score.denyAt);
    }
  });

// The engine owns the validated shape; this fails to compile if the schema's output drifts from it.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const SCHEMA_PRODUCES_ENGINE_SPEC: Same<z.output<typeof PolicySchema>, PolicySpec> = true;
void SCHEMA_PRODUCES_ENGINE_SPEC;

export type { PolicySpec, RuleSpec } from '../engine/policy';
/** A policy document as written by an operator (defaults not yet applied). */
export type PolicyDocument = z.input<typeof PolicySchema>;

/** Result of validating a policy document: the policy, or zod's issues (and the size bound broken, if any). */
export type PolicyParseResult = { ok: true; policy: PolicySpec } | { ok: false; error: z.ZodError; tooLarge?: SizeProblem };

function rejected(message: string, tooLarge?: SizeProblem): PolicyParseResult {
  return { ok: false, error: new z.ZodError([{ code: 'custom', path: [], message, input: undefined }]), ...(tooLarge ? { tooLarge } : {}) };
}

/** The named lists a policy may reference: name -> kind. */
export type ListCatalog = ReadonlyMap<string, ListKind>;

/** Options of {@link parsePolicy}. */
export interface ParsePolicyOptions {
  /**
   * The stored named lists. Without it (a document written straight to KV) a policy may name
   * only built-in lists: named lists are resolved into a snapshot by the admin API. `unchecked`
   * accepts any well-formed name (the CLI's local validation: the server checks the names).
   */
  lists?: ListCatalog | 'unchecked' | undefined;
}

/** Where a policy names lists: each rule's `lists`, and each network set's. */
export function listReferences(policy: PolicySpec): { path: (string | number)[]; names: readonly string[]; kinds: readonly ListKind[]; takesBuiltin: boolean; what: string }[] {
  const out: ReturnType<typeof listReferences> = [];
  policy.rules.forEach((r, i) => {
    if ('lists' in r) out.push({ path: ['rules', i, 'lists'], names: r.lists, kinds: RULE_LIST_KINDS[r.type], takesBuiltin: r.type === 'asn' || r.type === 'cidr', what: `a ${r.type} rule` });
  });
  const sets: [string[], NetworkSetSpec | undefined][] = [
    [['vpn'], policy.network.vpn],
    [['hosting'], policy.network.hosting],
    ...Object.entries(policy.network.categories).map(([name, set]): [string[], NetworkSetSpec] => [['categories', name], set]),
  ];
  for (const [at, set] of sets) {
    if (set) out.push({ path: ['network', ...at, 'lists'], names: set.lists, kinds: NETWORK_LIST_KINDS, takesBuiltin: true, what: 'a network set' });
  }
  out.push({ path: ['fingerprints', 'lists'], names: policy.fingerprints.lists, kinds: ['user-agent', 'device'], takesBuiltin: false, what: 'fingerprints' });
  return out;
}

/** Issues for list references that do not resolve to a list of a kind the rule or network set can use. */
function listReferenceIssues(policy: PolicySpec, catalog: ListCatalog | 'unchecked' | undefined): z.core.$ZodIssue[] {
  const issues: z.core.$ZodIssue[] = [];
  for (const ref of listReferences(policy)) {
    ref.names.forEach((name, j) => {
      const path = [...ref.path, j];
      const kinds = ref.kinds.join(' or ');
      if (isBuiltinList(name)) {
        if (!ref.takesBuiltin) issues.push({ code: 'custom', path, message: `"${name}" is a built-in network list; ${ref.what} takes ${kinds} lists`, input: name });
        return;
      }
      if (catalog === 'unchecked') return;
      const kind = catalog?.get(name);
      if (kind === undefined) {
        const hint = catalog ? '' : ` (a policy written straight to KV may name only the built-in lists ${BUILTIN_LIST_NAMES.join(', ')}; named lists need the admin API)`;
        issues.push({ code: 'custom', path, message: `no list named "${name}"${hint}`, input: name });
      } else if (!ref.kinds.includes(kind)) {
        issues.push({ code: 'custom', path, message: `list "${name}" holds ${kind} items; ${ref.what} takes ${kinds} lists`, input: name });
      }
    });
  }
  return issues;
}

/**
 * Validates an already-parsed JSON value as a policy. The entry bound is checked first, by a
 * cheap count, so an oversized document never reaches the (much slower) schema. References to
 * named lists are checked against `options.lists`.
 */
export function parsePolicy(value: unknown, options: ParsePolicyOptions = {}): PolicyParseResult {
  const size = checkPolicySize(value);
  if (size) return rejected(size.message, size);
  let r;
  try {
    r = PolicySchema.safeParse(value);
  } catch (e) {
    // zod itself can throw on pathological input: a list of ~100k invalid entries overflows the
    // call stack while it gathers one issue per entry. That text is invalid, not a crash.
    return rejected(`the policy could not be validated (${e instanceof Error ? e.name : 'error'}); a list with very many invalid entries does this`);
  }
  if (!r.success) return { ok: false, error: r.error };
  const refs = listReferenceIssues(r.data, options.lists);
  return refs.length === 0 ? { ok: true, policy: r.data } : { ok: false, error: new z.ZodError(refs) };
}

/** Parses policy JSON text; malformed JSON or text over the byte bound is reported as an issue at the root. */
export function parsePolicyText(text: string, options: ParsePolicyOptions = {}): PolicyParseResult {
  const size = checkPolicySize(text);
  if (size) return rejected(size.message, size);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return rejected(`not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  return parsePolicy(value, options);
}
