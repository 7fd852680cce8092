import fs from 'node:fs';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { parse as parseYaml } from 'yaml';
import { CrosslineError, type ErrorDetail } from '../errors.js';

/**
 * `openapi.yaml` is the single source of the API's schemas: request bodies, query, path and header
 * parameters are validated by the schemas it holds, compiled once with ajv (OpenAPI 3.1 is JSON
 * Schema 2020-12). No schema is repeated in TypeScript.
 */

/** Base URI the document is registered under, so its `#/components/...` references resolve. */
const DOC_ID = 'https://crossline.local/openapi.yaml';

/** Top-level OpenAPI fields: annotations to ajv (the root is compiled when a fragment is resolved). */
const OPENAPI_FIELDS = ['openapi', 'info', 'jsonSchemaDialect', 'servers', 'paths', 'webhooks', 'components', 'security', 'tags', 'externalDocs'];
/** OpenAPI schema keywords outside JSON Schema, tolerated in component schemas. */
const OPENAPI_SCHEMA_KEYWORDS = ['example', 'discriminator', 'xml'];

export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];
export type ParameterLocation = 'query' | 'path' | 'header';

// The parts of the OpenAPI 3.1 document this module reads; the rest is passed through untyped.
export interface SchemaObject {
  [keyword: string]: unknown;
}
export interface ParameterObject {
  name: string;
  in: ParameterLocation | 'cookie';
  required?: boolean;
  description?: string;
  schema?: SchemaObject;
}
export interface RefObject {
  $ref: string;
}
export interface OperationObject {
  operationId?: string;
  summary?: string;
  description?: string;
  tags?: string[];
  security?: Array<Record<string, string[]>>;
  parameters?: Array<ParameterObject | RefObject>;
  requestBody?: { required?: boolean; description?: string; content?: Record<string, { schema?: SchemaObject }> };
  responses?: Record<string, unknown>;
}
export type PathItemObject = { parameters?: Array<ParameterObject | RefObject> } & Partial<Record<HttpMethod, OperationObject>>;
export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string; summary?: string; description?: string };
  paths: Record<string, PathItemObject>;
  components: {
    schemas: Record<string, SchemaObject>;
    parameters?: Record<string, ParameterObject>;
    responses?: Record<string, unknown>;
    [section: string]: unknown;
  };
  [field: string]: unknown;
}

/** An operation located in the document. */
export interface OperationRef {
  operationId: string;
  method: HttpMethod;
  /** The path template, e.g. `/v1/callbacks/{id}`. */
  path: string;
  operation: OperationObject;
  /** JSON pointer of the operation object. */
  pointer: string;
}

/** A path template of the document, matched against request paths (metrics labels, 405s). */
export interface RouteTemplate {
  template: string;
  methods: HttpMethod[];
  test(pathname: string): boolean;
}

/** Walks up from `start` to the directory holding package.json: the same from `src/` and `dist/src/`. */
export function packageRoot(start: string = __dirname): string {
  let dir = start;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`No package.json above ${start}`);
    dir = parent;
  }
}

