// The OpenAPI document passes an independent validator (@seriousme/openapi-schema-validator, the
// official OpenAPI 3.1 JSON schemas through ajv). It runs in Node: ajv compiles validators with
// `new Function`, which workerd refuses. test/integration/openapi.test.ts checks, inside workerd,
// that the Worker serves this same document and that it lists every route.
// The document builder reaches modules that name the Worker's generated `Env` type.
// eslint-disable-next-line @typescript-eslint/triple-slash-reference -- that file is a global script (no exports): it cannot be imported
/// <reference path="../../worker-configuration.d.ts" />
import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, it } from 'vitest';
import { buildOpenApiDocument, openApiDocument, OPENAPI_VERSION } from '../../src/openapi/document';

describe('the OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const validator = new Validator();
    const result = await validator.validate(buildOpenApiDocument() as unknown as Record<string, unknown>);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('resolves every $ref it uses', async () => {
    const validator = new Validator();
    await validator.validate(buildOpenApiDocument() as unknown as Record<string, unknown>);
    // resolveRefs throws on a reference to a component that does not exist.
    expect(() => validator.resolveRefs()).not.toThrow();
  });

  it('fails the validator when broken, so the test above can fail', async () => {
    const broken = { ...buildOpenApiDocument(), paths: { '/x': { get: { responses: { 200: { content: {} } } } } } };
    expect((await new Validator().validate(broken as unknown as Record<string, unknown>)).valid).toBe(false);
  });

  it('is what the Worker serves: the cached text is the built document', () => {
    const doc = JSON.parse(openApiDocument()) as { openapi: string };
    expect(doc).toEqual(JSON.parse(JSON.stringify(buildOpenApiDocument())));
    expect(doc.openapi).toBe(OPENAPI_VERSION);
  });

  it('offers a server only when asked', () => {
    expect(buildOpenApiDocument().servers).toBeUndefined();
    expect(buildOpenApiDocument({ serverUrl: 'https://geogate.example.com' }).servers).toEqual([{ url: 'https://geogate.example.com' }]);
  });
});
