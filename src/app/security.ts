// Security headers on every answer and rate limits on the routes a stolen or runaway credential (or
// a PIN-guessing client) would hammer. A refusal is 429 ONSHI_RATE_LIMITED in the catalogue shape,
// with Retry-After.

import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import helmet from 'helmet';
import rateLimit from '@fastify/rate-limit';
import type { Config } from '../platform/config.ts';
import { OnshiError } from '../platform/errors.ts';
import { ErrorSchema } from '../platform/http-schemas.ts';

export type RateLimitKind = 'confirmations' | 'signIn';

/**
 * The limited routes. Confirmations are counted per credential (a reception desk confirms in bursts,
 * so the default is generous); the patient sign-in has no credential yet and is counted per client
 * address. Each route has its own counter.
 */
export const rateLimitedRoutes: Readonly<Record<string, RateLimitKind>> = {
  'POST /v1/confirmations': 'confirmations',
  'POST /v1/card-confirmations/challenges': 'confirmations',
  'POST /v1/card-confirmations': 'confirmations',
  'POST /v1/patient-sessions/challenges': 'signIn',
  'POST /v1/patient-sessions': 'signIn',
};

const RATE_WINDOW_MS = 60_000;

/** The counter's key: the credential when the request carries one (auth ran before), else the address. */
function rateKey(request: FastifyRequest): string {
  return request.principal ? `credential:${request.principal.credentialId}` : `address:${request.ip}`;
}

/**
 * An API answers data, never pages: nothing may be loaded, framed or submitted from its answers.
 * (The documentation under /docs sets its own policy, which swagger-ui needs: see build-app.)
 */
const helmetOptions = {
  contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"], frameAncestors: ["'none'"] } },
} as const;

/**
 * Helmet's standard headers, computed once. @fastify/helmet builds helmet's middleware again for
 * every request (15 µs measured, against about 1 µs to set a fixed set of headers): too much for the
 * confirmation path, and the headers never vary here.
 */
export function securityHeaders(): Record<string, string> {
  const headers: Record<string, string> = {};
  const collector = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()];
    },
  };
  helmet(helmetOptions)({} as IncomingMessage, collector as unknown as ServerResponse, () => undefined);
  return headers;
}

/** Registers the headers and the rate limits; call before any route is added. */
export async function installSecurity(app: FastifyInstance, config: Config): Promise<void> {
  const headers = securityHeaders();
  app.addHook('onRequest', (_request, reply, done) => {
    reply.headers(headers);
    done();
  });

  const max: Record<RateLimitKind, number> = { confirmations: config.rateLimitConfirmations, signIn: config.rateLimitSignIn };
  // Before the plugin's own onRoute hook: marks the routes to limit (a limit of 0 leaves them alone)
  // and documents the refusal in their schema, which the OpenAPI document is built from.
  app.addHook('onRoute', (route: RouteOptions) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const kind = methods.map((m) => rateLimitedRoutes[`${m} ${route.url}`]).find((k) => k !== undefined);
    if (kind === undefined || max[kind] === 0) return;
    route.config = { ...(route.config as object), rateLimit: { max: max[kind], timeWindow: RATE_WINDOW_MS } } as RouteOptions['config'];
    const schema = route.schema as { response?: Record<string, unknown> } | undefined;
    if (schema?.response) schema.response = { ...schema.response, 429: ErrorSchema };
  });
  await app.register(rateLimit, {
    global: false,
    // After the route's own preHandler (authentication), so that the counter is the credential's.
    hook: 'preHandler',
    keyGenerator: rateKey,
    // Counters of this many keys per route; beyond, the least recently seen are forgotten.
    cache: 100_000,
    // Retry-After and the X-RateLimit-* headers are set by the plugin before it throws this.
    errorResponseBuilder: (_request, context) => new OnshiError('ONSHI_RATE_LIMITED', { limit: context.max, retryAfterSeconds: Math.ceil(context.ttl / 1000) }),
  });
}
