// Builds geogate's OpenAPI 3.1 document from the zod schemas the routes validate with (request
// bodies, path ids, /v1/authorize's headers) and the response schemas of ./responses.ts.
// The routes stay plain Hono: a document-only OpenAPIHono instance, never mounted and never
// serving a request, only collects the definitions. Runs at build time only: `npm run
// gen:openapi` (scripts/gen-openapi.mjs) writes the JSON text into ./openapi-document.ts, which
// the Worker serves; the Worker never imports this module, so neither @hono/zod-openapi (which
// patches zod when it loads) nor zod's locales (its namespace import of zod keeps them from being
// tree-shaken) ship in it. Imports nothing from cloudflare:*, so Node can build the document.
import { OpenAPIHono, type RouteConfig } from '@hono/zod-openapi';
import * as z from 'zod';
import { TOKEN_HEADER } from '../http/auth';
import { CheckRequestSchema, ForwardedRequestSchema } from '../facts/check-request';
import { CF_FALLBACK_HEADERS, CLEARANCE_COOKIE, CLIENT_HEADERS, GEOGATE_HEADERS } from '../facts/forward-headers';
import { ListDocumentSchema, ListPatchSchema } from '../policy/lists';
import { ListNameSchema, PolicySchema } from '../policy/schema';
import { StepUpRequestSchema, TurnstileRequestSchema } from '../routes/challenge';
import { MAX_SIMULATE_REQUESTS, SimulateBodySchema } from '../simulate/simulate';
import {
  ActivityResponseSchema,
  AuditResponseSchema,
  ClearanceResponseSchema,
  DecisionResponseSchema,
  ForwardAuthResponseSchema,
  ErrorResponseSchema,
  HealthResponseSchema,
  IntelViewSchema,
  ListsResponseSchema,
  ListViewSchema,
  PolicyViewSchema,
  ResetResponseSchema,
  RevocationResponseSchema,
  RevokedResponseSchema,
  SimulateResponseSchema,
  ValidateResponseSchema,
  VersionsResponseSchema,
  WriteResponseSchema,
} from './responses';

/** The methods /v1/authorize answers: proxies forward the user's own method. */
export const AUTHORIZE_METHODS = ['get', 'head', 'post', 'put', 'patch', 'delete', 'options'] as const;

/** The OpenAPI version the document declares. */
export const OPENAPI_VERSION = '3.1.0';

/** Options of {@link buildOpenApiDocument}. */
export interface OpenApiDocumentOptions {
  /**
   * The server URL the reference offers for "try it"; absent: none is listed and tools use the
   * origin the document was fetched from.
   */
  serverUrl?: string;
}

type Method = RouteConfig['method'];
type Responses = RouteConfig['responses'];

// Named once, referenced everywhere: a zod `id` makes the generator emit a component and `$ref`
// it. Not `.openapi(refId)`: zod copies prototype methods onto a schema when it is built, so the
// routes' schemas, built before @hono/zod-openapi loaded, never got that method.
const Decision = DecisionResponseSchema.meta({ id: 'Decision' });
const ForwardAuthDecision = z.union([ForwardAuthResponseSchema.meta({ id: 'ForwardAuthDecision' }), Decision]);
const ErrorBody = ErrorResponseSchema.meta({ id: 'Error' });
const CheckRequest = CheckRequestSchema.meta({ id: 'CheckRequest' });
const Policy = PolicySchema.meta({ id: 'Policy' });

const CHECK_SECURITY = [{ checkToken: [] }];
const ADMIN_SECURITY = [{ adminToken: [] }];

const json = (schema: z.ZodType, description: string) => ({ description, content: { 'application/json': { schema } } });
const error = (description: string) => json(ErrorBody, description);
const html = (description: string) => ({ description, content: { 'text/html': { schema: z.string() } } });

