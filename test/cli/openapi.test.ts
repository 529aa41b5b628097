// The OpenAPI document the Worker serves (the committed src/openapi/openapi-document.ts) passes an
// independent validator (@seriousme/openapi-schema-validator, the official OpenAPI 3.1 JSON schemas
// through ajv) and is what a fresh build from the routes' schemas gives, so a stale artifact fails
// here as well as in `npm run lint`. It runs in Node: ajv compiles validators with `new Function`,
// which workerd refuses. test/integration/openapi.test.ts checks, inside workerd, that the Worker
// serves this same document and that it lists every route.
// The document builder reaches modules that name the Worker's generated `Env` type.
// eslint-disable-next-line @typescript-eslint/triple-slash-reference -- that file is a global script (no exports): it cannot be imported
/// <reference path="../../worker-configuration.d.ts" />
import { readFileSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, it } from 'vitest';
import { buildOpenApiDocument, OPENAPI_VERSION, openApiDocumentText, renderOpenApiModule } from '../../src/openapi/document';
import { OPENAPI_DOCUMENT_JSON } from '../../src/openapi/openapi-document';

/** The committed document, as the Worker serves it. */
const served = () => JSON.parse(OPENAPI_DOCUMENT_JSON) as Record<string, unknown>;

describe('the OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const validator = new Validator();
    const result = await validator.validate(served());
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('resolves every $ref it uses', async () => {
    const validator = new Validator();
    await validator.validate(served());
    // resolveRefs throws on a reference to a component that does not exist.
    expect(() => validator.resolveRefs()).not.toThrow();
  });

  it('fails the validator when broken, so the test above can fail', async () => {
    const broken = { ...served(), paths: { '/x': { get: { responses: { 200: { content: {} } } } } } };
    expect((await new Validator().validate(broken as unknown as Record<string, unknown>)).valid).toBe(false);
  });

  it("is committed fresh: the served text is what the routes' schemas build today (else: npm run gen:openapi)", () => {
    // The structural comparison first: when stale, its diff names what changed.
    expect(served(), 'src/openapi/openapi-document.ts is stale: run npm run gen:openapi').toEqual(JSON.parse(JSON.stringify(buildOpenApiDocument())));
    expect(OPENAPI_DOCUMENT_JSON === openApiDocumentText(), 'same document, other bytes: run npm run gen:openapi').toBe(true);
    expect(served().openapi).toBe(OPENAPI_VERSION);
  });

  it('is committed as generated, byte for byte (the module `npm run gen:openapi` writes)', () => {
    const committed = readFileSync(new URL('../../src/openapi/openapi-document.ts', import.meta.url), 'utf8');
    expect(committed === renderOpenApiModule(), 'src/openapi/openapi-document.ts differs: run npm run gen:openapi').toBe(true);
    expect(committed.endsWith(';\n')).toBe(true);
  });

  it('offers a server only when asked', () => {
    expect(buildOpenApiDocument().servers).toBeUndefined();
    expect(buildOpenApiDocument({ serverUrl: 'https://geogate.example.com' }).servers).toEqual([{ url: 'https://geogate.example.com' }]);
  });
});
