// PolicySpec -> CompiledPolicy, once per policy version: list fields become Sets, CIDR lists
// become range tables, named lists are expanded, per-surface score settings are merged.
// Dry-run rules are left out of the compiled policy, which decides as if they were absent; a
// policy that has some also carries, in `dryRun`, the policy with every rule enforced (sharing
// the compiled rules, networks and score settings, so the lists are compiled once).
// Input must already be validated (src/policy/schema.ts produces a PolicySpec); compile never
// sees raw JSON.
import { TOR_COUNTRY } from './countries';
import { matchAccount, matchOwnerCountry } from './detectors/account';
import { matchCountry, matchCountryNotAllowed, matchRegion, type RequestView, type RuleHit } from './detectors/geo';
import { matchAsn, matchCidr, NetworkSet, type NamedAsns, type NetworkCategories, type SourcedCidrs } from './detectors/network';
import type { OrgOwners } from './detectors/account';
import type { TimezoneSettings } from './detectors/timezone';
import { Fingerprints, type FingerprintSource } from './detectors/fingerprint';
import { memoryWindows, type HistorySettings } from './history';
import { CidrSet } from './ip';
import { isBuiltinList, NO_LISTS, type BuiltinListName, type ResolvedList, type ResolvedLists } from './lists';
import type { ChallengeSpec, DecisionLogField, FailMode, HistorySpec, NetworkSetSpec, PolicySpec, RuleSpec } from './policy';
import { SIGNAL_NAMES, type Action, type SignalName } from './types';

/** A hard rule ready to match. */
export interface CompiledRule {
  readonly id: string;
  readonly type: RuleSpec['type'];
  readonly action: Action;
  /** Surfaces the rule is limited to; undefined means every request. */
  readonly surfaces: ReadonlySet<string> | undefined;
  /** For allow-exceptions: ids of deny rules (or "score") whose denies this rule lifts. */
  readonly liftDeny: ReadonlySet<string>;
  /** A dry-run rule: only the policy's `dryRun` variant runs it. */
  readonly dryRun: boolean;
  match(view: RequestView): RuleHit | undefined;
}

/** Weights and thresholds of the risk score for one surface. */
export interface ScoreSettings {
  readonly weights: Readonly<Record<SignalName, number>>;
  readonly challengeAt: number;
  readonly denyAt: number;
  /** A score deny needs location evidence; without it the score only challenges. */
  readonly denyRequiresLocation: boolean;
}

/** How decisions are logged (docs/decision-logs.md): the share sampled and the fields masked. */
export interface DecisionLogSettings {
  /** Share of decisions logged, 0 to 1. */
  readonly sampleRate: number;
  /** Fields written as masked instead of their value. */
  readonly mask: ReadonlySet<DecisionLogField>;
}

/** A validated policy in the form the evaluator runs. Immutable; shared by all requests. */
export interface CompiledPolicy {
  readonly version: string;
  /** The validated document this was compiled from. */
  readonly spec: PolicySpec;
  /** Hard rules sorted by id, so rule order in the document never matters. */
  readonly rules: readonly CompiledRule[];
  readonly timezone: TimezoneSettings;
  readonly vpn: NetworkSet;
  readonly hosting: NetworkSet;
  /** The policy's own network categories, sorted by name (NETWORK_LISTED). */
  readonly networkCategories: NetworkCategories;
  readonly score: ScoreSettings;
  readonly scoreBySurface: ReadonlyMap<string, ScoreSettings>;
  readonly missingGeo: Action;
  /** Challenge kinds, offers and clearance settings (see ChallengeSpec). */
  readonly challenge: ChallengeSpec;
  readonly failMode: FailMode;
  /** The version of each named list this policy was compiled with (a snapshot's one consistent set). */
  readonly lists: Readonly<Record<string, number>>;
  /** How the account and organisation memory is consulted, and its signals' thresholds. */
  readonly history: HistorySettings;
  /** Known relay user agents and device ids (RELAY_FINGERPRINT). */
  readonly fingerprints: Fingerprints;
  /** Decision-log sampling and masking (read by the transport, never by the evaluator). */
  readonly decisionLog: DecisionLogSettings;
  /**
   * Present only when the policy has dry-run rules: the same policy with every rule enforced
   * (what `Decision.dryRun` reports), and the ids of its dry-run rules. `rules` above holds the
   * enforced rules alone.
   */
  readonly dryRun?: CompiledDryRun | undefined;
}

