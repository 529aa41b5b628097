// Entry point that esbuild bundles (with the TypeScript sources) for the clearance benchmark: a
// clearance without an account, which the step-up route cannot issue (it requires one) but a
// Turnstile pass without an account can. Presented with a check that names no account, it is
// verified like any other but has no revocation to read: the benchmark's way to tell the
// signature check from the revocation read. Issued by the production code (grantClearance, the
// shipped default policy's binding and TTL), signed with the bench's CLEARANCE_SECRET.
import { grantClearance } from '../src/challenge/grant';
import { STEP_UP_KIND } from '../src/engine/clearance';
import { defaultPolicy } from '../src/policy/default';

/** A clearance of `reasons` for the network of `ip`, no account; throws when refused. */
export async function accountlessClearance(secret, ip, reasons, now = Date.now()) {
  const r = await grantClearance({ kind: STEP_UP_KIND, method: 'bench', ip, reasons }, defaultPolicy(), [secret], now);
  if (!r.ok) throw new Error(`no clearance issued: ${JSON.stringify(r.refusal)}`);
  return r.granted;
}