/** The errors every token-guarded route may answer. */
const TOKEN_ERRORS: Responses = {
  401: error('UNAUTHORIZED: no token, or a wrong one.'),
  503: error('NOT_CONFIGURED: the token this route needs is not set (see /healthz).'),
};
const ADMIN_ERRORS: Responses = { ...TOKEN_ERRORS, 403: error('FORBIDDEN: the check token cannot administer geogate.') };
const BODY_ERRORS: Responses = {
  400: error('INVALID_JSON or INVALID_REQUEST, with field-level `issues`.'),
  413: error('PAYLOAD_TOO_LARGE.'),
};
const JSON_BODY_ERRORS: Responses = { ...BODY_ERRORS, 415: error('UNSUPPORTED_MEDIA_TYPE: send `Content-Type: application/json`.') };
const WRITE_ERRORS: Responses = {
  409: error('VERSION_EXISTS, LIST_IN_USE, OUT_OF_BAND_CHANGE, INTEL_SHRINKS or INTEL_OLDER.'),
  412: error('PRECONDITION_FAILED: the `If-Match` ETag is stale (the current one is in `ETag`).'),
  428: error('PRECONDITION_REQUIRED: send `If-Match` (or `If-None-Match: *` to create).'),
  503: error('NOT_CONFIGURED, or STORAGE_UNAVAILABLE: nothing was stored; retry.'),
};
const ETAG_HEADER = { ETag: { description: 'The strong ETag to send back as `If-Match`.', schema: { type: 'string' as const } } };

const writeHeaders = z.object({
  'if-match': z.string().optional().describe('The ETag of the state this write replaces.'),
  'if-none-match': z.literal('*').optional().describe('Create: only when nothing is stored yet.'),
});
const pageQuery = z.object({
  limit: z.int().min(1).max(500).optional().describe('Page size (default 50, at most 500).'),
  cursor: z.string().optional().describe('The `cursor` of the previous page.'),
});
const idParams = z.object({ id: z.string().min(1).max(256).describe('The id the origin sends in checks, percent-encoded as a path segment.') });

/** The schema of a check-request field named by a forward-auth header's path. */
function fieldSchema(path: readonly string[]): z.core.$ZodType {
  let schema: z.core.$ZodType = ForwardedRequestSchema;
  for (const key of path) {
    const unwrapped = schema instanceof z.ZodOptional ? schema.unwrap() : schema;
    if (!(unwrapped instanceof z.ZodObject)) throw new Error(`openapi: no object at ${path.join('.')}`);
    const next = (unwrapped.shape as Record<string, z.core.$ZodType | undefined>)[key];
    if (next === undefined) throw new Error(`openapi: no field ${path.join('.')}`);
    schema = next;
  }
  return schema instanceof z.ZodOptional ? schema.unwrap() : schema;
}

/** A header parameter's component name: `geogate-region-code` -> `GeogateRegionCode`. */
function parameterId(header: string): string {
  return header.replace(/(^|-)([a-z])/g, (_, _dash: string, ch: string) => ch.toUpperCase());
}

/**
 * /v1/authorize's request headers, registered once as parameter components (the route is
 * documented under seven methods and two paths). Each Geogate-* header quotes the schema of the
 * check-request field it feeds, the one its value is validated with.
 */
