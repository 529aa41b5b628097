// Network facts: which autonomous system and address block the IP belongs to. Provides the
// NETWORK_VPN / NETWORK_HOSTING / NETWORK_LISTED signals and the `asn` / `cidr` rule matchers.
// A network set is what the policy lists (ASNs, CIDR blocks, named lists) plus built-in lists,
// which stand for a category of the network intel (src/engine/intel.ts) and match its blocks from
// the IP alone as well as its ASNs, so a forwarded IP without an ASN is enough.
// CIDR lookups that add suspicion (deny/challenge rules, network sets) also match the IPv4 an
// IPv6 address embeds (6to4, Teredo, NAT64...); allow-exceptions match only the address itself,
// since a sender can pick an IPv6 form embedding someone else's allowed IPv4 (see IpMatchMode).
import type { IntelCategory } from '../intel';
import { CidrSet, type MatchVia } from '../ip';
import { BUILTIN_LIST_CATEGORY, type BuiltinListName } from '../lists';
import { SIGNAL_FALSE, undetermined, type Signal } from '../types';
import type { RequestView, RuleHit } from './geo';

/** A named list's ASNs, as a NetworkSet takes them. */
export interface NamedAsns {
  readonly name: string;
  readonly asns: readonly number[];
}

/**
 * CIDR blocks and where they came from: a set ("policy" for blocks written in the policy, else
 * a named list's name), or a built-in list (the intel's blocks of its category).
 */
export type SourcedCidrs = { readonly set: CidrSet; readonly source: string } | { readonly builtin: BuiltinListName; readonly source: string };

/** What a NetworkSet is built from. */
export interface NetworkSetParts {
  /** ASNs written in the policy (source "policy"). */
  asns?: readonly number[] | undefined;
  /** CIDR blocks written in the policy (source "policy"): a set, or texts (validated already). */
  cidrs?: CidrSet | readonly string[] | undefined;
  /** Built-in lists: the intel's ASNs and blocks of their category. */
  builtin?: readonly BuiltinListName[] | undefined;
  /** Named `asn` lists. */
  namedAsns?: readonly NamedAsns[] | undefined;
  /** Named `cidr` lists. */
  namedCidrs?: readonly { readonly name: string; readonly set: CidrSet }[] | undefined;
}

/** Why a request's network is in a set: the ASN or the CIDR block, and which list said so. */
export interface NetworkHit {
  /** Whether the request's ASN or its IP is what is listed. */
  readonly matchedBy: 'asn' | 'ip';
  readonly asn?: number;
  readonly cidr?: string;
  /** With `cidr`: whether the address itself or an IPv4 it embeds (and how) is in the block. */
  readonly via?: MatchVia;
  /** With `cidr`: the address found in the block (the request's, or the embedded IPv4). */
  readonly matchedIp?: string;
  /** A built-in list's name, a named list's name, or "policy" for numbers and blocks written in the policy. */
  readonly source: string;
  /** For built-in lists: the intel category and the intel version that answered. */
  readonly category?: IntelCategory;
  readonly intel?: string;
  /** For built-in lists: the provider note the intel gives for the request's ASN, if any. */
  readonly note?: string;
}

/**
 * One Set per named list's ASN array, shared by every set and rule that names the list: a list of
 * 150,000 ASNs named by thirty sets is indexed once, not copied thirty times on a cold isolate.
 */
const ASN_SETS = new WeakMap<readonly number[], ReadonlySet<number>>();

function asnSetOf(asns: readonly number[]): ReadonlySet<number> {
  let set = ASN_SETS.get(asns);
  if (set === undefined) {
    set = new Set(asns);
    ASN_SETS.set(asns, set);
  }
  return set;
}

/** A compiled set of networks: ASNs and CIDR blocks (each remembering where it is listed) and built-in lists. */
export class NetworkSet {
  /** ASNs written in the policy. */
  readonly #asns: ReadonlySet<number>;
  /** Named `asn` lists, each indexed once (see asnSetOf). */
  readonly #named: readonly { readonly name: string; readonly set: ReadonlySet<number> }[];
  readonly #cidrs: { readonly set: CidrSet; readonly source: string }[] = [];
  readonly #builtin: readonly BuiltinListName[];

