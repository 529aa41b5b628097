// Lists a policy names instead of copying thousands of items. Built-in lists are the categories
// of the network intel (src/engine/intel.ts: the X4B lists, MIT, X4BNet/lists_vpn), ASNs and CIDR
// blocks alike, resolved at evaluation against the intel in force (KV, else the bundled copy).
// Named lists are the operator's own (IPs/CIDRs, ASNs, account ids, org ids, org -> owner
// country, relay user agents and device ids), stored and versioned apart from the policy and resolved into a snapshot at write
// time; the engine only ever sees them resolved (ResolvedList), never storage.
import type { IntelCategory } from './intel';
import type { CidrSet } from './ip';

/** Names a policy may use in `lists` for the built-in lists (the network intel's categories). */
export const BUILTIN_LIST_NAMES = ['x4b-vpn', 'x4b-datacenter'] as const;

/** A built-in list's name. */
export type BuiltinListName = (typeof BUILTIN_LIST_NAMES)[number];

/** The intel category each built-in list stands for: its ASNs in `asn` rules, its blocks in `cidr` rules, both in network sets. */
export const BUILTIN_LIST_CATEGORY: Readonly<Record<BuiltinListName, IntelCategory>> = {
  'x4b-vpn': 'vpn',
  'x4b-datacenter': 'datacenter',
};

/** Whether `name` is a built-in list. */
export function isBuiltinList(name: string): name is BuiltinListName {
  return (BUILTIN_LIST_NAMES as readonly string[]).includes(name);
}

/** What a named list holds. */
export const LIST_KINDS = ['cidr', 'asn', 'account', 'org', 'org-owner', 'user-agent', 'device'] as const;

/** A named list's kind. */
export type ListKind = (typeof LIST_KINDS)[number];

/** Which list kinds each rule type may reference in its `lists`. */
export const RULE_LIST_KINDS = {
  asn: ['asn'],
  cidr: ['cidr'],
  account: ['account', 'org'],
  'owner-country': ['org-owner'],
} as const satisfies Partial<Record<string, readonly ListKind[]>>;

/** A named list as the engine uses it: items parsed and indexed. */
export type ResolvedList =
  | { readonly kind: 'cidr'; readonly version: number; readonly set: CidrSet }
  | { readonly kind: 'asn'; readonly version: number; readonly asns: readonly number[] }
  | { readonly kind: 'account' | 'org'; readonly version: number; readonly ids: ReadonlySet<string> }
  | { readonly kind: 'org-owner'; readonly version: number; readonly owners: ReadonlyMap<string, string> }
  /** Relay fingerprints: exact values, or prefixes ending in `*`. */
  | { readonly kind: 'user-agent' | 'device'; readonly version: number; readonly patterns: readonly string[] };

/** The named lists a policy was compiled with, by name (one consistent version of each). */
export type ResolvedLists = ReadonlyMap<string, ResolvedList>;

/** No named lists: a policy that references none (built-in lists need no resolving). */
export const NO_LISTS: ResolvedLists = new Map();
