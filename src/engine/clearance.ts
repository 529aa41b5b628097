// Challenges and the clearances that resolve them. Pure: the transport checks a clearance's
// signature and reads its revocation; this module judges what is left (expiry, the account and
// network it is bound to, revocation) and which challenge reasons a clearance covers.
//
// A clearance lifts a `challenge` and nothing else: never a deny, and only when every reason that
// challenges is one it cleared (a score challenge is covered when every signal feeding the score
// was cleared). A new, different reason challenges again.
import { embeddedIpv4, parseIp, type ParsedIp } from './ip';
import { RESTRICTING_RULE_CODES, SIGNAL_NAMES, type Reason, type ReasonCode } from './types';

/** The id reported as `rule` for CLEARANCE_* reasons and as `liftedBy` (camel case: no rule id can take it). */
export const CLEARANCE_RULE = 'challengeClearance';

/** The challenge kind geogate verifies itself (Cloudflare Turnstile). */
export const TURNSTILE_KIND = 'turnstile';
/** The origin's own re-verification (KYC, e-mail or phone OTP, SSO re-login). */
export const STEP_UP_KIND = 'step-up';

/**
 * Every reason code that can make a request challenge, so the codes a clearance (or a challenge
 * offer) may name: the signals (a score challenge stands for the signals that fed it), the rule
 * codes, GEO_MISSING and MEMORY_UNAVAILABLE. POLICY_UNAVAILABLE is not one: the fail mode decides
 * without the policy, and nothing lifts it.
 */
export const CLEARABLE_CODES = [
  ...SIGNAL_NAMES,
  ...RESTRICTING_RULE_CODES,
  'GEO_MISSING',
  'MEMORY_UNAVAILABLE',
] as const satisfies readonly ReasonCode[];

/** A reason code a clearance may clear. */
export type ClearableCode = (typeof CLEARABLE_CODES)[number];

/** How many leading bits of the user's IP a clearance is bound to. */
export interface ClearanceBinding {
  readonly ipv4Prefix: number;
  readonly ipv6Prefix: number;
}

/** What a clearance asserts (the verified payload of a clearance token). */
export interface ClearanceClaims {
  /** The clearance's own id (for logs and audits). */
  readonly id: string;
  /** The challenge kind the user passed: `turnstile`, `step-up` or a custom kind. */
  readonly kind: string;
  /** The account it is bound to; absent for a visitor without one. */
  readonly account?: string;
  /** The network it is bound to, e.g. `203.0.113.0/24` or `2001:db8:1::/48`. */
  readonly network: string;
  /** The reason codes it clears. */
  readonly reasons: readonly string[];
  /** The version of the policy that issued it (reported, not enforced: reasons carry the meaning). */
  readonly policyVersion: string;
  /** Epoch milliseconds. */
  readonly issuedAt: number;
  /** Epoch milliseconds. */
  readonly expiresAt: number;
}

/** Why a presented clearance does not count. */
export type ClearanceInvalidWhy =
  /** Not a clearance token at all (or several were sent). */
  | 'malformed'
  /** Signed by no key in force, or altered after signing. */
  | 'signature'
  | 'expired'
  /** Issued for another account (or for none, presented with one, or the other way round). */
  | 'account'
  /** Issued for another network, or the request names no IP to compare. */
  | 'network'
  /** Revoked for its account through the admin API. */
  | 'revoked'
  /** The revocation list could not be read in time: the clearance cannot be trusted. */
  | 'revocation-unknown'
  /** The deployment has no CLEARANCE_SECRET: nothing can be verified. */
  | 'not-configured';

/**
 * A clearance as the transport hands it over: its signature verified (`signed`) with what it
 * knows of its account's revocations, or already refused (`invalid`).
 */
export type ClearanceInput =
  | {
      readonly status: 'signed';
      readonly claims: ClearanceClaims;
      /** Epoch ms: clearances of this account issued at or before it are revoked; `unknown` when unreadable. */
      readonly revokedAt?: number | 'unknown';
    }
  | { readonly status: 'invalid'; readonly why: ClearanceInvalidWhy };

/** A judged clearance: one that counts, or why it does not. */
export type ClearanceVerdict = { readonly valid: true; readonly claims: ClearanceClaims } | { readonly valid: false; readonly why: ClearanceInvalidWhy };

/** The network `ip` belongs to under `binding`, as CIDR text; undefined when `ip` is not an address. */
export function networkOf(ip: string, binding: ClearanceBinding): string | undefined {
  const parsed = parseIp(ip);
  return parsed && prefixText(bindable(parsed), binding);
}

/** Translators that map the whole IPv4 internet into one IPv6 prefix: the user is the IPv4 address. */
const TRANSLATED = new Set(['nat64', 'siit', 'ipv4-compatible']);

/**
 * The address a clearance binds: the embedded IPv4 address of a NAT64, SIIT or IPv4-compatible
 * IPv6 address (a /48 of 64:ff9b:: would hold every IPv4 user), else the address itself.
 */
