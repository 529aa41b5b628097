// Addresses and blocks as tests write them: parsed by the engine's own parser, with a typo in a
// test failing loudly instead of becoming `undefined`.
import { parseCidr, parseIp, type CidrRange, type ParsedIp } from '../src/engine/ip';

/** Parses a test address, failing the test on a typo. */
export function ip(s: string): ParsedIp {
  const parsed = parseIp(s);
  if (!parsed) throw new Error(`bad test ip ${s}`);
  return parsed;
}

/** Parses a test CIDR block, failing the test on a typo. */
export function range(s: string): CidrRange {
  const r = parseCidr(s);
  if (!r) throw new Error(`bad test cidr ${s}`);
  return r;
}
