// What every route shares: the one error handler (refusals are answers: a stable code with Japanese
// and English messages; 5xx bodies never carry internals), the checks of query strings, parameters
// and JSON bodies made before any route runs, and bearer-token authentication.

import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifySchemaCompiler, FastifySchemaValidationError, preHandlerHookHandler } from 'fastify';
import type { TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { Type } from 'typebox';
import { errorBody, errorCatalogue, fieldError, isUniqueViolation, OnshiError, type ErrorBody, type ErrorCode, type FieldError } from './errors.ts';
import type { Principal, PrincipalKind } from './auth.ts';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

export type Authenticator = (token: string) => Promise<Principal | undefined>;

const fastifyCodes: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'ONSHI_REQUEST_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_BODY_TOO_LARGE: 'ONSHI_BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_JSON_BODY: 'ONSHI_REQUEST_INVALID',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'ONSHI_REQUEST_INVALID',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'ONSHI_REQUEST_INVALID',
};

/** What is wrong with a JSON body Fastify's parser refused (its own messages would echo the body). */
const bodyProblems: Record<string, string> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'not well-formed JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'empty, while the content type says JSON',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'its length differs from Content-Length',
};

/**
 * Sends an error body with its own serializer: the body is onshi's error shape whatever the route's
 * response schema for that status says, so a refusal can never fail serialisation and become a 500.
 */
export function sendError(reply: FastifyReply, status: number, body: ErrorBody): FastifyReply {
  return reply.status(status).type('application/json; charset=utf-8').serializer(JSON.stringify).send(body);
}

/** Field errors of a schema validation: one per field and problem (unknown query parameters included). */
export function validationFieldErrors(validation: readonly FastifySchemaValidationError[], context: string | undefined): FieldError[] {
  const seen = new Set<string>();
  const errors: FieldError[] = [];
  const add = (field: string, code: FieldError['code'], detail?: string) => {
    if (seen.has(`${field}\u0000${code}`)) return;
    seen.add(`${field}\u0000${code}`);
    errors.push(fieldError(field, code, detail));
  };
  for (const v of validation) {
    const path = (v.instancePath || '').replace(/^\//, '').replace(/\//g, '.');
    const params = (v.params ?? {}) as { missingProperty?: string; additionalProperties?: string[]; format?: string };
    if (v.keyword === 'additionalProperties' && Array.isArray(params.additionalProperties)) {
      for (const name of params.additionalProperties) add([path, name].filter(Boolean).join('.'), 'unknown', context === 'querystring' ? 'not a parameter of this route' : undefined);
      continue;
    }
    // TypeBox reports each additional property twice (once as `false` schema); the line above covers it.
    if (v.keyword === 'boolean' && (v.schemaPath ?? '').endsWith('/additionalProperties')) {
      add(path || context || 'body', 'unknown', context === 'querystring' ? 'not a parameter of this route' : undefined);
      continue;
    }
    const missing = params.missingProperty;
    const field = [path, missing].filter(Boolean).join('.') || context || 'body';
    const code = missing ? 'required' : v.keyword === 'format' && params.format === 'date' ? 'invalid_date' : 'format';
    add(field, code, code === 'format' ? v.message : undefined);
  }
  return errors;
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | OnshiError, request, reply) => {
    if (error instanceof OnshiError) {
      return sendError(reply, error.status, errorBody(error.code, error.details));
    }
    if ((error as FastifyError).validation) {
      const context = (error as FastifyError).validationContext;
      const errors = validationFieldErrors((error as FastifyError).validation!, context);
      // Fastify stops at the body; the query's problems are reported with it.
      if (context === 'body') errors.push(...queryErrors(request).errors);
      return sendError(reply, 400, errorBody('ONSHI_REQUEST_INVALID', { errors }));
    }
    // Two requests racing to create the same record: the loser gets a refusal, not a 500.
    if (isUniqueViolation(error)) return sendError(reply, 409, errorBody('ONSHI_CONFLICT'));
    const mapped = (error as FastifyError).code ? fastifyCodes[(error as FastifyError).code] : undefined;
    if (mapped) {
      const detail = bodyProblems[(error as FastifyError).code];
      return sendError(reply, errorCatalogue[mapped].status, errorBody(mapped, detail ? { errors: [fieldError('body', 'format', detail)] } : undefined));
    }
    const status = (error as FastifyError).statusCode;
    if (status && status >= 400 && status < 500) return sendError(reply, status, errorBody('ONSHI_REQUEST_INVALID', { detail: error.message }));
    request.log.error({ err: error }, 'unhandled error');
    return sendError(reply, 500, errorBody('ONSHI_INTERNAL'));
  });
  app.setNotFoundHandler((request, reply) => sendError(reply, 404, errorBody('ONSHI_NOT_FOUND', { method: request.method, url: request.url.split('?')[0] })));
}

