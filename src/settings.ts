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