function bindable(ip: ParsedIp): ParsedIp {
  if (ip.version === 4) return ip;
  const v4 = embeddedIpv4(ip).find((e) => TRANSLATED.has(e.via));
  if (v4) return { version: 4, value: v4.value };
  // The local-use NAT64 prefix 64:ff9b:1::/48 (RFC 8215), as deployed with a /96: the low 32 bits.
  if (ip.value >> 80n === 0x64ff9b0001n) return { version: 4, value: Number(ip.value & 0xffffffffn) };
  return ip;
}

function prefixText(ip: ParsedIp, binding: ClearanceBinding): string {
  if (ip.version === 4) {
    const bits = binding.ipv4Prefix;
    const masked = bits === 0 ? 0 : (ip.value >>> (32 - bits)) << (32 - bits);
    const v = masked >>> 0;
    return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}/${bits}`;
  }
  const bits = binding.ipv6Prefix;
  const shift = BigInt(128 - bits);
  const v = (ip.value >> shift) << shift;
  const groups: string[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((v >> BigInt(i * 16)) & 0xffffn).toString(16));
  // Shortened the simple way: trailing zero groups become "::" (a prefix has its zeros at the end).
  let last = groups.length;
  while (last > 0 && groups[last - 1] === '0') last--;
  return `${last === 8 ? groups.join(':') : `${groups.slice(0, last).join(':')}::`}/${bits}`;
}

/** The binding a clearance's network names (`/24` → 24 bits of IPv4), or undefined. */
function bindingOf(network: string): { version: 4 | 6; bits: number } | undefined {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(network);
  if (!m?.[1] || !m[2]) return undefined;
  const ip = parseIp(m[1]);
  const bits = Number(m[2]);
  if (!ip || bits > (ip.version === 4 ? 32 : 128)) return undefined;
  return { version: ip.version, bits };
}

/**
 * Whether `ip` lies in `network` (a clearance's or a ticket's, as {@link networkOf} wrote it),
 * compared at that network's own prefix length, and bound as networkOf binds (an IPv4-mapped,
 * NAT64 or SIIT address is its IPv4 address).
 */
export function inNetwork(ip: string, network: string): boolean {
  const bound = bindingOf(network);
  const parsed = parseIp(ip);
  const here = parsed && bindable(parsed);
  if (!bound || !here || here.version !== bound.version) return false;
  return prefixText(here, { ipv4Prefix: bound.bits, ipv6Prefix: bound.bits }) === network;
}

/**
 * Judges a clearance against one request at `now`: it must be unexpired, name the request's
 * account (or none when the request has none), cover the request's IP with its network, and not
 * be revoked. Anything unknowable (no IP, an unreadable revocation) fails: a clearance opens a
 * door, so doubt keeps it shut.
 */
export function judgeClearance(
  input: ClearanceInput,
  request: { readonly ip?: string; readonly account?: string },
  now: number,
  current?: { readonly bind: ClearanceBinding; readonly clearanceTtlSeconds: number },
): ClearanceVerdict {
  if (input.status === 'invalid') return { valid: false, why: input.why };
  const c = input.claims;
  if (!(now < c.expiresAt) || c.issuedAt > now + CLOCK_LEEWAY_MS) return { valid: false, why: 'expired' };
  // A policy that shortened the TTL shortens the clearances already issued.
  if (current && !(now < c.issuedAt + current.clearanceTtlSeconds * 1000)) return { valid: false, why: 'expired' };
  if (c.account !== request.account) return { valid: false, why: 'account' };
  const bound = bindingOf(c.network);
  if (!bound || request.ip === undefined || !inNetwork(request.ip, c.network)) return { valid: false, why: 'network' };
  // A policy that narrowed the binding narrows the clearances already issued.
  if (current && bound.bits < (bound.version === 4 ? current.bind.ipv4Prefix : current.bind.ipv6Prefix)) return { valid: false, why: 'network' };
  if (input.revokedAt === 'unknown') return { valid: false, why: 'revocation-unknown' };
  if (input.revokedAt !== undefined && c.issuedAt <= input.revokedAt) return { valid: false, why: 'revoked' };
  return { valid: true, claims: c };
}

/**
 * How far in the future a clearance's issue time may lie (the issuing isolate's clock may run
 * ahead of this one's); beyond it the token is treated as expired.
 */
const CLOCK_LEEWAY_MS = 60_000;

/**
 * The reason codes a challenge is about: each standing `challenge` reason's code, except the
 * risk score's, which stands for the signals that fed it (so a clearance of a score challenge
 * covers exactly those signals). Sorted, without repeats.
 */
export function challengeCodes(reasons: readonly Reason[]): string[] {
  const codes = new Set<string>();
  for (const r of reasons) {
    if (r.liftedBy !== undefined || r.action !== 'challenge') continue;
    if (r.code === 'SCORE_CHALLENGE') {
      // challengeAt is positive, so a challenging score always has a signal behind it.
      const signals = r.evidence.signals;
      if (Array.isArray(signals)) for (const s of signals) if (typeof s === 'string') codes.add(s);
    } else {
      codes.add(r.code);
    }
  }
  return [...codes].sort();
}

/** The challenge codes a clearance does not cover (empty: it covers them all). */
export function uncovered(codes: readonly string[], cleared: readonly string[]): string[] {
  return codes.filter((c) => !cleared.includes(c));
}
