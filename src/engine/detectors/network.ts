// Network facts: which autonomous system and address block the IP belongs to. Provides the
// NETWORK_VPN / NETWORK_HOSTING signals and the `asn` / `cidr` rule matchers.
// CIDR lookups that add suspicion (deny/challenge rules, VPN/hosting sets) also match the IPv4 an
// IPv6 address embeds (6to4, Teredo, NAT64...); allow-exceptions match only the address itself,
// since a sender can pick an IPv6 form embedding someone else's allowed IPv4 (see IpMatchMode).
import { CidrSet, type MatchVia } from '../ip';
import { BUILTIN_ASN_LISTS, type BuiltinListName } from '../lists';

/** A named list's ASNs, as a NetworkSet takes them. */
export interface NamedAsns {
  readonly name: string;
  readonly asns: readonly number[];
}

/** A CIDR set and where it came from ("policy" for blocks written in the policy, else a list's name). */
export interface SourcedCidrs {
  readonly set: CidrSet;
  readonly source: string;
}
import { SIGNAL_FALSE, undetermined, type Signal } from '../types';
import type { RequestView, RuleHit } from './geo';

/** A compiled set of networks: ASNs (each remembering the list it came from) and CIDR blocks. */
export class NetworkSet {
  readonly #asns = new Map<number, string>();
  readonly #cidrs: CidrSet;

  /** `asns` listed inline report source "policy"; list members report the list's name. */
  constructor(spec: {
    asns?: readonly number[];
    lists?: readonly BuiltinListName[];
    named?: readonly NamedAsns[];
    cidrs?: readonly string[];
  }) {
    // Each list once, however often a policy names it (a list of 900 ASNs named 149 times per
    // rule in 1,000 rules would otherwise cost 134 million insertions at load).
    for (const list of new Set(spec.lists ?? [])) for (const asn of BUILTIN_ASN_LISTS[list]) this.#asns.set(asn, list);
    for (const list of new Set(spec.named ?? [])) for (const asn of list.asns) this.#asns.set(asn, list.name);
    for (const asn of spec.asns ?? []) this.#asns.set(asn, 'policy');
    this.#cidrs = CidrSet.from(spec.cidrs ?? []);
  }

  /** Whether the set lists anything at all. */
  get isEmpty(): boolean {
    return this.#asns.size === 0 && this.#cidrs.size === 0;
  }

  /**
   * The membership evidence of the request's network: a hit, `null` when the facts allowed a
   * lookup that found nothing, `undefined` when there was nothing to look up. Membership only
   * ever adds suspicion, so CIDRs match 'with-embedded'.
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
        const m = this.#cidrs.match(ip, 'with-embedded');
        if (m !== undefined) return { cidr: m.cidr, via: m.via, matchedIp: m.matchedIp, source: 'policy' };
      }
    }
    return looked ? null : undefined;
  }
}

/** Why a request's network is in a set: the ASN or the CIDR block, and which list said so. */
export interface NetworkHit {
  readonly asn?: number;
  readonly cidr?: string;
  /** With `cidr`: whether the address itself or an IPv4 it embeds (and how) is in the block. */
  readonly via?: MatchVia;
  /** With `cidr`: the address found in the block (the request's, or the embedded IPv4). */
  readonly matchedIp?: string;
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
  const embedded = hit.via !== undefined && hit.via !== 'address' ? `, embedded IPv4 ${hit.matchedIp ?? ''} via ${hit.via}` : '';
  const where = hit.asn !== undefined ? `AS${hit.asn}` : `${hit.cidr ?? ''}${embedded}`;
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

/**
 * Matches a `cidr` rule. An allow rule lifts other reasons, so it matches the address only
 * ('exact'); deny and challenge rules also match an embedded IPv4 ('with-embedded').
 */
export function matchCidr(view: RequestView, sets: readonly SourcedCidrs[], ruleId: string, allow: boolean): RuleHit | undefined {
  const ip = view.ip;
  if (!ip) return undefined;
  for (const { set, source } of sets) {
    const m = set.match(ip, allow ? 'exact' : 'with-embedded');
    if (!m) continue;
    const what = m.via === 'address' ? `The IP ${view.facts.ip}` : `The IP ${view.facts.ip} (embedding ${m.matchedIp}, ${m.via})`;
    const where = source === 'policy' ? '' : ` (list ${source})`;
    return {
      code: allow ? 'IP_ALLOWED' : 'IP_DENIED',
      message: `${what} is in ${m.cidr}${where}, listed by rule ${ruleId}.`,
      evidence: { ip: view.facts.ip, cidr: m.cidr, via: m.via, matchedIp: m.matchedIp, source },
    };
  }
  return undefined;
}
