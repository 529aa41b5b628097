// Golden cases (test/fixtures/golden): the whole decision each scenario must get, in order
// (decision, reasons with their rules and liftedBy, score). `npm run bench` replays the same files.
import { describe, expect, it } from 'vitest';
import { defaultPolicy } from '../../src/policy/default';
import defaultGolden from '../fixtures/golden/default-policy.json';
import exceptionsGolden from '../fixtures/golden/exceptions-policy.json';
import { GoldenFileSchema, runGoldenCase } from '../golden/golden';
import { compile } from '../helpers';

const FILES = { 'default-policy.json': defaultGolden, 'exceptions-policy.json': exceptionsGolden };

describe.each(Object.entries(FILES))('golden %s', (_file, raw) => {
  const file = GoldenFileSchema.parse(raw);
  const policy = file.policy === 'default' ? defaultPolicy() : compile(file.policy);
  it.each(file.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    expect(runGoldenCase(policy, c, file.now).got).toEqual(c.want);
  });
});