/** The dry-run variant of a compiled policy. */
export interface CompiledDryRun {
  /** The policy with every rule enforced; it has no `dryRun` of its own. */
  readonly policy: CompiledPolicy;
  /** Ids of the rules whose mode is `dry-run`. */
  readonly ruleIds: ReadonlySet<string>;
}

/** The named list `name` of one of `kinds`; the policy was validated against these lists, so a miss is a bug. */
function listOf<K extends ResolvedList['kind']>(lists: ResolvedLists, name: string, kinds: readonly K[]): Extract<ResolvedList, { kind: K }> {
  const list = lists.get(name);
  if (!list || !(kinds as readonly string[]).includes(list.kind)) throw new Error(`policy names list "${name}", which is not a ${kinds.join(' or ')} list here`);
  return list as Extract<ResolvedList, { kind: K }>;
}

/** Ids written in the policy ("policy") and those of the named lists, each with where it is listed. */
function sourcedIds(inline: readonly string[], lists: readonly { name: string; ids: ReadonlySet<string> }[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const l of lists) for (const id of l.ids) out.set(id, l.name);
  for (const id of inline) out.set(id, 'policy');
  return out;
}

function compileRule(rule: RuleSpec, lists: ResolvedLists): CompiledRule {
  const base = {
    id: rule.id,
    type: rule.type,
    action: rule.action,
    surfaces: rule.surfaces ? new Set(rule.surfaces) : undefined,
    liftDeny: new Set('liftDeny' in rule ? (rule.liftDeny ?? []) : []),
    dryRun: rule.mode === 'dry-run',
  };
  const allow = rule.action === 'allow';
  switch (rule.type) {
    case 'country': {
      const set = new Set(rule.countries);
      return { ...base, match: (v) => matchCountry(v, set, rule.id) };
    }
    case 'country-allowlist': {
      const set = new Set(rule.countries);
      return { ...base, match: (v) => matchCountryNotAllowed(v, set, rule.id) };
    }
    case 'region': {
      const set = new Set(rule.regions);
      return { ...base, match: (v) => matchRegion(v, set, rule.id) };
    }
    case 'owner-country': {
      const set = new Set(rule.countries);
      const owners: OrgOwners[] = [...new Set(rule.lists)].map((name) => ({ name, owners: listOf(lists, name, ['org-owner']).owners }));
      return { ...base, match: (v) => matchOwnerCountry(v, set, owners, rule.id) };
    }
    case 'asn': {
      const builtin: BuiltinListName[] = [];
      const namedAsns: NamedAsns[] = [];
      for (const name of new Set(rule.lists)) {
        if (isBuiltinList(name)) builtin.push(name);
        else namedAsns.push({ name, asns: listOf(lists, name, ['asn']).asns });
      }
      const set = new NetworkSet({ asns: rule.asns, builtin, namedAsns });
      return { ...base, match: (v) => matchAsn(v, set, rule.id, allow) };
    }
    case 'cidr': {
      const sets: SourcedCidrs[] = [];
      if (rule.cidrs.length > 0) sets.push({ set: CidrSet.from(rule.cidrs), source: 'policy' });
      for (const name of new Set(rule.lists)) {
        sets.push(isBuiltinList(name) ? { builtin: name, source: name } : { set: listOf(lists, name, ['cidr']).set, source: name });
      }
      return { ...base, match: (v) => matchCidr(v, sets, rule.id, allow) };
    }
    case 'account': {
      const accountLists: { name: string; ids: ReadonlySet<string> }[] = [];
      const orgLists: { name: string; ids: ReadonlySet<string> }[] = [];
      for (const name of new Set(rule.lists)) {
        const list = listOf(lists, name, ['account', 'org']);
        (list.kind === 'account' ? accountLists : orgLists).push({ name, ids: list.ids });
      }
      const accounts = sourcedIds(rule.accounts, accountLists);
      const orgs = sourcedIds(rule.orgs, orgLists);
      return { ...base, match: (v) => matchAccount(v, accounts, orgs, rule.id, allow) };
    }
  }
}

