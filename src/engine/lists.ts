// Lists a policy names instead of copying thousands of items. Built-in lists ship with the code
// (generated from data/network-intel, MIT, X4BNet/lists_vpn), so updating them is a deploy.
// Named lists are the operator's own (IPs/CIDRs, ASNs, account ids, org ids, org -> owner
// country), stored and versioned apart from the policy and resolved into a snapshot at write
// time; the engine only ever sees them resolved (ResolvedList), never storage.
import { X4B_DATACENTER_ASNS, X4B_VPN_ASNS } from './data/network-asns';
import type { CidrSet } from './ip';

/** Names a policy may use in `lists` for the built-in ASN lists. */
export const BUILTIN_LIST_NAMES = ['x4b-vpn', 'x4b-datacenter'] as const;

/** A built-in list's name. */
export type BuiltinListName = (typeof BUILTIN_LIST_NAMES)[number];

/** ASNs of each built-in list. */
export const BUILTIN_ASN_LISTS: Readonly<Record<BuiltinListName, readonly number[]>> = {
  'x4b-vpn': X4B_VPN_ASNS,
  'x4b-datacenter': X4B_DATACENTER_ASNS,
};

/** Whether `name` is a built-in list. */
export function isBuiltinList(name: string): name is BuiltinListName {
  return (BUILTIN_LIST_NAMES as readonly string[]).includes(name);
}

/** What a named list holds. */
export const LIST_KINDS = ['cidr', 'asn', 'account', 'org', 'org-owner'] as const;

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
  | { readonly kind: 'org-owner'; readonly version: number; readonly owners: ReadonlyMap<string, string> };

/** The named lists a policy was compiled with, by name (one consistent version of each). */
export type ResolvedLists = ReadonlyMap<string, ResolvedList>;

/** No named lists: a policy that references none (built-in lists need no resolving). */
export const NO_LISTS: ResolvedLists = new Map();
