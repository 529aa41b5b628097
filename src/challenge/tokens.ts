// Signed tokens of the challenge flow, both JWS (HS256, jose) under CLEARANCE_SECRET:
// - a *ticket* comes with every challenge decision: what was challenged (account, network, the
//   reason codes, the kinds offered), so that the challenge routes clear exactly that;
// - a *clearance* is what passing a challenge earns: sent back with later checks, it lifts the
//   challenges for the reasons it cleared (judged by src/engine/clearance.ts).
// The two never stand in for each other: each has its own `typ` header and audience, checked on
// every read. Verification tries the current secret, then CLEARANCE_SECRET_PREVIOUS (rotation).
import { compactVerify, jwtVerify, SignJWT } from 'jose';
import * as z from 'zod';
import { bytesToBase64 } from '../engine/base64';
import { CLEARABLE_CODES, type ClearanceClaims, type ClearanceInput } from '../engine/clearance';

const ISSUER = 'geogate';
const CLEARANCE_TYPE = 'gg-clearance+jwt';
const CLEARANCE_AUDIENCE = 'geogate:clearance';
const TICKET_TYPE = 'gg-ticket+jwt';
const TICKET_AUDIENCE = 'geogate:ticket';

/** Longest token accepted anywhere (a clearance is ~500 characters). */
export const MAX_TOKEN_LENGTH = 4096;

const encoder = new TextEncoder();
const keys = new Map<string, Promise<CryptoKey>>();
/**
 * The HMAC-SHA-256 key of a secret, imported once per isolate: given raw bytes, jose imports a
 * CryptoKey on every sign and verify (~40 µs each here), which every challenge decision paid.
 */
function keyOf(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    if (keys.size > 8) keys.clear();
    key = crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
    // A failed import is not cached: the next call tries again.
    key.catch(() => keys.delete(secret));
    keys.set(secret, key);
  }
  return key;
}

const seconds = (ms: number) => Math.floor(ms / 1000);

/**
 * Whether a token has the shape of a compact JWS at most MAX_TOKEN_LENGTH long: three
 * dot-separated base64url parts, nothing else (a repeated header arrives joined by ", ").
 */
const isCompactJws = (token: string) => token.length <= MAX_TOKEN_LENGTH && /^[\w-]+\.[\w-]+\.[\w-]+$/.test(token);

const code = z.enum(CLEARABLE_CODES);
const name = z.string().min(1).max(256);

/** The payload of a clearance as signed. */
const ClearancePayload = z.object({
  iss: z.literal(ISSUER),
  aud: z.literal(CLEARANCE_AUDIENCE),
  jti: name,
  sub: name.optional(),
  net: z.string().min(1).max(64),
  knd: z.string().min(1).max(32),
  mth: z.string().max(64).optional(),
  rsn: z.array(code).max(64),
  pv: z.string().max(128),
  iat: z.int().nonnegative(),
  exp: z.int().nonnegative(),
});

/** The payload of a challenge ticket as signed. */
const TicketPayload = z.object({
  iss: z.literal(ISSUER),
  aud: z.literal(TICKET_AUDIENCE),
  jti: name,
  sub: name.optional(),
  net: z.string().min(1).max(64).optional(),
  rsn: z.array(code).max(64),
  knd: z.array(z.string().min(1).max(32)).min(1).max(16),
  pv: z.string().max(128),
  iat: z.int().nonnegative(),
  exp: z.int().nonnegative(),
});

/** What a clearance is issued for. */
export interface ClearanceGrant extends Omit<ClearanceClaims, 'id'> {
  /** How the origin re-verified the user (step-up), for audits. */
  readonly method?: string;
}

/** Signs a clearance with the current secret; answers the token and its id. */
export async function signClearance(secret: string, grant: ClearanceGrant): Promise<{ token: string; id: string }> {
  const id = crypto.randomUUID();
  const token = await new SignJWT({
    ...(grant.account !== undefined ? { sub: grant.account } : {}),
    net: grant.network,
    knd: grant.kind,
    ...(grant.method !== undefined ? { mth: grant.method } : {}),
    rsn: [...grant.reasons],
    pv: grant.policyVersion,
  })
    .setProtectedHeader({ alg: 'HS256', typ: CLEARANCE_TYPE })
    .setIssuer(ISSUER)
    .setAudience(CLEARANCE_AUDIENCE)
    .setJti(id)
    .setIssuedAt(seconds(grant.issuedAt))
    .setExpirationTime(seconds(grant.expiresAt))
    .sign(await keyOf(secret));
  return { token, id };
}

/**
 * Reads a presented clearance: checks its signature (current secret, then the previous one),
 * type and shape, and answers its claims for the engine to judge (expiry, binding, revocation),
 * or why it is refused. Never throws.
 */
