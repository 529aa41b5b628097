// Account facts, as the origin knows them: the account or organisation acting, and the country
// of its ultimate parent (a Singapore subsidiary of a restricted-country company is restricted).
import type { RequestView, RuleHit } from './geo';

/** Matches an `account` rule on the account id or organisation id. */
export function matchAccount(
  view: RequestView,
  accounts: ReadonlySet<string>,
  orgs: ReadonlySet<string>,
  ruleId: string,
  allow: boolean,
): RuleHit | undefined {
  const { id, orgId } = view.facts.account;
  const byAccount = id !== undefined && accounts.has(id);
  const byOrg = orgId !== undefined && orgs.has(orgId);
  if (!byAccount && !byOrg) return undefined;
  const evidence = byAccount ? { accountId: id } : { orgId };
  const who = byAccount ? `account ${id}` : `organisation ${orgId}`;
  return {
    code: allow ? 'ACCOUNT_ALLOWED' : 'ACCOUNT_DENIED',
    message: `The ${who} is listed by rule ${ruleId}.`,
    evidence,
  };
}

/** Matches an `owner-country` rule on the account's ultimate parent country. */
export function matchOwnerCountry(view: RequestView, countries: ReadonlySet<string>, ruleId: string): RuleHit | undefined {
  const owner = view.facts.account.ownerCountry;
  if (owner === undefined || !countries.has(owner)) return undefined;
  return {
    code: 'OWNER_RESTRICTED',
    message: `The account's ultimate owner is in ${owner}, restricted by rule ${ruleId}.`,
    evidence: { ownerCountry: owner, accountId: view.facts.account.id ?? null, orgId: view.facts.account.orgId ?? null },
  };
}
