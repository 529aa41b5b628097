// Golden cases (test/fixtures/golden): the decisions the shipped policy must make.
import { describe, expect, it } from 'vitest';
import { defaultPolicy } from '../../src/policy/default';
import { GoldenFileSchema, runGoldenCase } from '../../src/policy/simulate';
import defaultGolden from '../fixtures/golden/default-policy.json';
import exceptionsGolden from '../fixtures/golden/exceptions-policy.json';
import { compile } from '../helpers';

const FILES = { 'default-policy.json': defaultGolden, 'exceptions-policy.json': exceptionsGolden };

describe.each(Object.entries(FILES))('golden %s', (_file, raw) => {
  const file = GoldenFileSchema.parse(raw);
  const policy = file.policy === 'default' ? defaultPolicy() : compile(file.policy);
  it.each(file.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const result = runGoldenCase(policy, c, file.now);
    expect(result.got).toEqual({ decision: c.want.decision, codes: [...(c.want.codes ?? [])].sort() });
  });
});
