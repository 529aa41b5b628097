// The deployment's challenge settings and secrets, read and checked in one place:
//   CLEARANCE_SECRET            signs clearances and challenge tickets (HS256); at least 32 characters
//   CLEARANCE_SECRET_PREVIOUS   still accepted when verifying, while a rotation is under way
//   TURNSTILE_SECRET            the Turnstile widget's secret key, for siteverify
//   TURNSTILE_SITE_KEY          the widget's public site key, handed to origins in challenge decisions
//   TURNSTILE_HOSTNAMES         comma-separated hostnames a Turnstile answer must come from
//   TURNSTILE_ACTION            when set, the widget action a Turnstile answer must carry
//   CHALLENGE_PAGE              "true" serves the hosted challenge page at /challenge
// A missing secret disables what needs it (fail closed) and is reported on /healthz.
import { isLoopbackUrl, TOKEN_NAMES, type TokenName } from '../http/auth';
import { isDevDefaultSecret } from '../settings';

/** The variables this module reads (secrets and [vars]); none is required. */
export interface ChallengeEnv {
  CLEARANCE_SECRET?: string;
  CLEARANCE_SECRET_PREVIOUS?: string;
  TURNSTILE_SECRET?: string;
  TURNSTILE_SITE_KEY?: string;
  TURNSTILE_HOSTNAMES?: string;
  TURNSTILE_ACTION?: string;
  CHALLENGE_PAGE?: string;
}

/** Shortest clearance secret accepted: HS256 wants at least 256 bits of key. */
export const MIN_CLEARANCE_SECRET_LENGTH = 32;

/** Turnstile as the deployment configured it. */
export interface TurnstileConfig {
  readonly secret: string;
  readonly hostnames: readonly string[];
  /** When set, the action every answer must carry. */
  readonly action?: string;
}

/** The typed challenge settings. */
export interface ChallengeConfig {
  /** Keys that verify clearances, the signing one first; empty when CLEARANCE_SECRET is unusable. */
  readonly clearanceSecrets: readonly string[];
  /** Turnstile verification; undefined unless TURNSTILE_SECRET and TURNSTILE_HOSTNAMES are both set. */
  readonly turnstile?: TurnstileConfig;
  /** The public site key origins render the widget with. */
  readonly siteKey?: string;
  /** CHALLENGE_PAGE = "true". */
  readonly page: boolean;
}

/** A challenge setting that is missing or unusable, and what it disables. */
export interface ChallengeProblem {
  readonly setting: keyof ChallengeEnv;
  readonly problem: 'missing' | 'too-short' | 'same-as-token' | 'incomplete';
  readonly affects: string;
  readonly message: string;
}

const usableSecret = (v: string | undefined, tokens: readonly (string | undefined)[]) =>
  v !== undefined && v.length >= MIN_CLEARANCE_SECRET_LENGTH && !tokens.includes(v);

/** The settings as read for a loopback request (`local`) and for any other (`remote`). */
interface Configs {
  readonly local: ChallengeConfig;
  readonly remote: ChallengeConfig;
}

const CONFIGS = new WeakMap<object, Configs>();

/**
 * Reads the settings; anything unusable reads as "not configured". Read once per env object (an
 * isolate's bindings do not change while it lives): checks call this on every request.
 *
 * A clearance secret set to a published dev value (`.dev.vars.example`, isDevDefaultSecret)
 * signs and verifies only for a request to a loopback host (`npm start`): anyone can sign
 * clearances with it, so anywhere else it reads as not set, as the dev tokens do
 * (src/http/auth.ts). `requestUrl` is the request's URL; without one (the RPC entrypoint, whose
 * caller has no URL to judge) the request is not local. The URL is parsed only when a dev value is
 * set: real secrets cost nothing more.
 */
export function challengeConfig(env: ChallengeEnv & Partial<Record<TokenName, string>>, requestUrl?: string): ChallengeConfig {
  let configs = CONFIGS.get(env);
  if (configs === undefined) {
    const local = readConfig(env, true);
    configs = { local, remote: usesDevSecret(env) ? readConfig(env, false) : local };
    CONFIGS.set(env, configs);
  }
  if (configs.remote === configs.local) return configs.local;
  return requestUrl !== undefined && isLoopbackUrl(requestUrl) ? configs.local : configs.remote;
}

const usesDevSecret = (env: ChallengeEnv) => isDevDefaultSecret(env.CLEARANCE_SECRET) || isDevDefaultSecret(env.CLEARANCE_SECRET_PREVIOUS);

function readConfig(env: ChallengeEnv & Partial<Record<TokenName, string>>, local: boolean): ChallengeConfig {
  const tokens = TOKEN_NAMES.map((n) => env[n]);
  const secrets = [env.CLEARANCE_SECRET, env.CLEARANCE_SECRET_PREVIOUS];
  // Off loopback a dev value is unusable, like a short one: as the signing secret it disables
  // clearances altogether (nothing could sign), as the previous one it is no longer accepted.
  const usable = (s: string | undefined): s is string => usableSecret(s, tokens) && (local || !isDevDefaultSecret(s));
  const clearanceSecrets = usable(secrets[0]) ? secrets.filter(usable) : [];
  const hostnames = (env.TURNSTILE_HOSTNAMES ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h !== '');
  const action = env.TURNSTILE_ACTION?.trim();
  const siteKey = env.TURNSTILE_SITE_KEY?.trim();
  return {
    clearanceSecrets,
    ...(env.TURNSTILE_SECRET && hostnames.length > 0 ? { turnstile: { secret: env.TURNSTILE_SECRET, hostnames, ...(action ? { action } : {}) } } : {}),
    ...(siteKey ? { siteKey } : {}),
    page: env.CHALLENGE_PAGE === 'true',
  };
}

/** What is wrong with the challenge settings (for /healthz): each problem leaves challenged users stuck. */
export function challengeProblems(env: ChallengeEnv & Partial<Record<TokenName, string>>): ChallengeProblem[] {
  const out: ChallengeProblem[] = [];
  const tokens = TOKEN_NAMES.map((n) => env[n]);
  const clearance = 'clearances (challenged users cannot be cleared)';
  for (const name of ['CLEARANCE_SECRET', 'CLEARANCE_SECRET_PREVIOUS'] as const) {
    const v = env[name];
    if (v === undefined || v === '') {
      if (name === 'CLEARANCE_SECRET') out.push({ setting: name, problem: 'missing', affects: clearance, message: 'CLEARANCE_SECRET is not set: challenges cannot be resolved' });
    } else if (v.length < MIN_CLEARANCE_SECRET_LENGTH) {
      out.push({ setting: name, problem: 'too-short', affects: clearance, message: `${name} is shorter than ${MIN_CLEARANCE_SECRET_LENGTH} characters` });
    } else if (tokens.includes(v)) {
      out.push({ setting: name, problem: 'same-as-token', affects: clearance, message: `${name} must differ from CHECK_TOKEN and ADMIN_TOKEN` });
    }
  }
  const turnstile = [env.TURNSTILE_SECRET, env.TURNSTILE_HOSTNAMES].filter((v) => v !== undefined && v.trim() !== '').length;
  if (turnstile === 1) {
    const missing = env.TURNSTILE_SECRET ? 'TURNSTILE_HOSTNAMES' : 'TURNSTILE_SECRET';
    out.push({ setting: missing, problem: 'incomplete', affects: 'Turnstile verification', message: `${missing} is not set: Turnstile answers cannot be verified` });
  }
  return out;
}
