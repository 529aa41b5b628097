// Golden cases (test/fixtures/golden): the whole decision each scenario must get, in order
// (decision, reasons with their rules and liftedBy, score, the challenge offered, and dryRun when the policy has dry-run
// rules). `npm run bench` replays the default-policy files.
import { describe, expect, it } from 'vitest';
import { defaultPolicy } from '../../src/policy/default';
import challengesGolden from '../fixtures/golden/challenges.json';
import defaultGolden from '../fixtures/golden/default-policy.json';
import dryRunGolden from '../fixtures/golden/dry-run.json';
import exceptionsGolden from '../fixtures/golden/exceptions-policy.json';
import familiesGolden from '../fixtures/golden/families.json';
import memoryGolden from '../fixtures/golden/memory.json';
import trafficGolden from '../fixtures/golden/traffic.json';
import { GoldenFileSchema, runGoldenCase } from '../golden/golden';
import { compile } from '../helpers';

const FILES = {
  'default-policy.json': defaultGolden,
  'exceptions-policy.json': exceptionsGolden,
  'families.json': familiesGolden,
  'traffic.json': trafficGolden,
  'dry-run.json': dryRunGolden,
  'memory.json': memoryGolden,
  'challenges.json': challengesGolden,
};

describe.each(Object.entries(FILES))('golden %s', (_file, raw) => {
  const file = GoldenFileSchema.parse(raw);
  const policy = file.policy === 'default' ? defaultPolicy() : compile(file.policy);
  it.each(file.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    expect(runGoldenCase(policy, c, file.now).got).toEqual(c.want);
  });
});

describe('golden coverage', () => {
  const families = new Set(
    Object.values(FILES)
      .flatMap((raw) => GoldenFileSchema.parse(raw).cases)
      .map((c) => c.family),
  );
  it.each([
    'offset-share',
    'icu-alias',
    'one-network-one-count',
    'deny-needs-location',
    'sevastopol-and-region-codes',
    'client-clock',
    'repeated-claims',
    'accept-language',
    'malformed-claims',
    'country-codes',
    'embedded-ipv4',
    'dry-run',
    'clearance',
  ])('covers the %s family', (family) => {
    expect(families.has(family)).toBe(true);
  });

  it('reaches all three decisions in every policy file', () => {
    for (const raw of Object.values(FILES)) {
      const decisions = new Set(GoldenFileSchema.parse(raw).cases.map((c) => c.want.decision));
      expect([...decisions].sort()).toEqual(['allow', 'challenge', 'deny']);
    }
  });
});
