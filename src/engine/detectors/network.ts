// Network facts: which autonomous system and address block the IP belongs to. Provides the
// NETWORK_VPN / NETWORK_HOSTING signals and the `asn` / `cidr` rule matchers.
import { CidrSet } from '../ip';
import { BUILTIN_ASN_LISTS, type BuiltinListName } from '../lists';
import { SIGNAL_FALSE, undetermined, type Signal } from '../types';
import type { RequestView, RuleHit } from './geo';

/** A compiled set of networks: ASNs (each remembering the list it came from) and CIDR blocks. */
export class NetworkSet {
  readonly #asns = new Map<number, string>();
  readonly #cidrs: CidrSet;

  /** `asns` listed inline report source "policy"; list members report the list's name. */
  constructor(spec: { asns?: readonly number[]; lists?: readonly BuiltinListName[]; cidrs?: readonly string[] }) {
    for (const list of spec.lists ?? []) for (const asn of BUILTIN_ASN_LISTS[list]) this.#asns.set(asn, list);
    for (const asn of spec.asns ?? []) this.#asns.set(asn, 'policy');
    this.#cidrs = CidrSet.from(spec.cidrs ?? []);
  }

  /** Whether the set lists anything at all. */
  get isEmpty(): boolean {
    return this.#asns.size === 0 && this.#cidrs.size === 0;
  }

  /**
   * The membership evidence of the request's network: a hit, `null` when the facts allowed a
   * lookup that found nothing, `undefined` when there was nothing to look up.
   */
  match(view: RequestView): NetworkHit | null | undefined {
    const asn = view.facts.geo.asn;
    let looked = false;
    if (asn !== undefined && this.#asns.size > 0) {
      looked = true;
      const source = this.#asns.get(asn);
      if (source !== undefined) return { asn, source };
    }
    if (this.#cidrs.size > 0) {
      const ip = view.ip;
      if (ip) {
        looked = true;
        const cidr = this.#cidrs.match(ip);
        if (cidr !== undefined) return { cidr, source: 'policy' };
      }
    }
    return looked ? null : undefined;
  }
}

/** Why a request's network is in a set: the ASN or the CIDR block, and which list said so. */
export interface NetworkHit {
  readonly asn?: number;
  readonly cidr?: string;
  /** A built-in list's name, or "policy" for numbers and blocks written in the policy. */
  readonly source: string;
}

const NOTHING_LISTED = { VPN: undetermined('the policy lists no VPN networks'), hosting: undetermined('the policy lists no hosting networks') };
const NO_LOOKUP = undetermined('no ASN or IP to look up');

/** NETWORK_VPN or NETWORK_HOSTING from the policy's network set. */
export function detectNetwork(view: RequestView, set: NetworkSet, kind: 'VPN' | 'hosting'): Signal {
  if (set.isEmpty) return NOTHING_LISTED[kind];
  const hit = set.match(view);
  if (hit === undefined) return NO_LOOKUP;
  if (hit === null) return SIGNAL_FALSE;
  const where = hit.asn !== undefined ? `AS${hit.asn}` : `${hit.cidr ?? ''}`;
  return {
    value: true,
    message: `The IP belongs to a known ${kind} network (${where}, ${hit.source}).`,
    evidence: { ...hit, ip: view.facts.ip ?? null, asOrganization: view.facts.geo.asOrganization ?? null },
  };
}

/** Matches an `asn` rule. */
export function matchAsn(view: RequestView, set: NetworkSet, ruleId: string, allow: boolean): RuleHit | undefined {
  const hit = set.match(view);
  if (!hit || hit.asn === undefined) return undefined;
  return {
    code: allow ? 'ASN_ALLOWED' : 'ASN_DENIED',
    message: `The IP's network AS${hit.asn} is listed by rule ${ruleId}.`,
    evidence: { asn: hit.asn, source: hit.source, asOrganization: view.facts.geo.asOrganization ?? null },
  };
}

/** Matches a `cidr` rule. */
export function matchCidr(view: RequestView, cidrs: CidrSet, ruleId: string, allow: boolean): RuleHit | undefined {
  const ip = view.ip;
  const cidr = ip && cidrs.match(ip);
  if (!cidr) return undefined;
  return {
    code: allow ? 'IP_ALLOWED' : 'IP_DENIED',
    message: `The IP ${view.facts.ip} is in ${cidr}, listed by rule ${ruleId}.`,
    evidence: { ip: view.facts.ip, cidr },
  };
}