  constructor(parts: NetworkSetParts) {
    this.#asns = new Set(parts.asns ?? []);
    const seen = new Set<string>();
    this.#named = (parts.namedAsns ?? []).filter((l) => !seen.has(l.name) && seen.add(l.name)).map((l) => ({ name: l.name, set: asnSetOf(l.asns) }));
    const inline = parts.cidrs === undefined || parts.cidrs instanceof CidrSet ? parts.cidrs : CidrSet.from(parts.cidrs);
    if (inline && inline.size > 0) this.#cidrs.push({ set: inline, source: 'policy' });
    for (const l of parts.namedCidrs ?? []) if (l.set.size > 0) this.#cidrs.push({ set: l.set, source: l.name });
    // Each built-in list once, however often a policy names it.
    this.#builtin = [...new Set(parts.builtin ?? [])];
    this.isEmpty = this.#asns.size === 0 && this.#named.every((l) => l.set.size === 0) && this.#cidrs.length === 0 && this.#builtin.length === 0;
  }

  /** Whether the set lists nothing at all. */
  readonly isEmpty: boolean;

  /**
   * The membership evidence of the request's network, by ASN or IP: a hit, `null` when the facts
   * allowed a lookup that found nothing, `undefined` when there was nothing to look up. The
   * policy's own entries answer first, then the intel's blocks, then its ASNs. Membership only
   * ever adds suspicion, so CIDRs match 'with-embedded'.
   */
  match(view: RequestView): NetworkHit | null | undefined {
    const asn = view.facts.geo.asn;
    let looked = false;
    if (asn !== undefined && (this.#asns.size > 0 || this.#named.length > 0)) {
      looked = true;
      const source = this.#asnSource(asn);
      if (source !== undefined) return { matchedBy: 'asn', asn, source };
    }
    const ip = this.#cidrs.length > 0 || this.#builtin.length > 0 ? view.ip : undefined;
    if (ip) {
      looked = true;
      for (const { set, source } of this.#cidrs) {
        const m = set.match(ip, 'with-embedded');
        if (m !== undefined) return { matchedBy: 'ip', cidr: m.cidr, via: m.via, matchedIp: m.matchedIp, source };
      }
      for (const list of this.#builtin) {
        const category = BUILTIN_LIST_CATEGORY[list];
        const m = view.intel.matchIp(ip, category, 'with-embedded');
        if (m === undefined) continue;
        const note = asn !== undefined && view.intel.asnIn(asn, category) ? view.intel.asnNote(asn) : undefined;
        return { matchedBy: 'ip', cidr: m.cidr, via: m.via, matchedIp: m.matchedIp, source: list, category, intel: view.intel.version, ...(note ? { note } : {}) };
      }
    }
    if (asn !== undefined && this.#builtin.length > 0) {
      looked = true;
      const hit = this.#builtinAsn(view, asn);
      if (hit) return hit;
    }
    return looked ? null : undefined;
  }

  /** The ASN evidence alone (for `asn` rules): the policy's and named lists' ASNs, then the intel's. */
  matchAsn(view: RequestView): NetworkHit | undefined {
    const asn = view.facts.geo.asn;
    if (asn === undefined) return undefined;
    const source = this.#asnSource(asn);
    if (source !== undefined) return { matchedBy: 'asn', asn, source };
    return this.#builtinAsn(view, asn);
  }

  /** Where `asn` is listed: "policy" when written in the policy, else the first named list holding it. */
  #asnSource(asn: number): string | undefined {
    if (this.#asns.has(asn)) return 'policy';
    for (const l of this.#named) if (l.set.has(asn)) return l.name;
    return undefined;
  }

  #builtinAsn(view: RequestView, asn: number): NetworkHit | undefined {
    for (const list of this.#builtin) {
      const category = BUILTIN_LIST_CATEGORY[list];
      if (!view.intel.asnIn(asn, category)) continue;
      const note = view.intel.asnNote(asn);
      return { matchedBy: 'asn', asn, source: list, category, intel: view.intel.version, ...(note ? { note } : {}) };
    }
    return undefined;
  }
}

/** The network signals, each fed by one of the policy's network sets. */
export type NetworkKind = 'VPN' | 'hosting';

const NOTHING_LISTED = { VPN: undetermined('the policy lists no VPN networks'), hosting: undetermined('the policy lists no hosting networks') };
const NO_LOOKUP = undetermined('no ASN or IP to look up');
const NO_CATEGORIES = undetermined('the policy defines no network categories');

/** Where a hit was found, for messages: "2.26.157.0/24 (x4b-vpn; M247, GB (NordVPN))". */
function describe(hit: NetworkHit): string {
  const embedded = hit.via !== undefined && hit.via !== 'address' ? `, embedded IPv4 ${hit.matchedIp ?? ''} via ${hit.via}` : '';
  const where = hit.asn !== undefined && hit.matchedBy === 'asn' ? `AS${hit.asn}` : `${hit.cidr ?? ''}${embedded}`;
  return `${where}, ${hit.source}${hit.note ? `; ${hit.note}` : ''}`;
}

function evidenceOf(view: RequestView, hit: NetworkHit): Record<string, unknown> {
  return { ...hit, ip: view.facts.ip ?? null, asOrganization: view.facts.geo.asOrganization ?? null };
}

/** NETWORK_VPN or NETWORK_HOSTING from the policy's network set. */
export function detectNetwork(view: RequestView, set: NetworkSet, kind: NetworkKind): Signal {
  if (set.isEmpty) return NOTHING_LISTED[kind];
  const hit = set.match(view);
  if (hit === undefined) return NO_LOOKUP;
  if (hit === null) return SIGNAL_FALSE;
  const by = hit.matchedBy === 'ip' ? 'IP' : 'ASN';
  return {
    value: true,
    message: `The ${by} belongs to a known ${kind} network (${describe(hit)}).`,
    evidence: evidenceOf(view, hit),
  };
}

/** The policy's own network categories (e.g. `relay`), by name, each a network set. */
export type NetworkCategories = readonly { readonly name: string; readonly set: NetworkSet }[];

/**
 * NETWORK_LISTED: the request's network is in one of the policy's own categories (an operator's
 * feed of relay ranges, say). Evidence names the first category that matched, and all of them.
 */
export function detectListedNetwork(view: RequestView, categories: NetworkCategories): Signal {
  if (categories.length === 0) return NO_CATEGORIES;
  let first: { name: string; hit: NetworkHit } | undefined;
  const matched: string[] = [];
  let looked = false;
  for (const { name, set } of categories) {
    const hit = set.match(view);
    if (hit !== undefined) looked = true;
    if (!hit) continue;
    matched.push(name);
    first ??= { name, hit };
  }
  if (!first) return looked ? SIGNAL_FALSE : NO_LOOKUP;
  const by = first.hit.matchedBy === 'ip' ? 'IP' : 'ASN';
  return {
    value: true,
    message: `The ${by} belongs to the policy's "${first.name}" networks (${describe(first.hit)}).`,
    evidence: { networkCategory: first.name, categories: matched, ...evidenceOf(view, first.hit) },
  };
}

/** Matches an `asn` rule (its ASNs, named `asn` lists, and the ASNs of built-in lists). */
export function matchAsn(view: RequestView, set: NetworkSet, ruleId: string, allow: boolean): RuleHit | undefined {
  const hit = set.matchAsn(view);
  if (!hit || hit.asn === undefined) return undefined;
  return {
    code: allow ? 'ASN_ALLOWED' : 'ASN_DENIED',
    message: `The IP's network AS${hit.asn} is listed by rule ${ruleId}${hit.source === 'policy' ? '' : ` (list ${hit.source}${hit.note ? `; ${hit.note}` : ''})`}.`,
    evidence: {
      asn: hit.asn,
      source: hit.source,
      asOrganization: view.facts.geo.asOrganization ?? null,
      ...(hit.intel ? { category: hit.category, intel: hit.intel } : {}),
      ...(hit.note ? { note: hit.note } : {}),
    },
  };
}

/**
 * Matches a `cidr` rule. An allow rule lifts other reasons, so it matches the address only
 * ('exact'); deny and challenge rules also match an embedded IPv4 ('with-embedded').
 */
export function matchCidr(view: RequestView, sets: readonly SourcedCidrs[], ruleId: string, allow: boolean): RuleHit | undefined {
  const ip = view.ip;
  if (!ip) return undefined;
  const mode = allow ? 'exact' : 'with-embedded';
  for (const entry of sets) {
    const source = entry.source;
    const m = 'set' in entry ? entry.set.match(ip, mode) : view.intel.matchIp(ip, BUILTIN_LIST_CATEGORY[entry.builtin], mode);
    if (!m) continue;
    const what = m.via === 'address' ? `The IP ${view.facts.ip}` : `The IP ${view.facts.ip} (embedding ${m.matchedIp}, ${m.via})`;
    const where = source === 'policy' ? '' : ` (list ${source})`;
    return {
      code: allow ? 'IP_ALLOWED' : 'IP_DENIED',
      message: `${what} is in ${m.cidr}${where}, listed by rule ${ruleId}.`,
      evidence: { ip: view.facts.ip, cidr: m.cidr, via: m.via, matchedIp: m.matchedIp, source, ...('builtin' in entry ? { intel: view.intel.version } : {}) },
    };
  }
  return undefined;
}
