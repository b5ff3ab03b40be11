import { z } from 'zod';
import { errorBody } from './contract/common.ts';
import { successStatuses, type RouteDefinition } from './contract/route.ts';
import { SIGNATURE_HEADERS } from './request-signature.ts';

type JsonSchema = Record<string, unknown>;

/** Schemas that refer to themselves (a call tree), as their `$defs` name them: lifted into the document's components. */
const components: Record<string, JsonSchema> = {};

/**
 * A zod schema as JSON Schema for the document. A recursive schema (given an id with `.meta({ id })`)
 * comes with its definition under `$defs`: it moves to `components.schemas` and its references with it.
 */
const schemaOf = (schema: z.ZodType, io: 'input' | 'output'): JsonSchema => {
  const { $schema: _, $defs, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as JsonSchema;
  const lifted = (x: JsonSchema) => JSON.parse(JSON.stringify(x).replaceAll('"#/$defs/', '"#/components/schemas/')) as JsonSchema;
  for (const [name, def] of Object.entries(($defs ?? {}) as Record<string, JsonSchema>)) components[name] = lifted(def);
  return lifted(rest);
};

/** Path parameters and query fields of a route as OpenAPI parameters (the request side of their schemas). */
function parametersOf(route: RouteDefinition): JsonSchema[] {
  const out: JsonSchema[] = [];
  const add = (where: 'path' | 'query' | 'header', object: z.ZodObject | undefined, required?: (name: string) => boolean) => {
    if (!object) return;
    const json = schemaOf(object, 'input') as { properties?: Record<string, JsonSchema>; required?: string[] };
    for (const [name, schema] of Object.entries(json.properties ?? {})) {
      out.push({ name, in: where, required: where === 'path' || (required?.(name) ?? json.required?.includes(name) ?? false), schema });
    }
  };
  add('path', route.params);
  add('query', route.query);
  if (route.multipart) add('header', route.multipart.headers);
  return out;
}

/**
 * The OpenAPI 3.1 document of the node's API, generated from the route definitions (the request
 * side of each schema for parameters and bodies, the response side for answers), with the error
 * body every route shares. Signed routes name the request-signature scheme, consumer routes the
 * API key too.
 *
 * @example
 * const doc = openApiDocument(Object.values(routes), { version: '0.1.0' });
 */
export function openApiDocument(routes: readonly RouteDefinition[], o: { version: string; serverUrl?: string }): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const route of routes) {
    const path = route.path.replace(/:(\w+)/g, '{$1}');
    const responses: Record<string, JsonSchema> = {};
    for (const status of successStatuses(route)) {
      const content: Record<string, JsonSchema> = {};
      if (route.response) content['application/json'] = { schema: schemaOf(route.response, 'output') };
      if (route.produces) content[route.produces] = { schema: route.produces === 'application/octet-stream' ? { type: 'string', contentMediaType: 'application/octet-stream' } : { type: 'string' } };
      responses[String(status)] = { description: route.summary, content };
    }
    responses['default'] = { description: 'An error: its code, a message for people, and the fields at fault', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
    const operation: JsonSchema = {
      operationId: route.id,
      tags: [route.tag],
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      parameters: parametersOf(route),
      responses,
      ...(route.auth === 'signed' ? { security: [{ signedRequest: [] }] } : route.auth === 'consumer' ? { security: [{ apiKey: [] }, { signedRequest: [] }] } : {}),
    };
    if (route.body) {
      const optional = route.body.safeParse(undefined).success;
      operation['requestBody'] = { required: !optional, content: { 'application/json': { schema: schemaOf(route.body, 'input') } } };
    } else if (route.multipart) {
      operation['requestBody'] = { required: true, content: { 'multipart/form-data': { schema: { type: 'object', required: ['file'], properties: { file: { type: 'string', contentMediaType: 'application/octet-stream' } } } } } };
    }
    (paths[path] ??= {})[route.method.toLowerCase()] = operation;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'openledger node API',
      version: o.version,
      description: 'Datanets, ModelFactory, inference with Proof of Attribution, and OPEN settlement. Amounts of OPEN are wei as decimal strings.',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    ...(o.serverUrl ? { servers: [{ url: o.serverUrl }] } : {}),
    paths,
    components: {
      schemas: { Error: schemaOf(errorBody, 'output'), ...components },
      securitySchemes: {
        signedRequest: {
          type: 'apiKey', in: 'header', name: SIGNATURE_HEADERS.signature,
          description: `An EIP-712 signature by the acting wallet over the method, path, body hash, time and nonce, for this node's chain and account (/status); sent with ${SIGNATURE_HEADERS.address}, ${SIGNATURE_HEADERS.timestamp} and ${SIGNATURE_HEADERS.nonce}.`,
        },
        apiKey: { type: 'http', scheme: 'bearer', description: 'An API key bound to an account (POST /api-keys).' },
      },
    },
  };
}