// Requests onshi refuses before any route sees them: malformed query strings, query parameters a
// route does not take, and parameters that do not convert exactly to their declared type.

const MALFORMED_QUERY = Symbol('malformedQuery');

/**
 * The query string parser (Fastify's `routerOptions.querystringParser`): `+` is a space, repeated
 * names give arrays, and a name or value whose percent-encoding is malformed or not UTF-8 marks the
 * query as malformed (refused by the onRequest check with a field error) instead of passing through raw.
 */
export function parseQuerystring(query: string): Record<string, unknown> {
  const out: Record<string, unknown> = Object.create(null);
  if (query.length === 0) return out;
  const malformed: string[] = [];
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const rawName = eq < 0 ? pair : pair.slice(0, eq);
    const rawValue = eq < 0 ? '' : pair.slice(eq + 1);
    let name: string;
    let value: string;
    try {
      name = decodeURIComponent(rawName.replace(/\+/g, ' '));
      value = decodeURIComponent(rawValue.replace(/\+/g, ' '));
    } catch {
      malformed.push(rawName.length > 64 ? `${rawName.slice(0, 64)}…` : rawName);
      continue;
    }
    const prior = out[name];
    if (prior === undefined) out[name] = value;
    else if (Array.isArray(prior)) prior.push(value);
    else out[name] = [prior, value];
  }
  if (malformed.length) Object.defineProperty(out, MALFORMED_QUERY, { value: malformed, enumerable: false });
  return out;
}

/**
 * The schema compiler: TypeBox checks, with the query, path and header parameters converted only
 * when the text is exactly a value of the declared type (`limit=true` or `limit=1e3` stay text and
 * are refused; TypeBox's own conversion would read them as 1 and 1000).
 */
export const strictValidatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const check = Compile(schema);
  const properties = (schema as { properties?: Record<string, { type?: unknown }> }).properties;
  return (value: unknown) => {
    const converted = httpPart === 'body' || !properties ? value : convertParameters(properties, value);
    if (check.Check(converted)) return { value: converted };
    return { error: check.Errors(converted) as unknown as FastifySchemaValidationError[] };
  };
};

function convertParameters(properties: Record<string, { type?: unknown }>, value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const input = value as Record<string, unknown>;
  let out: Record<string, unknown> | undefined;
  for (const key of Object.keys(input)) {
    const p = Object.hasOwn(properties, key) ? properties[key] : undefined;
    const v = input[key];
    if (!p || typeof v !== 'string') continue;
    const c = convertText(p.type, v);
    if (c !== v) (out ??= { ...input })[key] = c;
  }
  return out ?? value;
}

function convertText(type: unknown, v: string): unknown {
  if (type === 'integer') return /^-?(0|[1-9][0-9]{0,14})$/.test(v) ? Number(v) : v;
  if (type === 'number') return /^-?(0|[1-9][0-9]{0,14})(\.[0-9]{1,15})?$/.test(v) ? Number(v) : v;
  if (type === 'boolean') return v === 'true' ? true : v === 'false' ? false : v;
  return v;
}

const NO_PARAMETERS = Type.Object({}, { additionalProperties: false });

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const utf8 = new TextDecoder('utf-8', { fatal: true });

function bodyRefusal(detail: string): OnshiError {
  return new OnshiError('ONSHI_REQUEST_INVALID', { errors: [fieldError('body', 'format', detail)] });
}

/**
 * The JSON body parser: UTF-8 only (invalid bytes are refused, never read as U+FFFD), and a key named
 * __proto__, constructor or prototype at any depth is refused: no service merges such an object into
 * another, and none of onshi's bodies has such a field.
 */
export function parseJsonBody(_request: FastifyRequest, body: Buffer, done: (err: Error | null, value?: unknown) => void): void {
  if (body.length === 0) return done(bodyRefusal('empty, while the content type says JSON'));
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    return done(bodyRefusal('not UTF-8'));
  }
  let value: unknown;
  try {
    value = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch {
    return done(bodyRefusal('not well-formed JSON'));
  }
  // Only a text that could spell such a key (plainly or with \u escapes) is walked.
  if (/__proto__|constructor|prototype|\\u/.test(text)) {
    const pending: unknown[] = [value];
    while (pending.length) {
      const v = pending.pop();
      if (v === null || typeof v !== 'object') continue;
      if (Array.isArray(v)) {
        for (const item of v) if (item !== null && typeof item === 'object') pending.push(item);
        continue;
      }
      for (const key of Object.keys(v)) {
        if (FORBIDDEN_KEYS.has(key)) return done(bodyRefusal(`names the key ${key}`));
        const item = (v as Record<string, unknown>)[key];
        if (item !== null && typeof item === 'object') pending.push(item);
      }
    }
  }
  done(null, value);
}

/**
 * Query and parameter checks shared by every route. Installed before the routes: a /v1 route takes
 * only the query parameters its schema names (none when it names none), and a query error is a
 * refusal even on routes whose body problems are the service's to report (attachValidation).
 */