const escapePointer = (s: string): string => s.replace(/~/g, '~0').replace(/\//g, '~1');
const isRef = (v: unknown): v is RefObject => typeof v === 'object' && v !== null && typeof (v as RefObject).$ref === 'string';

export class OpenApi {
  /** The YAML text, served as is at /openapi.yaml. */
  readonly text: string;
  readonly document: OpenApiDocument;
  readonly routes: readonly RouteTemplate[];
  /** Bodies: JSON types as sent, no coercion, no defaults (the domain applies the configured ones). */
  private readonly bodyAjv: Ajv2020;
  /** Parameters arrive as strings: coerced to the schema's types, defaults applied. */
  private readonly paramAjv: Ajv2020;

  constructor(text: string) {
    this.text = text;
    this.document = parseYaml(text) as OpenApiDocument;
    this.bodyAjv = this.createAjv(false);
    this.paramAjv = this.createAjv(true);
    this.routes = Object.entries(this.document.paths).map(([template, item]) => {
      const source = template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}/]+\}/g, '[^/]+');
      const regex = new RegExp(`^${source}/?$`);
      return { template, methods: HTTP_METHODS.filter((m) => item[m] !== undefined), test: (p: string) => regex.test(p) };
    });
  }

  private createAjv(forParameters: boolean): Ajv2020 {
    const ajv = new Ajv2020({
      allErrors: true,
      verbose: true,
      // strict, except `required` inside oneOf branches naming properties declared beside them
      strictSchema: true,
      strictNumbers: true,
      strictTypes: true,
      strictTuples: true,
      strictRequired: false,
      coerceTypes: forParameters,
      useDefaults: forParameters,
    });
    addFormats(ajv);
    for (const keyword of [...OPENAPI_FIELDS, ...OPENAPI_SCHEMA_KEYWORDS, ...vendorExtensions(this.document)]) ajv.addKeyword(keyword);
    ajv.addSchema(this.document as object, DOC_ID);
    return ajv;
  }

  /** Locates an operation by operationId; throws when the document has none (a programming error). */
  operation(operationId: string): OperationRef {
    for (const [p, item] of Object.entries(this.document.paths)) {
      for (const method of HTTP_METHODS) {
        const op = item[method];
        if (op?.operationId === operationId) {
          return { operationId, method, path: p, operation: op, pointer: `/paths/${escapePointer(p)}/${method}` };
        }
      }
    }
    throw new Error(`openapi.yaml has no operation ${operationId}`);
  }

  /** Compiles the schema at a JSON pointer of the document, e.g. `/components/schemas/Callback`. */
  schema(pointer: string, forParameters = false): ValidateFunction {
    const ajv = forParameters ? this.paramAjv : this.bodyAjv;
    const validate = ajv.getSchema(`${DOC_ID}#${pointer}`);
    if (!validate) throw new Error(`openapi.yaml has no schema at ${pointer}`);
    return validate;
  }

  /**
   * A validator for the operation's `application/json` request body. It returns the body unchanged
   * or throws VALIDATION_FAILED with one detail per problem (JSON pointers into the body).
   */
  validateBody<T>(operationId: string): (body: unknown) => T {
    const op = this.operation(operationId);
    if (!op.operation.requestBody?.content?.['application/json']?.schema) throw new Error(`${operationId} has no JSON request body`);
    const validate = this.schema(`${op.pointer}/requestBody/content/application~1json/schema`);
    return (body: unknown): T => {
      if (!validate(body)) throw new CrosslineError('VALIDATION_FAILED', undefined, toDetails(validate.errors ?? [], ''));
      return body as T;
    };
  }

  /**
   * A validator for the operation's parameters in one location. It takes the raw values (strings,
   * or string arrays for repeated query keys), and returns them coerced, with defaults, or throws
   * VALIDATION_FAILED (paths `query.<name>`). Unknown query parameters are refused.
   */
  validateParameters<T extends Record<string, unknown>>(operationId: string, location: ParameterLocation): (values: Record<string, unknown>) => T {
    const params = this.parameters(operationId).filter((p) => p.param.in === location);
    const wrapper: SchemaObject = {
      type: 'object',
      properties: Object.fromEntries(params.map((p) => [p.param.name, { $ref: `${DOC_ID}#${p.pointer}/schema` }])),
      required: params.filter((p) => p.param.required).map((p) => p.param.name),
      additionalProperties: location !== 'query',
    };
    const validate = this.paramAjv.compile(wrapper);
    // ajv applies no default found behind a $ref, so defaults are filled in here
    const defaults = params.flatMap((p) => (p.param.schema && 'default' in p.param.schema ? [[p.param.name, p.param.schema.default] as const] : []));
    return (values: Record<string, unknown>): T => {
      const copy = { ...values };
      for (const [name, value] of defaults) if (copy[name] === undefined) copy[name] = value;
      if (!validate(copy)) throw new CrosslineError('VALIDATION_FAILED', undefined, toDetails(validate.errors ?? [], `${location}.`));
      return copy as T;
    };
  }

  /** One parameter's schema as a predicate (used where a failure has its own error code). */
  parameterCheck(operationId: string, location: ParameterLocation, name: string): (value: unknown) => boolean {
    const found = this.parameters(operationId).find((p) => p.param.in === location && p.param.name.toLowerCase() === name.toLowerCase());
    if (!found) throw new Error(`${operationId} has no ${location} parameter ${name}`);
    const validate = this.schema(`${found.pointer}/schema`, true);
    return (value: unknown): boolean => validate(value) === true;
  }

  /** The operation's parameters, path-level and operation-level, with the pointer of each object. */
  parameters(operationId: string): Array<{ param: ParameterObject; pointer: string }> {
    const op = this.operation(operationId);
    const item = this.document.paths[op.path] ?? {};
    const itemPointer = `/paths/${escapePointer(op.path)}`;
    const collect = (list: Array<ParameterObject | RefObject> | undefined, base: string): Array<{ param: ParameterObject; pointer: string }> =>
      (list ?? []).map((entry, i) => (isRef(entry) ? this.resolveParameter(entry.$ref) : { param: entry, pointer: `${base}/parameters/${i}` }));
    const byKey = new Map<string, { param: ParameterObject; pointer: string }>();
    for (const p of [...collect(item.parameters, itemPointer), ...collect(op.operation.parameters, op.pointer)]) byKey.set(`${p.param.in}:${p.param.name}`, p);
    return [...byKey.values()];
  }

  private resolveParameter(ref: string): { param: ParameterObject; pointer: string } {
    if (!ref.startsWith('#/')) throw new Error(`Only local parameter references are supported: ${ref}`);
    const pointer = ref.slice(1);
    let node: unknown = this.document;
    for (const part of pointer.slice(1).split('/')) {
      node = (node as Record<string, unknown> | undefined)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
    }
    if (typeof node !== 'object' || node === null) throw new Error(`Unresolved parameter reference ${ref}`);
    return { param: node as ParameterObject, pointer };
  }

  /** The codes of the `ErrorCode` schema. */
  errorCodes(): string[] {
    const schema = this.document.components.schemas.ErrorCode;
    return Array.isArray(schema?.enum) ? schema.enum.map(String) : [];
  }

  /** The path template a request path belongs to, or undefined. */
  routeOf(pathname: string): RouteTemplate | undefined {
    return this.routes.find((r) => r.test(pathname));
  }
}