/** A network set of the policy: inline entries, built-in lists, and named `asn` / `cidr` lists. */
function networkSetOf(spec: NetworkSetSpec | undefined, lists: ResolvedLists): NetworkSet {
  if (!spec) return new NetworkSet({});
  const builtin: BuiltinListName[] = [];
  const namedAsns: NamedAsns[] = [];
  const namedCidrs: { name: string; set: CidrSet }[] = [];
  for (const name of new Set(spec.lists)) {
    if (isBuiltinList(name)) {
      builtin.push(name);
      continue;
    }
    const list = listOf(lists, name, ['asn', 'cidr']);
    if (list.kind === 'asn') namedAsns.push({ name, asns: list.asns });
    else namedCidrs.push({ name, set: list.set });
  }
  return new NetworkSet({ asns: spec.asns, cidrs: spec.cidrs.length > 0 ? CidrSet.from(spec.cidrs) : undefined, builtin, namedAsns, namedCidrs });
}

/** The history settings in milliseconds, with the windows the objects keep for a policy restricting `places`. */
function historyOf(h: HistorySpec, places: TimezoneSettings['restricted']): HistorySettings {
  const DAY = 86_400_000;
  const settings = {
    mode: h.mode,
    unavailable: h.unavailable,
    syncBudgetMs: h.syncBudgetMs,
    cacheTtlMs: h.cacheTtlSeconds * 1000,
    fanout: { ...h.fanout, windowMs: h.fanout.windowSeconds * 1000 },
    signature: { windowMs: h.signature.windowSeconds * 1000, requests: h.signature.requests },
    travel: { ...h.travel },
    restrictedWindowMs: h.restrictedDays * DAY,
    org: { windowMs: h.org.windowDays * DAY, minShare: h.org.minShare, minAccounts: h.org.minAccounts },
  };
  return { ...settings, windows: memoryWindows(settings, places) };
}

/** The policy's relay fingerprints: its inline patterns and its named lists. */
function fingerprintsOf(spec: PolicySpec, lists: ResolvedLists): Fingerprints {
  const sources: FingerprintSource[] = [{ source: 'policy', userAgents: spec.fingerprints.userAgents, devices: spec.fingerprints.devices }];
  for (const name of new Set(spec.fingerprints.lists)) {
    const list = listOf(lists, name, ['user-agent', 'device']);
    sources.push(list.kind === 'user-agent' ? { source: name, userAgents: list.patterns } : { source: name, devices: list.patterns });
  }
  return new Fingerprints(sources);
}

function fullWeights(weights: Partial<Record<SignalName, number | undefined>>, base?: ScoreSettings['weights']) {
  const out = {} as Record<SignalName, number>;
  for (const name of SIGNAL_NAMES) out[name] = weights[name] ?? base?.[name] ?? 0;
  return out;
}

/**
 * Countries whose zones and locales count as restricted: the policy's explicit list, else every
 * country denied by one of `rules` of type `country` (Tor's T1 is not a country with a time zone).
 */
