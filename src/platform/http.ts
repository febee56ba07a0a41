// What every route shares: the one error handler (refusals are answers: a stable code with Japanese
// and English messages; 5xx bodies never carry internals) and bearer-token authentication.

import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, preHandlerHookHandler } from 'fastify';
import { errorBody, errorCatalogue, fieldError, isUniqueViolation, OnshiError, type ErrorCode } from './errors.ts';
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

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | OnshiError, request, reply) => {
    if (error instanceof OnshiError) {
      return reply.status(error.status).send(errorBody(error.code, error.details));
    }
    if ((error as FastifyError).validation) {
      const errors = (error as FastifyError).validation!.map((v) => {
        const path = (v.instancePath || '').replace(/^\//, '').replace(/\//g, '.');
        const missing = (v.params as { missingProperty?: string } | undefined)?.missingProperty;
        const field = [path, missing].filter(Boolean).join('.') || (error as FastifyError).validationContext || 'body';
        return fieldError(field, missing ? 'required' : 'format', v.message);
      });
      return reply.status(400).send(errorBody('ONSHI_REQUEST_INVALID', { errors }));
    }
    // Two requests racing to create the same record: the loser gets a refusal, not a 500.
    if (isUniqueViolation(error)) return reply.status(409).send(errorBody('ONSHI_CONFLICT'));
    const mapped = (error as FastifyError).code ? fastifyCodes[(error as FastifyError).code] : undefined;
    if (mapped) return reply.status(errorCatalogue[mapped].status).send(errorBody(mapped));
    const status = (error as FastifyError).statusCode;
    if (status && status >= 400 && status < 500) return reply.status(status).send(errorBody('ONSHI_REQUEST_INVALID', { detail: error.message }));
    request.log.error({ err: error }, 'unhandled error');
    return reply.status(500).send(errorBody('ONSHI_INTERNAL'));
  });
  app.setNotFoundHandler((request, reply) => reply.status(404).send(errorBody('ONSHI_NOT_FOUND', { method: request.method, url: request.url.split('?')[0] })));
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
      if (token === undefined) return reply.status(401).header('www-authenticate', 'Bearer').send(errorBody('ONSHI_AUTH_MISSING_TOKEN'));
      const principal = token === '' ? undefined : await authenticate(token);
      if (!principal) return reply.status(401).header('www-authenticate', 'Bearer error="invalid_token"').send(errorBody('ONSHI_AUTH_INVALID_TOKEN'));
      if (kinds.length > 0 && !kinds.includes(principal.kind)) {
        return reply.status(403).send(errorBody('ONSHI_AUTH_FORBIDDEN', { requiredKinds: kinds, credentialKind: principal.kind }));
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