function authorizeHeaders(doc: OpenAPIHono): z.ZodType[] {
  const header = (name: string, description: string) =>
    doc.openAPIRegistry.registerParameter(parameterId(name), z.string().optional().openapi({ param: { name, in: 'header', description } }));
  const out: z.ZodType[] = [];
  for (const f of GEOGATE_HEADERS) {
    const schema = JSON.stringify(z.toJSONSchema(fieldSchema(f.path), { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' })).replace('"$schema":"https://json-schema.org/draft/2020-12/schema",', '');
    out.push(header(f.header, `The check request's \`${f.path.join('.')}\`, validated as ${schema}.`));
  }
  for (const [field, name] of Object.entries(CLIENT_HEADERS)) {
    out.push(header(name, `Client claim \`client.${field}\`: comma-separated values are separate claims, judged by the engine, never a 400.`));
  }
  for (const f of CF_FALLBACK_HEADERS) {
    out.push(header(f.header, `Read as \`${f.path.join('.')}\` only under TRUST_FORWARDED_CF_HEADERS = "true", when no Geogate-* geo header is present.`));
  }
  out.push(header('geogate-response', '`full`: answer the whole Decision body (as /v1/check does) instead of the lean ForwardAuthDecision. Never changes the decision or the status.'));
  out.push(header('cookie', `The \`${CLEARANCE_COOKIE}\` cookie is read as the clearance when \`geogate-clearance\` is absent.`));
  return out;
}

/** Headers /v1/authorize answers with (the status carries the decision). */
const AUTHORIZE_RESPONSE_HEADERS: Record<string, { description: string; schema: { type: 'string' } }> = Object.fromEntries(
  (
    [
    ['Geogate-Decision', 'allow, challenge or deny.'],
    ['Geogate-Reasons', 'The reason codes that stand, comma-separated.'],
    ['Geogate-Policy-Version', 'The version of the policy that decided.'],
    ['Geogate-Intel-Version', 'The network intel used.'],
    ['Geogate-Request-Id', 'The request id (the one sent, or a new UUID).'],
    ['Geogate-Failed', '"true" when the current policy did not decide.'],
    ['Geogate-Intel-Failed', '"true" when the intel in force could not be used.'],
    ['Geogate-Memory-Failed', '"true" when the account or organisation memory did not answer (sync mode).'],
    ['Geogate-Challenge-Kinds', 'With 401: the kinds that may resolve the challenge, comma-separated.'],
    ['Geogate-Challenge-Ticket', 'With 401: the signed ticket to pass to the challenge.'],
    ['Geogate-Dry-Run-Decision', "What the policy's dry-run rules would decide."],
    ['Geogate-Dry-Run-Rules', 'The dry-run rules that matched, comma-separated.'],
    ] as const
  ).map(([name, description]) => [name, { description, schema: { type: 'string' as const } }]),
);

/** Registers every route of the app with the document-only instance. */
function registerRoutes(doc: OpenAPIHono): void {
  const add = (method: Method, path: string, route: Omit<RouteConfig, 'method' | 'path'>) => doc.openAPIRegistry.registerPath({ method, path, ...route });

  add('get', '/healthz', {
    tags: ['Health'],
    summary: 'Liveness and configuration',
    description: 'Unauthenticated. A request carrying credentials or Geogate-* headers is misrouted check traffic: 400 MISROUTED, never a 200.',
    responses: { 200: json(HealthResponseSchema, 'The state of the policy, intel, memory and challenge settings.'), 400: error('MISROUTED.') },
  });

  add('post', '/v1/check', {
    tags: ['Check'],
    summary: 'Decide one end-user request',
    description: 'The origin describes the request as JSON (every field optional; `null` reads as absent) and gets allow, challenge or deny. Forward-auth traffic (any Geogate-* header) is refused with 400 MISROUTED.',
    security: CHECK_SECURITY,
    request: { body: { required: true, content: { 'application/json': { schema: CheckRequest } } } },
    responses: { 200: json(Decision, 'The decision.'), ...JSON_BODY_ERRORS, ...TOKEN_ERRORS, 400: error('INVALID_JSON, INVALID_REQUEST (field-level `issues`) or MISROUTED.') },
  });

  const headers = authorizeHeaders(doc);
  const authorize = (path: string, extra: Partial<RouteConfig['request']> = {}) => {
    for (const method of AUTHORIZE_METHODS) {
      add(method, path, {
        tags: ['Forward auth'],
        summary: 'Forward-auth decision',
        operationId: `authorize${path.endsWith('}') ? 'Path' : ''}${method[0]?.toUpperCase()}${method.slice(1)}`,
        description:
          'For reverse proxies (nginx auth_request, Caddy forward_auth, Traefik ForwardAuth, Envoy ext_authz); any method. Facts come from Geogate-* headers the proxy sets; the status is the decision: 200 allow, 401 challenge, 403 deny. Any other status is an error, never a decision (a refused token is 500, not 401). docs/integrations.md.',
        security: [{ checkToken: [] }, { geogateToken: [] }],
        request: { headers, ...extra },
        responses: {
          200: { ...json(ForwardAuthDecision, 'allow.'), headers: AUTHORIZE_RESPONSE_HEADERS },
          401: { ...json(ForwardAuthDecision, 'challenge (never an authentication failure here).'), headers: AUTHORIZE_RESPONSE_HEADERS },
          403: { ...json(ForwardAuthDecision, 'deny.'), headers: AUTHORIZE_RESPONSE_HEADERS },
          400: error('INVALID_REQUEST: a Geogate-* header has an invalid value (`issues` name the header).'),
          500: error('UNAUTHORIZED (a missing or wrong token: 500 so that proxies fail closed instead of challenging), or INTERNAL.'),
          503: error('NOT_CONFIGURED: CHECK_TOKEN is not set.'),
        },
      });
    }
  };
  authorize('/v1/authorize');
  authorize('/v1/authorize/{path}', {
    params: z.object({ path: z.string().describe("Any sub-path (Envoy's ext_authz appends the user's path); answered like /v1/authorize.") }),
  });

  const challengeRoute = (path: string, schema: z.ZodType, summary: string, description: string, extra: Responses) =>
    add('post', path, {
      tags: ['Challenges'],
      summary,
      description: `${description} Forward-auth traffic (any Geogate-* header) is refused with 400 MISROUTED. docs/challenges.md.`,
      security: CHECK_SECURITY,
      request: { body: { required: true, content: { 'application/json': { schema } } } },
      responses: {
        200: json(ClearanceResponseSchema, 'The clearance.'),
        ...JSON_BODY_ERRORS,
        ...TOKEN_ERRORS,
        400: error('INVALID_JSON, INVALID_REQUEST, TICKET_INVALID, TICKET_MISMATCH or MISROUTED.'),
        409: error('KIND_NOT_OFFERED: the challenge did not offer this kind.'),
        503: error('NOT_CONFIGURED (CLEARANCE_SECRET) or POLICY_UNAVAILABLE.'),
        ...extra,
      },
    });
  challengeRoute('/v1/challenge/step-up', StepUpRequestSchema, 'Clear a user the origin re-verified', 'The origin re-verified the user itself (KYC, OTP, SSO re-login).', {});
  challengeRoute('/v1/challenge/turnstile', TurnstileRequestSchema, 'Clear a user who solved Turnstile', "The widget's answer, verified with Cloudflare's siteverify.", {
    400: error('INVALID_JSON, INVALID_REQUEST, TICKET_*, TURNSTILE_FAILED, TURNSTILE_SPENT, TURNSTILE_MISMATCH or MISROUTED.'),
    502: error('TURNSTILE_UNAVAILABLE.'),
    504: error('TURNSTILE_TIMEOUT.'),
  });

  add('get', '/challenge', {
    tags: ['Challenges'],
    summary: 'Hosted challenge page',
    description: 'Only when CHALLENGE_PAGE = "true" (otherwise 404). Renders the Turnstile widget for a ticket. HTML, with a strict CSP.',
    request: {
      query: z.object({
        ticket: z.string().optional().describe("The challenge's signed ticket."),
        return: z.string().optional().describe('A same-origin path to send the visitor back to ("/" otherwise).'),
      }),
    },
    responses: { 200: html('The widget page.'), 400: html('An error page (a bad or expired ticket, misrouted traffic).'), 404: error('NOT_FOUND: the page is off.'), 503: html('Not configured.') },
  });
  add('post', '/challenge', {
    tags: ['Challenges'],
    summary: "Verify the widget's answer",
    description: 'Verifies the Turnstile answer, sets the `geogate_clearance` cookie and redirects (303) to `return`.',
    request: {
      body: {
        required: true,
        content: { 'application/x-www-form-urlencoded': { schema: z.object({ ticket: z.string(), 'cf-turnstile-response': z.string(), return: z.string().optional() }) } },
      },
    },
    responses: {
      303: { description: 'Cleared: `Set-Cookie: geogate_clearance=…` and `Location: <return>`.' },
      400: html('An error page.'),
      404: error('NOT_FOUND: the page is off.'),
      409: html('The challenge did not offer Turnstile.'),
      413: error('PAYLOAD_TOO_LARGE.'),
      502: html('Turnstile unavailable.'),
      503: html('Not configured, or no usable policy.'),
      504: html('Turnstile timed out.'),
    },
  });

  // The admin API (docs/admin-api.md).
  const admin = (method: Method, path: string, tag: string, route: Omit<RouteConfig, 'method' | 'path' | 'security' | 'tags' | 'responses'> & { responses: Responses }) =>
    add(method, path, { ...route, tags: [tag], security: ADMIN_SECURITY, responses: { ...ADMIN_ERRORS, ...route.responses } });
  const policyBody = { required: true, content: { 'application/json': { schema: Policy } } };

  admin('get', '/v1/policy', 'Policy', {
    summary: 'The current policy',
    responses: { 200: { ...json(PolicyViewSchema, 'The policy, its version and ETag.'), headers: ETAG_HEADER }, 404: error('NOT_FOUND: nothing was ever pushed through the API.') },
  });
  admin('put', '/v1/policy', 'Policy', {
    summary: 'Store and activate a policy',
    request: { headers: writeHeaders, body: policyBody },
    responses: { 200: { ...json(WriteResponseSchema, 'Stored and in force (isolates follow within ~90 s).'), headers: ETAG_HEADER }, ...BODY_ERRORS, 400: error('INVALID_JSON, or INVALID_POLICY with every issue.'), ...WRITE_ERRORS },
  });
  admin('post', '/v1/policy/validate', 'Policy', {
    summary: 'Validate a policy without storing it',
    request: { body: policyBody },
    responses: { 200: json(ValidateResponseSchema, 'Issues and warnings.'), ...BODY_ERRORS },
  });
  admin('get', '/v1/policy/versions', 'Policy', {
    summary: 'Stored policy versions, newest first',
    request: { query: pageQuery },
    responses: { 200: json(VersionsResponseSchema, 'A page of versions.') },
  });
  admin('post', '/v1/policy/rollback', 'Policy', {
    summary: 'Make a stored version current again',
    request: { headers: writeHeaders, body: { required: true, content: { 'application/json': { schema: z.strictObject({ version: z.string() }) } } } },
    responses: { 200: { ...json(WriteResponseSchema, 'Rolled back.'), headers: ETAG_HEADER }, ...BODY_ERRORS, 404: error('NOT_FOUND: no such version.'), ...WRITE_ERRORS },
  });

  const nameParams = z.object({ name: ListNameSchema.describe('1-64 lower-case letters, digits, ".", "_" or "-".') });
  admin('get', '/v1/lists', 'Lists', { summary: 'Every named list', responses: { 200: json(ListsResponseSchema, 'The lists.') } });
  admin('get', '/v1/lists/{name}', 'Lists', {
    summary: 'One list',
    request: { params: nameParams },
    responses: { 200: { ...json(ListViewSchema, 'The list.'), headers: ETAG_HEADER }, 400: error('INVALID_REQUEST: invalid list name.'), 404: error('NOT_FOUND.') },
  });
  admin('put', '/v1/lists/{name}', 'Lists', {
    summary: 'Replace or create a list',
    request: { params: nameParams, headers: writeHeaders, body: { required: true, content: { 'application/json': { schema: ListDocumentSchema } } } },
    responses: { 200: { ...json(WriteResponseSchema, 'Stored.'), headers: ETAG_HEADER }, ...BODY_ERRORS, 400: error('INVALID_REQUEST, or INVALID_LIST naming each bad item.'), ...WRITE_ERRORS },
  });
  admin('patch', '/v1/lists/{name}', 'Lists', {
    summary: 'Add and remove items',
    request: { params: nameParams, headers: writeHeaders.pick({ 'if-match': true }), body: { required: true, content: { 'application/json': { schema: ListPatchSchema } } } },
    responses: { 200: { ...json(WriteResponseSchema, 'Stored.'), headers: ETAG_HEADER }, ...BODY_ERRORS, 404: error('NOT_FOUND: no such list.'), ...WRITE_ERRORS },
  });
  admin('delete', '/v1/lists/{name}', 'Lists', {
    summary: 'Delete a list',
    request: { params: nameParams, headers: writeHeaders.pick({ 'if-match': true }) },
    responses: { 200: json(WriteResponseSchema, 'Deleted.'), 400: error('INVALID_REQUEST: invalid list name.'), 404: error('NOT_FOUND.'), ...WRITE_ERRORS },
  });

  admin('post', '/v1/simulate', 'Policy', {
    summary: 'Replay check requests under the policy in force and a candidate',
    request: {
      body: {
        required: true,
        content: { 'application/json': { schema: SimulateBodySchema.extend({ policy: Policy.optional(), requests: z.array(CheckRequest).min(1).max(MAX_SIMULATE_REQUESTS) }) } },
      },
    },
    responses: { 200: json(SimulateResponseSchema, 'Per-request results and a summary.'), ...BODY_ERRORS, 400: error('INVALID_JSON, INVALID_REQUEST or INVALID_POLICY.'), 503: error('NOT_CONFIGURED: no policy is in force.') },
  });

  admin('get', '/v1/intel', 'Intel', {
    summary: 'The network intel in force',
    responses: { 200: { ...json(IntelViewSchema, 'The artifact in force.'), headers: ETAG_HEADER }, 404: error('NOT_FOUND: none was pushed (the bundled copy answers).') },
  });
  admin('put', '/v1/intel', 'Intel', {
    summary: 'Publish a network intel artifact',
    description: "The artifact's exact text (`npm run intel:build`), stored byte for byte: its SHA-256 is its id.",
    request: {
      headers: writeHeaders,
      query: z.object({ allowShrink: z.enum(['true']).optional(), allowOlder: z.enum(['true']).optional() }),
      body: { required: true, content: { 'application/json': { schema: z.looseObject({}).describe('The intel artifact (JSON, at most 16 MiB).') } } },
    },
    responses: { 200: { ...json(IntelViewSchema, 'In force.'), headers: ETAG_HEADER }, ...BODY_ERRORS, 400: error('INVALID_INTEL.'), ...WRITE_ERRORS },
  });

  admin('get', '/v1/audit', 'Audit', {
    summary: 'The audit log, newest first',
    request: { query: pageQuery },
    responses: { 200: json(AuditResponseSchema, 'A page of entries.') },
  });

  for (const [kind, tag] of [
    ['accounts', 'account'],
    ['orgs', 'organisation'],
  ] as const) {
    admin('get', `/v1/${kind}/{id}/activity`, 'Memory', {
      summary: `What the ${tag}'s memory holds`,
      request: { params: idParams },
      responses: { 200: json(ActivityResponseSchema, 'The memory (history is null when nothing is held).'), 400: error('INVALID_REQUEST: the id must be 1-256 characters.') },
    });
    admin('delete', `/v1/${kind}/{id}/activity`, 'Memory', {
      summary: `Forget the ${tag}'s memory (audited)`,
      request: { params: idParams },
      responses: { 200: json(ResetResponseSchema, 'Forgotten.'), 400: error('INVALID_REQUEST: the id must be 1-256 characters.') },
    });
  }

  admin('get', '/v1/accounts/{id}/clearances', 'Clearances', {
    summary: "When the account's clearances were last revoked",
    request: { params: idParams },
    responses: { 200: json(RevocationResponseSchema, '`revokedAt` is null when never (or more than 8 days ago).'), 400: error('INVALID_REQUEST.'), 503: error('NOT_CONFIGURED, or POLICY_UNAVAILABLE: the revocation could not be read.') },
  });
  admin('delete', '/v1/accounts/{id}/clearances', 'Clearances', {
    summary: 'Revoke every clearance the account holds (audited)',
    request: { params: idParams },
    responses: { 200: json(RevokedResponseSchema, 'Revoked.'), 400: error('INVALID_REQUEST.') },
  });

  add('get', '/openapi.json', {
    tags: ['Reference'],
    summary: 'This document',
    description: 'Served unless API_DOCS = "false". Unauthenticated; it holds no secrets.',
    responses: { 200: { description: 'The OpenAPI 3.1 document.', content: { 'application/json': { schema: z.looseObject({ openapi: z.string() }) } } }, 400: error('MISROUTED.'), 404: error('NOT_FOUND: API_DOCS = "false".') },
  });
  add('get', '/docs', {
    tags: ['Reference'],
    summary: 'Interactive API reference (Scalar)',
    description: 'Only when API_DOCS = "true". The page loads its script from cdn.jsdelivr.net (a pinned version) under a CSP that allows nothing else from outside.',
    responses: { 200: html('The reference page.'), 400: error('MISROUTED.'), 404: error('NOT_FOUND: API_DOCS is not "true".') },
  });
}

/**
 * Builds the OpenAPI 3.1 document of every route geogate serves. Pure and synchronous; run at
 * build time (see {@link openApiDocumentText}) and by the tests, never by the Worker.
 */
export function buildOpenApiDocument(options: OpenApiDocumentOptions = {}): ReturnType<OpenAPIHono['getOpenAPI31Document']> {
  const doc = new OpenAPIHono();
  doc.openAPIRegistry.registerComponent('securitySchemes', 'checkToken', {
    type: 'http',
    scheme: 'bearer',
    description: '`Authorization: Bearer <CHECK_TOKEN>`: origins and proxies calling the check routes.',
  });
  doc.openAPIRegistry.registerComponent('securitySchemes', 'adminToken', {
    type: 'http',
    scheme: 'bearer',
    description: '`Authorization: Bearer <ADMIN_TOKEN>`: operators. The check token is refused with 403.',
  });
  doc.openAPIRegistry.registerComponent('securitySchemes', 'geogateToken', {
    type: 'apiKey',
    in: 'header',
    name: 'Geogate-Token',
    description: `The CHECK_TOKEN in \`${TOKEN_HEADER}\`, on /v1/authorize only, for proxies that cannot set Authorization on the auth request alone (Traefik). A non-empty one is judged instead of Authorization.`,
  });
  registerRoutes(doc);
  return doc.getOpenAPI31Document({
    openapi: OPENAPI_VERSION,
    info: {
      title: 'geogate',
      version: '1',
      description: 'Edge access check: allow / deny / challenge from geo metadata and client timezone signals. Errors are always `{ error: { code, message, issues? } }`; every answer carries `Cache-Control: no-store`.',
    },
    ...(options.serverUrl !== undefined ? { servers: [{ url: options.serverUrl }] } : {}),
    tags: [
      { name: 'Check', description: 'POST /v1/check: the origin asks (CHECK_TOKEN).' },
      { name: 'Forward auth', description: 'The proxy asks; the status is the decision (CHECK_TOKEN).' },
      { name: 'Challenges', description: 'Clearing a challenged user (docs/challenges.md).' },
      { name: 'Policy', description: 'Policy versions, validation and simulation (ADMIN_TOKEN).' },
      { name: 'Lists', description: 'Named lists rules reference (ADMIN_TOKEN).' },
      { name: 'Intel', description: 'The VPN and datacenter network intel (ADMIN_TOKEN).' },
      { name: 'Memory', description: 'Account and organisation memory (ADMIN_TOKEN).' },
      { name: 'Clearances', description: 'Revoking clearances (ADMIN_TOKEN).' },
      { name: 'Audit', description: 'Who changed what (ADMIN_TOKEN).' },
      { name: 'Health', description: 'Liveness (unauthenticated).' },
      { name: 'Reference', description: 'This document and its interactive reference.' },
    ],
  });
}

/**
 * The document as the JSON text GET /openapi.json serves: `JSON.stringify` of
 * {@link buildOpenApiDocument}, keys in the order the generator emits them (fixed by the order
 * routes and components are registered above, so the same sources give the same bytes).
 */
export function openApiDocumentText(): string {
  return JSON.stringify(buildOpenApiDocument());
}

/**
 * The source of ./openapi-document.ts, the generated module the Worker imports: the document's
 * text as one string literal (a cold isolate parses a string far cheaper than the same data as
 * an object literal, and evaluates it only when GET /openapi.json first asks).
 * scripts/gen-openapi.mjs writes it; `--check` and test/cli/openapi.test.ts compare it.
 */
export function renderOpenApiModule(): string {
  return `// Generated by \`npm run gen:openapi\` (scripts/gen-openapi.mjs) from src/openapi/document.ts: do not edit.
// The OpenAPI document GET /openapi.json serves, built at build time so that the Worker ships the
// text, not the generator. \`npm run lint\` and test/cli/openapi.test.ts fail when it is stale.

/** The OpenAPI ${OPENAPI_VERSION} document as JSON text, byte for byte what GET /openapi.json answers. */
export const OPENAPI_DOCUMENT_JSON: string = ${JSON.stringify(openApiDocumentText())};
`;
}
