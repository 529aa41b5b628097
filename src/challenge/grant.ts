// Turning a passed challenge into a clearance: shared by POST /v1/challenge/step-up,
// POST /v1/challenge/turnstile and the hosted page. What a clearance clears comes from the
// challenge's signed ticket (exactly what was challenged) or, without one, from the reason codes
// the origin names; it is bound to the account and to the network of the user's IP, and it
// carries the kind passed and the policy version in force. Expected refusals are values.
import { inNetwork, networkOf, TURNSTILE_KIND } from '../engine/clearance';
import type { CompiledPolicy } from '../engine/compile';
import { readTicket, signClearance, type ChallengeTicket, type ClearanceGrant, type TicketProblem } from './tokens';

/** What the caller asks a clearance for. */
export interface GrantRequest {
  /** The kind passed (`turnstile` only from geogate's own verification). */
  readonly kind: string;
  readonly method?: string;
  readonly account?: string;
  readonly ip: string;
  readonly ticket?: string;
  readonly reasons?: readonly string[];
  readonly requestId?: string;
}

/** An issued clearance, as the challenge routes answer it. */
export interface GrantedClearance {
  readonly clearance: string;
  /** The clearance's own id. */
  readonly id: string;
  readonly expiresAt: string;
  readonly kind: string;
  readonly reasons: readonly string[];
  readonly account: string | null;
  readonly network: string;
  readonly policyVersion: string;
}

/** Why no clearance was issued; `path` names the body field at fault. */
export interface GrantRefusal {
  readonly code: 'TICKET_INVALID' | 'TICKET_MISMATCH' | 'KIND_NOT_OFFERED' | 'INVALID_REQUEST';
  readonly path: string;
  readonly message: string;
}

const TICKET_MESSAGE: Readonly<Record<TicketProblem, string>> = {
  malformed: 'is not a challenge ticket from this deployment',
  signature: 'is not signed by a key in force',
  expired: 'has expired (challenge.expiresInSeconds): check the request again for a new challenge',
};

/** Reads and checks a ticket against the request; answers what it says, or why it does not fit. */
export async function ticketFor(req: GrantRequest, token: string, secrets: readonly string[], now: number): Promise<{ ok: true; ticket: ChallengeTicket } | { ok: false; refusal: GrantRefusal }> {
  const read = await readTicket(token, secrets, now);
  if (!read.ok) return { ok: false, refusal: { code: 'TICKET_INVALID', path: 'ticket', message: `The ticket ${TICKET_MESSAGE[read.why]}.` } };
  const t = read.ticket;
  const mismatch = (path: string, what: string): { ok: false; refusal: GrantRefusal } => ({
    ok: false,
    refusal: { code: 'TICKET_MISMATCH', path, message: `The ticket was issued for ${what}.` },
  });
  if (t.account !== req.account) return mismatch('account.id', t.account === undefined ? 'a request without an account' : 'another account');
  if (t.network === undefined || !inNetwork(req.ip, t.network)) return mismatch('ip', t.network === undefined ? 'a request without an IP' : "another network than this IP's");
  if (req.requestId !== undefined && req.requestId !== t.requestId) return mismatch('requestId', 'another request id');
  return { ok: true, ticket: t };
}

/**
 * What a clearance for a passed challenge under `policy` would say: the ticket, when given, fixes
 * the reasons, the network and the kinds that may pass; without one, the kind must be one the
 * policy lists and the reasons are the caller's. Signs nothing (see {@link grantClearance}).
 */
export async function planClearance(req: GrantRequest, policy: CompiledPolicy, secrets: readonly string[], now: number): Promise<{ ok: true; grant: ClearanceGrant } | { ok: false; refusal: GrantRefusal }> {
  let reasons: readonly string[];
  let network: string | undefined;
  let offered: readonly string[];
  if (req.ticket !== undefined) {
    const checked = await ticketFor(req, req.ticket, secrets, now);
    if (!checked.ok) return checked;
    reasons = checked.ticket.reasons;
    network = checked.ticket.network;
    offered = checked.ticket.kinds;
  } else if (req.reasons !== undefined) {
    reasons = [...new Set(req.reasons)].sort();
    network = networkOf(req.ip, policy.challenge.bind);
    offered = policy.challenge.kinds;
  } else {
    return { ok: false, refusal: { code: 'INVALID_REQUEST', path: 'ticket', message: "send the challenge's ticket (challenge.ticket of the decision), or the reason codes to clear in `reasons`" } };
  }
  if (!offered.includes(req.kind)) {
    const where = req.ticket !== undefined ? 'the challenge offered' : 'the policy lists (challenge.kinds)';
    return { ok: false, refusal: { code: 'KIND_NOT_OFFERED', path: req.kind === TURNSTILE_KIND ? 'token' : 'kind', message: `"${req.kind}" is not a kind ${where}: ${offered.join(', ')}.` } };
  }
  if (network === undefined) return { ok: false, refusal: { code: 'INVALID_REQUEST', path: 'ip', message: 'must be an IPv4 or IPv6 address' } };
  return {
    ok: true,
    grant: {
      kind: req.kind,
      ...(req.method !== undefined ? { method: req.method } : {}),
      ...(req.account !== undefined ? { account: req.account } : {}),
      network,
      reasons,
      policyVersion: policy.version,
      issuedAt: now,
      expiresAt: now + policy.challenge.clearanceTtlSeconds * 1000,
    },
  };
}

/**
 * Signs a planned clearance with the current secret, issued at `now` (after a Turnstile answer
 * was verified, a few seconds may have passed since it was planned: the lifetime starts now).
 */
export async function signPlanned(grant: ClearanceGrant, secret: string, now: number): Promise<GrantedClearance> {
  const g: ClearanceGrant = { ...grant, issuedAt: now, expiresAt: grant.expiresAt + (now - grant.issuedAt) };
  const { token, id } = await signClearance(secret, g);
  return {
    clearance: token,
    id,
    // Whole seconds: what the token itself says.
    expiresAt: new Date(Math.floor(g.expiresAt / 1000) * 1000).toISOString(),
    kind: g.kind,
    reasons: g.reasons,
    account: g.account ?? null,
    network: g.network,
    policyVersion: g.policyVersion,
  };
}

/** Plans ({@link planClearance}) and signs ({@link signPlanned}) a clearance with `secrets[0]`, the current secret. */
export async function grantClearance(req: GrantRequest, policy: CompiledPolicy, secrets: readonly string[], now: number): Promise<{ ok: true; granted: GrantedClearance } | { ok: false; refusal: GrantRefusal }> {
  const plan = await planClearance(req, policy, secrets, now);
  if (!plan.ok) return plan;
  return { ok: true, granted: await signPlanned(plan.grant, secrets[0] ?? '', now) };
}
