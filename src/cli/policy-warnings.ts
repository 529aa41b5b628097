// Warnings about a VALID policy that probably does not do what its author meant: a rule that can
// never match, and an allow-exception that lifts a deny everywhere that deny matches (the deny
// then never decides anything). Pure and cheap; `geogate policy validate` prints them. They are
// advice: a policy with warnings is still valid.
import { parseCidr, type CidrRange } from '../engine/ip';
import type { PolicySpec, RuleSpec } from '../policy/schema';

/** One warning, at the JSON path of what it is about. */
export interface PolicyWarning {
  path: string;
  message: string;
}

/** Above this many block comparisons the CIDR coverage check is skipped (it is advice, not a proof). */
const MAX_CIDR_COMPARISONS = 1_000_000;

function neverMatches(rule: RuleSpec): string | undefined {
  if (rule.surfaces !== undefined && rule.surfaces.length === 0) return 'its "surfaces" list is empty, so it applies to no request';
  switch (rule.type) {
    case 'country':
    case 'owner-country':
      return rule.countries.length === 0 ? 'it lists no countries, so it can never match' : undefined;
    case 'region':
      return rule.regions.length === 0 ? 'it lists no regions, so it can never match' : undefined;
    case 'asn':
      return rule.asns.length === 0 && rule.lists.length === 0 ? 'it lists no ASNs and no lists, so it can never match' : undefined;
    case 'cidr':
      return rule.cidrs.length === 0 ? 'it lists no CIDR blocks, so it can never match' : undefined;
    case 'account':
      return rule.accounts.length === 0 && rule.orgs.length === 0 ? 'it lists no accounts and no orgs, so it can never match' : undefined;
    case 'country-allowlist':
      return undefined;
    default: {
      const unreachable: never = rule;
      return unreachable;
    }
  }
}

const covers = <T>(wide: readonly T[], narrow: readonly T[]) => {
  const set = new Set(wide);
  return narrow.every((x) => set.has(x));
};

function cidrCovers(wide: readonly string[], narrow: readonly string[]): boolean {
  if (wide.length * narrow.length > MAX_CIDR_COMPARISONS) return false;
  const blocks = wide.map(parseCidr).filter((b): b is CidrRange => b !== undefined);
  return narrow.every((text) => {
    const n = parseCidr(text);
    return n !== undefined && blocks.some((w) => w.version === n.version && w.start <= n.start && w.end >= n.end);
  });
}

/** Whether allow-exception `allow` matches every request deny rule `deny` matches (same kind of rule). */
function liftsEverywhere(allow: RuleSpec, deny: RuleSpec): boolean {
  if (allow.surfaces !== undefined && !(deny.surfaces !== undefined && covers(allow.surfaces, deny.surfaces))) return false;
  if (allow.type === 'asn' && deny.type === 'asn') return covers(allow.asns, deny.asns) && covers(allow.lists, deny.lists);
  if (allow.type === 'account' && deny.type === 'account') return covers(allow.accounts, deny.accounts) && covers(allow.orgs, deny.orgs);
  if (allow.type === 'cidr' && deny.type === 'cidr') return cidrCovers(allow.cidrs, deny.cidrs);
  return false;
}

/** Warnings about a validated policy; empty when nothing looks off. */
export function policyWarnings(policy: PolicySpec): PolicyWarning[] {
  const warnings: PolicyWarning[] = [];
  const byId = new Map(policy.rules.map((r) => [r.id, r]));
  policy.rules.forEach((rule, i) => {
    const never = neverMatches(rule);
    if (never) warnings.push({ path: `rules[${i}]`, message: `rule "${rule.id}": ${never}` });
    if (rule.type === 'country-allowlist' && rule.countries.length === 0 && (rule.surfaces === undefined || rule.surfaces.length > 0)) {
      warnings.push({ path: `rules[${i}].countries`, message: `rule "${rule.id}": an empty allow-list hits every request whose country is known` });
    }
    if (rule.action !== 'allow' || !('liftDeny' in rule) || !rule.liftDeny) return;
    rule.liftDeny.forEach((target, j) => {
      const deny = byId.get(target);
      if (deny && liftsEverywhere(rule, deny)) {
        warnings.push({
          path: `rules[${i}].liftDeny[${j}]`,
          message: `allow-exception "${rule.id}" covers everything deny rule "${deny.id}" matches and lifts it, so "${deny.id}" never denies`,
        });
      }
    });
  });
  return warnings;
}
