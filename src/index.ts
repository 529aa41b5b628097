// Worker entry point: the Hono app is the default export's fetch handler; the admin store's
// Durable Object class is exported for its binding (POLICY_ADMIN).
import { createApp } from './app';

export { PolicyAdmin } from './admin/policy-admin';

/** The Worker: every route of geogate (see README.md). */
export default createApp() satisfies ExportedHandler<Env>;
