// Token settings and the Authorization header, without a Worker: which configured secrets disable
// a route, and which headers carry a bearer token. The middleware itself (constant-time compare,
// status codes) is exercised through the Worker in test/integration/.
import { describe, expect, it } from 'vitest';
import { bearerToken, MIN_TOKEN_LENGTH, tokenConfigProblems, tokenProblem } from '../../src/http/auth';

const CHECK = 'check-token-0123456789';
const ADMIN = 'admin-token-0123456789';

describe('configured secrets', () => {
  it.each<[string, Record<string, string>, string | undefined]>([
    // [name, env, CHECK_TOKEN's problem]
    ['a usable secret', { CHECK_TOKEN: CHECK, ADMIN_TOKEN: ADMIN }, undefined],
    ['not set', { ADMIN_TOKEN: ADMIN }, 'missing'],
    ['empty', { CHECK_TOKEN: '', ADMIN_TOKEN: ADMIN }, 'missing'],
    ['one character short of the minimum', { CHECK_TOKEN: 'x'.repeat(MIN_TOKEN_LENGTH - 1), ADMIN_TOKEN: ADMIN }, 'too-short'],
    ['exactly the minimum length', { CHECK_TOKEN: 'x'.repeat(MIN_TOKEN_LENGTH), ADMIN_TOKEN: ADMIN }, undefined],
    ['the same as the admin token', { CHECK_TOKEN: CHECK, ADMIN_TOKEN: CHECK }, 'same-as-other'],
    ['usable while the admin token is not set', { CHECK_TOKEN: CHECK }, undefined],
  ])('CHECK_TOKEN %s', (_name, env, want) => {
    expect(tokenProblem(env, 'CHECK_TOKEN')?.problem).toBe(want);
  });

  it('says which setting is wrong, why, and which routes it disables', () => {
    expect(tokenProblem({ CHECK_TOKEN: CHECK, ADMIN_TOKEN: 'short' }, 'ADMIN_TOKEN')).toEqual({
      setting: 'ADMIN_TOKEN',
      problem: 'too-short',
      affects: 'admin routes (policy administration)',
      message: 'ADMIN_TOKEN is shorter than 16 characters',
    });
    expect(tokenProblem({ ADMIN_TOKEN: ADMIN }, 'CHECK_TOKEN')).toMatchObject({ affects: 'check routes (/v1/check, /v1/authorize, /v1/challenge/*)', message: 'CHECK_TOKEN is not set' });
    expect(tokenProblem({ CHECK_TOKEN: CHECK, ADMIN_TOKEN: CHECK }, 'CHECK_TOKEN')?.message).toBe('CHECK_TOKEN and ADMIN_TOKEN must differ');
  });

  it('reports one problem per secret', () => {
    expect(tokenConfigProblems({ CHECK_TOKEN: CHECK, ADMIN_TOKEN: ADMIN })).toEqual([]);
    expect(tokenConfigProblems({ CHECK_TOKEN: CHECK, ADMIN_TOKEN: CHECK }).map((p) => [p.setting, p.problem])).toEqual([
      ['CHECK_TOKEN', 'same-as-other'],
      ['ADMIN_TOKEN', 'same-as-other'],
    ]);
    expect(tokenConfigProblems({}).map((p) => [p.setting, p.problem])).toEqual([
      ['CHECK_TOKEN', 'missing'],
      ['ADMIN_TOKEN', 'missing'],
    ]);
  });
});

describe('the bearer token of an Authorization header', () => {
  it.each<[string | undefined, string | undefined]>([
    ['Bearer abc', 'abc'],
    ['bearer abc', 'abc'],
    ['BEARER abc', 'abc'],
    ['Bearer \tabc \t', 'abc'],
    ['Bearer  abc', 'abc'],
    ['Bearerabc', undefined],
    ['Bearer ', undefined],
    ['Bearer a b', undefined],
    ['Basic abc', undefined],
    [' Bearer abc', undefined],
    ['xBearer abc', undefined],
    ['Bearer abc\nx', undefined],
    ['', undefined],
    [undefined, undefined],
  ])('%j -> %j', (header, want) => {
    expect(bearerToken(header)).toBe(want);
  });
});