export async function readClearance(token: string, secrets: readonly string[]): Promise<ClearanceInput> {
  if (secrets.length === 0) return { status: 'invalid', why: 'not-configured' };
  if (!isCompactJws(token)) return { status: 'invalid', why: 'malformed' };
  for (const secret of secrets) {
    let verified: Awaited<ReturnType<typeof compactVerify>>;
    try {
      verified = await compactVerify(token, await keyOf(secret), { algorithms: ['HS256'] });
    } catch {
      continue;
    }
    if (verified.protectedHeader.typ !== CLEARANCE_TYPE) return { status: 'invalid', why: 'malformed' };
    let payload: unknown;
    try {
      payload = JSON.parse(new TextDecoder().decode(verified.payload));
    } catch {
      return { status: 'invalid', why: 'malformed' };
    }
    const p = ClearancePayload.safeParse(payload);
    if (!p.success) return { status: 'invalid', why: 'malformed' };
    const c = p.data;
    return {
      status: 'signed',
      claims: {
        id: c.jti,
        kind: c.knd,
        ...(c.sub !== undefined ? { account: c.sub } : {}),
        network: c.net,
        reasons: c.rsn,
        policyVersion: c.pv,
        issuedAt: c.iat * 1000,
        expiresAt: c.exp * 1000,
      },
    };
  }
  return { status: 'invalid', why: 'signature' };
}

/** What a challenge ticket says was challenged. */
export interface ChallengeTicket {
  /** The request id of the challenged check. */
  readonly requestId: string;
  readonly account?: string;
  /** The network of the challenged request's IP (absent when it named none). */
  readonly network?: string;
  /** The reason codes the challenge is about (ChallengeOffer.clears). */
  readonly reasons: readonly string[];
  /** The kinds offered, most preferred first. */
  readonly kinds: readonly string[];
  readonly policyVersion: string;
  readonly issuedAt: number;
  readonly expiresAt: number;
}

/** base64url of text (UTF-8), without padding. */
function base64UrlOfText(text: string): string {
  // ASCII, the common case, is its own UTF-8: btoa takes it as it is.
  // eslint-disable-next-line no-control-regex
  const b64 = /^[\x00-\x7f]*$/.test(text) ? btoa(text) : bytesToBase64(encoder.encode(text));
  return toBase64Url(b64);
}

const toBase64Url = (b64: string) => b64.replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');

/** The protected header of every ticket, encoded once. */
const TICKET_HEADER = base64UrlOfText(JSON.stringify({ alg: 'HS256', typ: TICKET_TYPE }));

/**
 * Signs a challenge ticket with the current secret: a compact JWS (HS256) that jose reads back
 * ({@link readTicket}). Written out rather than through jose's SignJWT because every challenge
 * decision signs one: SignJWT's header and claim checks cost more than the HMAC itself on the
 * check's latency (docs: bench/README.md, "HTTP").
 */
export async function signTicket(secret: string, t: ChallengeTicket): Promise<string> {
  const payload = JSON.stringify({
    ...(t.account !== undefined ? { sub: t.account } : {}),
    ...(t.network !== undefined ? { net: t.network } : {}),
    rsn: t.reasons,
    knd: t.kinds,
    pv: t.policyVersion,
    iss: ISSUER,
    aud: TICKET_AUDIENCE,
    jti: t.requestId,
    iat: seconds(t.issuedAt),
    exp: seconds(t.expiresAt),
  });
  const signingInput = `${TICKET_HEADER}.${base64UrlOfText(payload)}`;
  const mac = await crypto.subtle.sign('HMAC', await keyOf(secret), encoder.encode(signingInput));
  return `${signingInput}.${toBase64Url(bytesToBase64(new Uint8Array(mac)))}`;
}

/** Why a ticket is refused. */
export type TicketProblem = 'malformed' | 'signature' | 'expired';

/** Reads a challenge ticket at `now`: its claims, or why it is refused. Never throws. */
export async function readTicket(token: string, secrets: readonly string[], now: number): Promise<{ ok: true; ticket: ChallengeTicket } | { ok: false; why: TicketProblem }> {
  if (!isCompactJws(token)) return { ok: false, why: 'malformed' };
  for (const secret of secrets) {
    try {
      const { payload } = await jwtVerify(token, await keyOf(secret), {
        algorithms: ['HS256'],
        typ: TICKET_TYPE,
        audience: TICKET_AUDIENCE,
        issuer: ISSUER,
        currentDate: new Date(now),
      });
      const p = TicketPayload.safeParse(payload);
      if (!p.success) return { ok: false, why: 'malformed' };
      const t = p.data;
      return {
        ok: true,
        ticket: {
          requestId: t.jti,
          ...(t.sub !== undefined ? { account: t.sub } : {}),
          ...(t.net !== undefined ? { network: t.net } : {}),
          reasons: t.rsn,
          kinds: t.knd,
          policyVersion: t.pv,
          issuedAt: t.iat * 1000,
          expiresAt: t.exp * 1000,
        },
      };
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code === 'ERR_JWT_EXPIRED') return { ok: false, why: 'expired' };
      if (code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') continue;
      return { ok: false, why: 'malformed' };
    }
  }
  return { ok: false, why: 'signature' };
}
