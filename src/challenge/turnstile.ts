// Cloudflare Turnstile's siteverify, the one outbound call geogate makes. One answer per token:
// tokens are single use and live 300 s, so a replayed or stale token fails (`timeout-or-duplicate`).
// The call is bounded (3 s in all) and retried once, with the same idempotency_key, when the
// network or siteverify itself failed: siteverify answers a retried key as it answered the first
// call instead of calling the token spent. Every outcome but a verified success is an error value.
import * as z from 'zod';
import type { TurnstileConfig } from './config';

/** Cloudflare's siteverify endpoint. */
export const SITEVERIFY_URL = 'https://challenges.cloudflare.com/turnstile/v0/siteverify';

/** The whole budget of one verification, retries included. */
export const SITEVERIFY_TIMEOUT_MS = 3000;

/** Longest Turnstile token (Cloudflare's documented bound). */
export const MAX_TURNSTILE_TOKEN_LENGTH = 2048;

/**
 * Cloudflare's documented test keys: site keys render a widget that always passes (visible or
 * invisible), always blocks, or forces an interactive challenge; secret keys make siteverify
 * always pass, always fail, or answer "token already spent". The dummy token they produce is
 * refused by real secrets.
 */
export const TURNSTILE_TEST_KEYS = {
  siteKeyPasses: '1x00000000000000000000AA',
  siteKeyBlocks: '2x00000000000000000000AB',
  siteKeyInteractive: '3x00000000000000000000FF',
  secretPasses: '1x0000000000000000000000000000000AA',
  secretFails: '2x0000000000000000000000000000000AA',
  secretSpent: '3x0000000000000000000000000000000AA',
  dummyToken: 'XXXX.DUMMY.TOKEN.XXXX',
} as const;

/** Siteverify's answer, as far as geogate reads it. */
const SiteverifyAnswer = z.object({
  success: z.boolean(),
  'error-codes': z.array(z.string()).default([]),
  hostname: z.string().optional(),
  action: z.string().optional(),
  challenge_ts: z.string().optional(),
});

/** How a verification ended. */
export type TurnstileOutcome =
  | { readonly ok: true; readonly hostname: string; readonly action?: string; readonly challengeTs?: string }
  | {
      readonly ok: false;
      /**
       * `failed`: the token is invalid; `spent`: used before or older than 300 s; `hostname` /
       * `action`: solved on another site or widget; `unavailable`: siteverify failed, refused
       * geogate's secret or answered something unreadable; `timeout`: no answer within 3 s.
       */
      readonly kind: 'failed' | 'spent' | 'hostname' | 'action' | 'unavailable' | 'timeout';
      readonly message: string;
      readonly errorCodes?: readonly string[];
    };

/** One verification. */
export interface SiteverifyRequest {
  readonly token: string;
  /** The end user's IP, sent as `remoteip`. */
  readonly ip: string;
  /** Reused by the retry; a UUID. */
  readonly idempotencyKey: string;
}

/** Options of {@link siteverify} (tests shorten the budget and count the calls). */
export interface SiteverifyOptions {
  /** @default SITEVERIFY_TIMEOUT_MS */
  readonly timeoutMs?: number;
  /** @default globalThis.fetch */
  readonly fetcher?: typeof fetch;
}

const SECRET_REFUSED = new Set(['missing-input-secret', 'invalid-input-secret']);

/** Verifies a Turnstile token with siteverify and checks where it was solved. Never throws. */
export async function siteverify(config: TurnstileConfig, req: SiteverifyRequest, options: SiteverifyOptions = {}): Promise<TurnstileOutcome> {
  const fetcher = options.fetcher ?? fetch;
  const deadline = new AbortController();
  // The deadline also settles the wait itself: a fetch (or a stub) that ignores the abort signal
  // must not hold the request.
  let timedOut!: () => void;
  const late = new Promise<Call>((resolve) => (timedOut = () => resolve({ kind: 'timeout' })));
  const timer = setTimeout(() => {
    deadline.abort();
    timedOut();
  }, options.timeoutMs ?? SITEVERIFY_TIMEOUT_MS);
  const body = JSON.stringify({ secret: config.secret, response: req.token, remoteip: req.ip, idempotency_key: req.idempotencyKey });
  try {
    let answer: unknown;
    for (let attempt = 1; ; attempt++) {
      const got = await Promise.race([call(fetcher, body, deadline.signal), late]);
      if (got.kind === 'answer') {
        answer = got.json;
        break;
      }
      if (got.kind === 'timeout' || deadline.signal.aborted) return { ok: false, kind: 'timeout', message: 'Turnstile siteverify did not answer within 3 s.' };
      if (attempt >= 2) return { ok: false, kind: 'unavailable', message: `Turnstile siteverify failed (${got.what}).` };
    }
    return judge(config, answer);
  } finally {
    clearTimeout(timer);
  }
}

type Call = { kind: 'answer'; json: unknown } | { kind: 'retry'; what: string } | { kind: 'timeout' };

/** One POST; retryable failures (network, 5xx, 429) are `retry`, a JSON body (any status) is the answer. */
async function call(fetcher: typeof fetch, body: string, signal: AbortSignal): Promise<Call> {
  let res: Response;
  try {
    res = await fetcher(SITEVERIFY_URL, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal });
  } catch {
    return signal.aborted ? { kind: 'timeout' } : { kind: 'retry', what: 'network error' };
  }
  try {
    if (res.status >= 500 || res.status === 429) {
      await res.body?.cancel();
      return { kind: 'retry', what: `HTTP ${res.status}` };
    }
    return { kind: 'answer', json: await res.json() };
  } catch {
    return signal.aborted ? { kind: 'timeout' } : { kind: 'answer', json: undefined };
  }
}

/** Reads siteverify's answer and checks hostname and action. */
function judge(config: TurnstileConfig, json: unknown): TurnstileOutcome {
  const parsed = SiteverifyAnswer.safeParse(json);
  if (!parsed.success) return { ok: false, kind: 'unavailable', message: 'Turnstile siteverify answered something that is not a verification result.' };
  const a = parsed.data;
  const errorCodes = a['error-codes'].filter((c) => /^[a-z0-9-]{1,64}$/.test(c)).slice(0, 8);
  if (!a.success) {
    if (errorCodes.includes('timeout-or-duplicate')) {
      return { ok: false, kind: 'spent', message: 'The Turnstile token was already used or is older than 300 s; show the widget again.', errorCodes };
    }
    if (errorCodes.some((c) => SECRET_REFUSED.has(c)) || errorCodes.includes('internal-error')) {
      return { ok: false, kind: 'unavailable', message: "Turnstile siteverify could not verify the token (geogate's TURNSTILE_SECRET refused, or an internal error).", errorCodes };
    }
    return { ok: false, kind: 'failed', message: 'The Turnstile token is not valid.', errorCodes };
  }
  const hostname = (a.hostname ?? '').toLowerCase();
  if (!config.hostnames.includes(hostname)) {
    return { ok: false, kind: 'hostname', message: 'The Turnstile challenge was solved on a hostname this deployment does not list (TURNSTILE_HOSTNAMES).' };
  }
  if (config.action !== undefined && a.action !== config.action) {
    return { ok: false, kind: 'action', message: 'The Turnstile challenge was solved with another widget action than TURNSTILE_ACTION.' };
  }
  return { ok: true, hostname, ...(a.action !== undefined ? { action: a.action } : {}), ...(a.challenge_ts !== undefined ? { challengeTs: a.challenge_ts } : {}) };
}
