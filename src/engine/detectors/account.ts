// Account facts, as the origin knows them: the account or organisation acting, and the country
// of its ultimate parent (a Singapore subsidiary of a restricted-country company is restricted).
import type { RequestView, RuleHit } from './geo';

/** Matches an `account` rule on the account id or organisation id; the maps say where each id is listed ("policy" or a list's name). */
export function matchAccount(
  view: RequestView,
  accounts: ReadonlyMap<string, string>,
  orgs: ReadonlyMap<string, string>,
  ruleId: string,
  allow: boolean,
): RuleHit | undefined {
  const { id, orgId } = view.facts.account;
  const byAccount = id === undefined ? undefined : accounts.get(id);
  const byOrg = orgId === undefined ? undefined : orgs.get(orgId);
  const source = byAccount ?? byOrg;
  if (source === undefined) return undefined;
  const evidence = byAccount !== undefined ? { accountId: id, source } : { orgId, source };
  const who = byAccount !== undefined ? `account ${id}` : `organisation ${orgId}`;
  const where = source === 'policy' ? '' : ` (list ${source})`;
  return {
    code: allow ? 'ACCOUNT_ALLOWED' : 'ACCOUNT_DENIED',
    message: `The ${who} is listed${where} by rule ${ruleId}.`,
    evidence,
  };
}

/** A named `org-owner` list: organisation id -> owner country. */
export interface OrgOwners {
  readonly name: string;
  readonly owners: ReadonlyMap<string, string>;
}

/**
 * Matches an `owner-country` rule on the account's ultimate parent country: the one the origin
 * sends, and the one an `org-owner` list records for the organisation. Either restricted is a
 * hit (a list never clears what the origin says, nor the reverse).
 */
export function matchOwnerCountry(
  view: RequestView,
  countries: ReadonlySet<string>,
  lists: readonly OrgOwners[],
  ruleId: string,
): RuleHit | undefined {
  const { ownerCountry, orgId, id } = view.facts.account;
  let owner: string | undefined;
  let source = 'origin';
  if (ownerCountry !== undefined && countries.has(ownerCountry)) owner = ownerCountry;
  else if (orgId !== undefined) {
    for (const list of lists) {
      const c = list.owners.get(orgId);
      if (c !== undefined && countries.has(c)) {
        owner = c;
        source = list.name;
        break;
      }
    }
  }
  if (owner === undefined) return undefined;
  const where = source === 'origin' ? '' : ` (list ${source})`;
  return {
    code: 'OWNER_RESTRICTED',
    message: `The account's ultimate owner is in ${owner}${where}, restricted by rule ${ruleId}.`,
    evidence: { ownerCountry: owner, source, accountId: id ?? null, orgId: orgId ?? null },
  };
}