export function installRequestChecks(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, parseJsonBody);
  app.addHook('onRoute', (route) => {
    if (!route.url.startsWith('/v1/')) return;
    const schema = (route.schema ??= {}) as { querystring?: { additionalProperties?: unknown } };
    if (!schema.querystring) schema.querystring = NO_PARAMETERS as { additionalProperties?: unknown };
    else if (schema.querystring.additionalProperties === undefined) schema.querystring.additionalProperties = false;
    if (route.attachValidation) {
      const own = route.preHandler;
      route.preHandler = [refuseAttachedParameterErrors as preHandlerHookHandler, ...(own === undefined ? [] : Array.isArray(own) ? own : [own])];
    }
  });
  app.addHook('onRequest', (request, _reply, done) => {
    const malformed = (request.query as Record<PropertyKey, unknown> | undefined)?.[MALFORMED_QUERY] as string[] | undefined;
    if (!malformed) return done();
    done(new OnshiError('ONSHI_REQUEST_INVALID', { errors: malformed.map((name) => fieldError(name || 'query', 'format', 'malformed percent-encoding or not UTF-8')) }));
  });
}

/**
 * First preHandler of a route that takes its body's problems to its service (attachValidation): a
 * path or query error is still a refusal, and so is the query of a request whose body failed first.
 */
function refuseAttachedParameterErrors(request: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void): void {
  const attached = request.validationError as (FastifyError & { validationContext?: string }) | undefined;
  if (!attached) return done();
  if (attached.validationContext !== 'body') {
    return done(new OnshiError('ONSHI_REQUEST_INVALID', { errors: validationFieldErrors(attached.validation ?? [], attached.validationContext) }));
  }
  const { errors, value } = queryErrors(request);
  if (errors.length) return done(new OnshiError('ONSHI_REQUEST_INVALID', { errors }));
  request.query = value;
  done();
}

/** The route's query check, run by hand (Fastify does not reach it when the body failed first). */
function queryErrors(request: FastifyRequest): { errors: FieldError[]; value: unknown } {
  const validate = request.getValidationFunction('querystring') as unknown as ((q: unknown) => { value?: unknown; error?: FastifySchemaValidationError[] }) | undefined;
  if (!validate) return { errors: [], value: request.query };
  const r = validate(request.query);
  return r.error ? { errors: validationFieldErrors(r.error, 'querystring'), value: request.query } : { errors: [], value: r.value };
}

/** Fastify's own refusals before routing (a malformed path, an over-long path parameter), in onshi's shape. */
export function frameworkErrors(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const detail = error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'a path segment is too long' : 'malformed percent-encoding or not UTF-8';
  sendError(reply, 400, errorBody('ONSHI_REQUEST_INVALID', { errors: [fieldError('path', error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'too_long' : 'format', detail)] }));
}

/**
 * Requests Node's HTTP parser refuses (raw non-ASCII bytes in the request line, malformed headers):
 * answered in onshi's shape, with the statuses Node and Fastify give them.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const status = error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
  const detail = status === 408 ? 'the request was not received in time' : status === 431 ? 'the request headers are too large' : 'not a well-formed HTTP request';
  const body = JSON.stringify(errorBody('ONSHI_REQUEST_INVALID', { detail }));
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${status === 408 ? 'Request Timeout' : status === 431 ? 'Request Header Fields Too Large' : 'Bad Request'}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy(error);
}

function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1] : '';
}

/**
 * A preHandler that requires a valid credential of one of the given kinds: no token or a bad one
 * is 401, a token of another kind 403. Finer checks (which insurer, which role) are the service's.
 */
export function makeAuthGuard(authenticate: Authenticator) {
  return function requireAuth(...kinds: PrincipalKind[]): preHandlerHookHandler {
    return async (request: FastifyRequest, reply: FastifyReply) => {
      const token = bearerToken(request);
      if (token === undefined) return sendError(reply.header('www-authenticate', 'Bearer'), 401, errorBody('ONSHI_AUTH_MISSING_TOKEN'));
      const principal = token === '' ? undefined : await authenticate(token);
      if (!principal) return sendError(reply.header('www-authenticate', 'Bearer error="invalid_token"'), 401, errorBody('ONSHI_AUTH_INVALID_TOKEN'));
      if (kinds.length > 0 && !kinds.includes(principal.kind)) {
        return sendError(reply, 403, errorBody('ONSHI_AUTH_FORBIDDEN', { requiredKinds: kinds, credentialKind: principal.kind }));
      }
      request.principal = principal;
    };
  };
}

export type AuthGuard = ReturnType<typeof makeAuthGuard>;

/** The principal set by the guard (routes run only after it). */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new OnshiError('ONSHI_AUTH_MISSING_TOKEN');
  return request.principal;
}