function restrictedCountriesOf(spec: PolicySpec, rules: readonly RuleSpec[]): Set<string> {
  if (spec.restrictedCountries) return new Set(spec.restrictedCountries);
  const out = new Set<string>();
  for (const r of rules) {
    if (r.type === 'country' && r.action === 'deny') for (const c of r.countries) if (c !== TOR_COUNTRY) out.add(c);
  }
  return out;
}

/** Time-zone settings for a set of rules (a dry-run deny rule widens the restricted places only in the dry-run variant). */
function timezoneOf(spec: PolicySpec, rules: readonly RuleSpec[]): TimezoneSettings {
  const regions = new Set<string>();
  for (const r of rules) if (r.type === 'region' && r.action === 'deny') for (const g of r.regions) regions.add(g);
  return {
    restricted: { countries: restrictedCountriesOf(spec, rules), regions },
    clockSkewToleranceMs: spec.clockSkewToleranceSeconds * 1000,
  };
}

const sameSet = (a: ReadonlySet<string>, b: ReadonlySet<string>) => a.size === b.size && [...a].every((x) => b.has(x));

/**
 * Compiles a validated policy with the named lists it references (one consistent version of
 * each; see src/policy/snapshot.ts). Pure and deterministic; cost is paid once per snapshot.
 */
export function compilePolicy(spec: PolicySpec, lists: ResolvedLists = NO_LISTS): CompiledPolicy {
  const score: ScoreSettings = {
    weights: fullWeights(spec.score.weights),
    challengeAt: spec.score.challengeAt,
    denyAt: spec.score.denyAt,
    denyRequiresLocation: spec.score.denyRequiresLocation,
  };
  const scoreBySurface = new Map<string, ScoreSettings>();
  for (const [name, s] of Object.entries(spec.surfaces)) {
    scoreBySurface.set(name, {
      weights: fullWeights(s.weights ?? {}, score.weights),
      challengeAt: s.challengeAt ?? score.challengeAt,
      denyAt: s.denyAt ?? score.denyAt,
      denyRequiresLocation: score.denyRequiresLocation,
    });
  }
  const all = spec.rules.map((r) => compileRule(r, lists)).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const enforcedSpecs = spec.rules.filter((r) => r.mode !== 'dry-run');
  const timezone = timezoneOf(spec, enforcedSpecs);
  const enforced: CompiledPolicy = {
    version: spec.version,
    spec,
    rules: enforcedSpecs.length === spec.rules.length ? all : all.filter((r) => !r.dryRun),
    timezone,
    vpn: networkSetOf(spec.network.vpn, lists),
    hosting: networkSetOf(spec.network.hosting, lists),
    networkCategories: Object.keys(spec.network.categories)
      .sort()
      .map((name) => ({ name, set: networkSetOf(spec.network.categories[name], lists) })),
    score,
    scoreBySurface,
    missingGeo: spec.missingGeo,
    challenge: spec.challenge,
    failMode: spec.failMode,
    lists: Object.fromEntries([...lists].map(([name, l]) => [name, l.version])),
    history: historyOf(spec.history, timezone.restricted),
    fingerprints: fingerprintsOf(spec, lists),
    decisionLog: { sampleRate: spec.decisionLog.sampleRate, mask: new Set(spec.decisionLog.mask) },
  };
  if (enforcedSpecs.length === spec.rules.length) return enforced;
  // Every rule enforced. The time-zone settings object is shared when the dry-run rules leave the
  // restricted places unchanged, which tells evaluate() it may reuse the request's signals.
  const widened = timezoneOf(spec, spec.rules);
  const unchanged =
    sameSet(widened.restricted.countries, enforced.timezone.restricted.countries) &&
    sameSet(widened.restricted.regions, enforced.timezone.restricted.regions);
  const policy: CompiledPolicy = { ...enforced, rules: all, timezone: unchanged ? enforced.timezone : widened };
  return { ...enforced, dryRun: { policy, ruleIds: new Set(all.filter((r) => r.dryRun).map((r) => r.id)) } };
}
