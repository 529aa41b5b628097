// Worker entry point: the Hono app is the default export's fetch handler; the Durable Object
// classes are exported for their bindings (POLICY_ADMIN, ACCOUNT_ACTIVITY, ORG_ACTIVITY), and
// AccessCheck for callers' service bindings (Workers RPC).
import { createApp } from './app';

export { PolicyAdmin } from './admin/policy-admin';
export { AccountActivity } from './accounts/account-activity';
export { OrgActivity } from './accounts/org-activity';
export { AccessCheck } from './rpc/access-check';

/** The Worker: every route of geogate (see README.md). */
export default createApp() satisfies ExportedHandler<Env>;
