// Built-in network lists a policy can name instead of copying thousands of numbers. They ship
// with the code (generated from data/network-intel, MIT, X4BNet/lists_vpn), so updating them is
// a deploy, and the compiled policy records which lists it used.
import { X4B_DATACENTER_ASNS, X4B_VPN_ASNS } from './data/network-asns';

/** Names a policy may use in `lists`. */
export const BUILTIN_LIST_NAMES = ['x4b-vpn', 'x4b-datacenter'] as const;

/** A built-in list's name. */
export type BuiltinListName = (typeof BUILTIN_LIST_NAMES)[number];

/** ASNs of each built-in list. */
export const BUILTIN_ASN_LISTS: Readonly<Record<BuiltinListName, readonly number[]>> = {
  'x4b-vpn': X4B_VPN_ASNS,
  'x4b-datacenter': X4B_DATACENTER_ASNS,
};