/** Every `x-…` key used in the document, registered with ajv as an annotation. */
function vendorExtensions(doc: unknown): string[] {
  const found = new Set<string>();
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (typeof node !== 'object' || node === null) return;
    for (const [key, value] of Object.entries(node)) {
      if (key.startsWith('x-')) found.add(key);
      walk(value);
    }
  };
  walk(doc);
  return [...found];
}

/**
 * Turns ajv errors into `{path, message}` details. A schema's `x-invalid-message` replaces ajv's
 * "must match pattern …"; the branch errors under a failed `oneOf` are folded into its message.
 */
export function toDetails(errors: ErrorObject[], prefix: string): ErrorDetail[] {
  const oneOfs = errors.filter((e) => e.keyword === 'oneOf').map((e) => e.schemaPath);
  // a value of the wrong type makes every other complaint about it noise
  const wrongType = new Set(errors.filter((e) => e.keyword === 'type').map((e) => e.instancePath));
  const details: ErrorDetail[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    if (oneOfs.some((p) => e.schemaPath.startsWith(`${p}/`))) continue;
    if (e.keyword !== 'type' && wrongType.has(e.instancePath)) continue;
    let pointer = e.instancePath;
    let message: string;
    if (e.keyword === 'required') {
      pointer += `/${(e.params as { missingProperty: string }).missingProperty}`;
      message = 'is required';
    } else if (e.keyword === 'additionalProperties') {
      pointer += `/${(e.params as { additionalProperty: string }).additionalProperty}`;
      message = 'is not allowed';
    } else {
      const parent = e.parentSchema as SchemaObject | undefined;
      const custom = parent?.['x-invalid-message'];
      const replaceable = ['pattern', 'format', 'oneOf'].includes(e.keyword) || (e.keyword === 'type' && parent?.type === 'string');
      message = replaceable && typeof custom === 'string' ? custom : e.message ?? 'is invalid';
    }
    const pathText = prefix === '' ? pointer : `${prefix}${pointer.replace(/^\//, '').replace(/\//g, '.')}`;
    const key = `${pathText}\n${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    details.push({ path: pathText === '' ? '/' : pathText, message });
  }
  return details;
}

const cache = new Map<string, OpenApi>();

/** Loads and compiles `openapi.yaml` (from the package root unless told otherwise) once per process. */
export function loadOpenApi(file: string = path.join(packageRoot(), 'openapi.yaml')): OpenApi {
  let api = cache.get(file);
  if (!api) {
    api = new OpenApi(fs.readFileSync(file, 'utf8'));
    cache.set(file, api);
  }
  return api;
}
