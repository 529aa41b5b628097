// The deployment's settings (wrangler.toml [vars]), read and checked in one place. A value that
// is neither of the documented ones is a configuration problem reported on /healthz, and reads
// as the safe choice (FAIL_MODE -> "closed", the trust flags -> "false").
import { FAIL_MODES, type FailMode } from './engine/policy';

/** The deployment's typed settings. */
export interface DeploymentSettings {
  /** GEO_FROM_CF = "true": request.cf describes the end user (the Worker fronts them). */
  readonly geoFromCf: boolean;
  /** TRUST_FORWARDED_CF_HEADERS = "true": /v1/authorize may read forwarded cf-* headers. */
  readonly trustForwardedCfHeaders: boolean;
  /** FAIL_MODE: the answer when no policy can be used and the stored one names no failMode. */
  readonly failMode: FailMode;
}

/** A setting whose value is not one of the documented ones. */
export interface SettingProblem {
  readonly setting: 'GEO_FROM_CF' | 'TRUST_FORWARDED_CF_HEADERS' | 'FAIL_MODE';
  readonly problem: 'invalid';
  readonly affects: string;
  readonly message: string;
}

type Vars = Partial<Record<'GEO_FROM_CF' | 'TRUST_FORWARDED_CF_HEADERS' | 'FAIL_MODE', string>>;

const isFailMode = (v: string): v is FailMode => (FAIL_MODES as readonly string[]).includes(v);

/** Reads the settings; an unset or invalid value reads as the safe default. */
export function deploymentSettings(env: Vars): DeploymentSettings {
  const failMode = env.FAIL_MODE;
  return {
    geoFromCf: env.GEO_FROM_CF === 'true',
    trustForwardedCfHeaders: env.TRUST_FORWARDED_CF_HEADERS === 'true',
    failMode: failMode !== undefined && isFailMode(failMode) ? failMode : 'closed',
  };
}

/** Settings set to something other than their documented values (for /healthz). */
export function settingProblems(env: Vars): SettingProblem[] {
  const out: SettingProblem[] = [];
  for (const name of ['GEO_FROM_CF', 'TRUST_FORWARDED_CF_HEADERS'] as const) {
    const v = env[name];
    if (v !== undefined && v !== 'true' && v !== 'false') {
      out.push({ setting: name, problem: 'invalid', affects: 'where check facts come from', message: `${name} must be "true" or "false"; it reads as "false"` });
    }
  }
  const mode = env.FAIL_MODE;
  if (mode !== undefined && !isFailMode(mode)) {
    out.push({ setting: 'FAIL_MODE', problem: 'invalid', affects: 'decisions when no policy can be used', message: `FAIL_MODE must be one of ${FAIL_MODES.join(', ')}; it reads as "closed"` });
  }
  return out;
}

/**
 * The dev-only values `.dev.vars.example` ships for the secrets other than the two tokens (those are
 * in src/http/auth.ts, DEV_DEFAULT_TOKENS). Published in the repository, so they protect nothing:
 * `npm run deploy` refuses to deploy them (scripts/predeploy.mjs), and /healthz reports them as a
 * problem on any host but a loopback one.
 */
export const DEV_DEFAULT_SECRETS: Readonly<Record<'MEMORY_HASH_SECRET' | 'CLEARANCE_SECRET', string>> = {
  MEMORY_HASH_SECRET: 'dev-memory-hash-secret-not-secret',
  CLEARANCE_SECRET: 'dev-clearance-secret-not-secret-0123456789',
};

const DEV_SECRET_VALUES: readonly unknown[] = Object.values(DEV_DEFAULT_SECRETS);

/** Whether `value` is one of the published dev-only secret values ({@link DEV_DEFAULT_SECRETS}). */
export const isDevDefaultSecret = (value: unknown): boolean => value !== undefined && DEV_SECRET_VALUES.includes(value);

/** A secret set to a published dev-only value. */
export interface DevSecretProblem {
  readonly setting: 'MEMORY_HASH_SECRET' | 'CLEARANCE_SECRET' | 'CLEARANCE_SECRET_PREVIOUS';
  readonly problem: 'dev-default';
  readonly affects: string;
  readonly message: string;
}

const DEV_SECRET_AFFECTS: Readonly<Record<DevSecretProblem['setting'], string>> = {
  MEMORY_HASH_SECRET: 'the keyed hashes of IPs and device ids (account memory, decision logs)',
  CLEARANCE_SECRET: 'clearances and challenge tickets (anyone could sign one)',
  CLEARANCE_SECRET_PREVIOUS: 'clearances and challenge tickets (anyone could sign one)',
};

/**
 * The secrets (other than the tokens) set to a dev-only value, for /healthz; `local` is true when
 * the request was sent to a loopback host (`npm start`), where they are expected.
 */
export function devSecretProblems(env: object, local: boolean): DevSecretProblem[] {
  if (local) return [];
  const secrets = env as Partial<Record<DevSecretProblem['setting'], unknown>>;
  const out: DevSecretProblem[] = [];
  for (const name of ['MEMORY_HASH_SECRET', 'CLEARANCE_SECRET', 'CLEARANCE_SECRET_PREVIOUS'] as const) {
    if (isDevDefaultSecret(secrets[name])) {
      out.push({ setting: name, problem: 'dev-default', affects: DEV_SECRET_AFFECTS[name], message: `${name} is the dev-only value from .dev.vars.example: set a real secret with \`npx wrangler secret put ${name}\`` });
    }
  }
  return out;
}
