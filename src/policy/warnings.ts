// Warnings about a VALID policy that probably does not do what its author meant. Advice, never a
// rejection: the admin API returns them with validate and every write, and `geogate policy
// validate` prints them (offline, without the stored lists: a list it cannot see is assumed to
// hold something, and coverage through it is not judged). Pure and cheap.
import { CidrSet, parseCidr, type CidrRange } from '../engine/ip';
import { isBuiltinList } from '../engine/lists';
import type { NetworkSetSpec, PolicySpec, RuleSpec } from '../engine/policy';
import { MEMORY_SIGNALS } from '../engine/detectors/history';
import type { SignalName } from '../engine/types';
import type { ListItems } from './lists';

/** A warning, at the JSON path of what it is about. */
export interface PolicyWarning {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

/** The items a rule's named list holds, when known (the stored lists, by name). */
type KnownLists = ReadonlyMap<string, ListItems>;

/** How many items a rule matches on; a built-in list, or a list not known here, counts as one. */
function itemCount(rule: RuleSpec, lists: KnownLists): number {
  const fromLists = 'lists' in rule ? rule.lists.reduce((n, name) => n + (lists.get(name)?.items.length ?? 1), 0) : 0;
  switch (rule.type) {
    case 'country':
    case 'owner-country':
      return rule.countries.length + fromLists;
    case 'country-allowlist':
      return 1;
    case 'region':
      return rule.regions.length;
    case 'asn':
      return rule.asns.length + fromLists;
    case 'cidr':
      return rule.cidrs.length + fromLists;
    case 'account':
      return rule.accounts.length + rule.orgs.length + fromLists;
  }
}

/** Whether every named list of `deny` is known here, so that what it lists can be judged. */
const listsKnown = (rule: RuleSpec, lists: KnownLists) => !('lists' in rule) || rule.lists.every((name) => isBuiltinList(name) || lists.has(name));

/** The CIDR texts a cidr rule lists, inline and from the known lists. */
function cidrTextsOf(rule: Extract<RuleSpec, { type: 'cidr' }>, lists: KnownLists): string[] {
  const out = [...rule.cidrs];
  for (const name of rule.lists) {
    const l = lists.get(name);
    if (l?.kind === 'cidr') out.push(...l.items);
  }
  return out;
}

/** Whether the blocks of `set` hold the whole of block `b` (one block, or several together). */
function coversBlock(set: CidrSet, b: CidrRange): boolean {
  return set.covers(b);
}

/** The ids an account or asn rule lists, tagged by what they are. */
function idsOf(rule: RuleSpec): string[] {
  if (rule.type === 'account') return [...rule.accounts.map((a) => `a:${a}`), ...rule.orgs.map((o) => `o:${o}`)];
  return rule.type === 'asn' ? rule.asns.map(String) : [];
}

/** Whether `allow` applies wherever `deny` does, as far as surfaces go. */
const onEverySurfaceOf = (allow: RuleSpec, deny: RuleSpec) =>
  allow.surfaces === undefined || (deny.surfaces !== undefined && deny.surfaces.every((s) => allow.surfaces?.includes(s)));

/**
 * Whether allow-exception `allow` matches every request deny rule `deny` matches, so that the
 * deny never decides: same type, every surface, and everything the deny lists (blocks: each inside
 * one exception block; ids; named lists by name).
 */
function swallows(allow: RuleSpec, deny: RuleSpec, allowBlocks: CidrSet | undefined, lists: KnownLists): boolean {
  if (allow.type !== deny.type || !onEverySurfaceOf(allow, deny) || !listsKnown(deny, lists)) return false;
  if (deny.type === 'cidr') {
    const blocks = cidrTextsOf(deny, lists).map(parseCidr);
    return allowBlocks !== undefined && blocks.length > 0 && blocks.every((b) => b !== undefined && coversBlock(allowBlocks, b));
  }
  if (deny.type !== 'account' && deny.type !== 'asn') return false;
  const allowIds = new Set(idsOf(allow));
  const denyIds = idsOf(deny);
  const allowLists = 'lists' in allow ? allow.lists : [];
  return denyIds.length > 0 && denyIds.every((x) => allowIds.has(x)) && deny.lists.every((name) => allowLists.includes(name));
}

/**
 * What an operator should look at before pushing: rules that apply to no surface or list
 * nothing, a country allow-list that allows nothing, empty lists, allow-exceptions that cover a
 * whole address family or everything a deny they lift matches.
 * @param lists the stored named lists, by name (absent: judged offline, see the module comment)
 */
export function policyWarnings(spec: PolicySpec, lists: KnownLists = new Map()): PolicyWarning[] {
  const warnings: PolicyWarning[] = [];
  const byId = new Map(spec.rules.map((r) => [r.id, r]));
  spec.rules.forEach((rule, i) => {
    if (rule.surfaces !== undefined && rule.surfaces.length === 0) {
      warnings.push({ path: ['rules', i, 'surfaces'], message: `rule ${rule.id} applies to no request: its surfaces list is empty` });
    }
    if (rule.type === 'country-allowlist' && rule.countries.length === 0) {
      warnings.push({ path: ['rules', i, 'countries'], message: `rule ${rule.id} allows no country: every request with a known country is hit` });
    } else if (itemCount(rule, lists) === 0) {
      warnings.push({ path: ['rules', i], message: `rule ${rule.id} lists nothing, so it can never match` });
    }
    if ('lists' in rule) {
      rule.lists.forEach((name, j) => {
        if (lists.get(name)?.items.length === 0) warnings.push({ path: ['rules', i, 'lists', j], message: `list ${name} is empty` });
      });
    }
    if (rule.action !== 'allow' || !('liftDeny' in rule) || !rule.liftDeny) return;
    const allowTexts = rule.type === 'cidr' ? cidrTextsOf(rule, lists) : [];
    if (allowTexts.some((t) => parseCidr(t)?.text.endsWith('/0'))) {
      warnings.push({ path: ['rules', i], message: `allow-exception ${rule.id} covers a whole address family: it lifts ${rule.liftDeny.join(', ')} for everyone` });
      return;
    }
    const allowBlocks = rule.type === 'cidr' ? CidrSet.from(allowTexts) : undefined;
    rule.liftDeny.forEach((target, j) => {
      const deny = byId.get(target);
      if (!deny || !swallows(rule, deny, allowBlocks, lists)) return;
      const message =
        deny.type === 'cidr'
          ? `allow-exception ${rule.id} covers every block of deny rule ${target}, which then never denies`
          : `allow-exception ${rule.id} lists everything deny rule ${target} lists, which then never denies`;
      warnings.push({ path: ['rules', i, 'liftDeny', j], message });
    });
  });
  const categories = Object.keys(spec.network.categories);
  if (categories.length > 0) {
    const weighs = (spec.score.weights.NETWORK_LISTED ?? 0) > 0 || Object.values(spec.surfaces).some((x) => (x.weights?.NETWORK_LISTED ?? 0) > 0);
    if (!weighs) {
      warnings.push({ path: ['score', 'weights', 'NETWORK_LISTED'], message: `NETWORK_LISTED weighs 0, so the network categories ${categories.join(', ')} never add to the score` });
    }
  }
  const sets: [string[], NetworkSetSpec | undefined][] = [
    [['vpn'], spec.network.vpn],
    [['hosting'], spec.network.hosting],
    ...Object.entries(spec.network.categories).map(([name, set]): [string[], NetworkSetSpec] => [['categories', name], set]),
  ];
  for (const [at, set] of sets) {
    if (!set) continue;
    if (set.asns.length === 0 && set.cidrs.length === 0 && set.lists.length === 0) {
      warnings.push({ path: ['network', ...at], message: `network set ${at.join('.')} lists nothing, so it never matches` });
    }
    set.lists.forEach((name, j) => {
      if (lists.get(name)?.items.length === 0) warnings.push({ path: ['network', ...at, 'lists', j], message: `list ${name} is empty` });
    });
  }
  const weighs = (name: SignalName) => (spec.score.weights[name] ?? 0) > 0 || Object.values(spec.surfaces).some((x) => (x.weights?.[name] ?? 0) > 0);
  const f = spec.fingerprints;
  if ((f.userAgents.length > 0 || f.devices.length > 0 || f.lists.length > 0) && !weighs('RELAY_FINGERPRINT')) {
    warnings.push({ path: ['score', 'weights', 'RELAY_FINGERPRINT'], message: 'RELAY_FINGERPRINT weighs 0, so the listed relay fingerprints never add to the score' });
  }
  f.lists.forEach((name, j) => {
    if (lists.get(name)?.items.length === 0) warnings.push({ path: ['fingerprints', 'lists', j], message: `list ${name} is empty` });
  });
  if (spec.history.mode === 'off') {
    const weighed = MEMORY_SIGNALS.filter(weighs);
    if (weighed.length > 0) warnings.push({ path: ['history', 'mode'], message: `history.mode is "off", so ${weighed.join(', ')} are always undetermined and never add to the score` });
  }
  return warnings;
}
