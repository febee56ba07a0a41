// Configuration from the environment, validated once at start and frozen. A bad value stops the
// server with a message that names the variable, what it got and what it wants.

export interface Config {
  readonly host: string;
  readonly port: number;
  readonly databaseUrl: string;
  /** When set, an administrator credential with exactly this token exists (for bootstrap scripts). */
  readonly adminToken: string | undefined;
  /** Secret for the person link key (HMAC of the My Number); generated and kept in the database when unset. */
  readonly linkSecret: string | undefined;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Confirmations (card numbers, card, card challenges) per credential and minute; 0 turns the limit off. */
  readonly rateLimitConfirmations: number;
  /** Patient sign-in requests (challenge, sign-in) per client address and minute; 0 turns the limit off. */
  readonly rateLimitSignIn: number;
  /** Take the client address from X-Forwarded-For (behind a reverse proxy): the sign-in limit is per patient, not per proxy. */
  readonly trustProxy: boolean;
  /** Log every request (method, route, status, time); off by default to keep the hot path lean. */
  readonly accessLog: boolean;
  /** Load the demo data set into an empty database at start. */
  readonly demoData: boolean;
  /** Register the benchmark reference route (a fixed response) — for bench/ only. */
  readonly benchRoutes: boolean;
  /** Group commit: the most usage events written in one transaction. */
  readonly groupCommitMaxBatch: number;
  /** How long a patient's consent (medication, check-ups, limit info) stays in force, in hours. */
  readonly consentValidityHours: number;
  // Body limits (README, configuration): a body is refused with 413 the moment it passes its limit.
  /** Any JSON body, unless its route has its own limit below. */
  readonly limitJsonBytes: number;
  /** JSON bodies of the bulk routes (employer data in bulk). */
  readonly limitBulkJsonBytes: number;
  /** Member imports and the statistics CSV imports (streamed). */
  readonly limitImportBytes: number;
  readonly limitImportRows: number;
  /** Batch inquiries (CSV or JSON). */
  readonly limitBatchBytes: number;
  readonly limitBatchRows: number;
  /** Request files of the real interface (POST /v1/interface/…). */
  readonly limitInterfaceBytes: number;
  /** NDJSON bodies of the claims and check-up feeds (streamed). */
  readonly limitFeedBytes: number;
  /** IT fund evidence files (the fund takes at most 10 MiB). */
  readonly limitEvidenceBytes: number;
}

const MiB = 1024 * 1024;

export class ConfigError extends Error {
  constructor(messages: string[]) {
    super(`Invalid configuration:\n  - ${messages.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

function bool(env: Record<string, string | undefined>, name: string, fallback: boolean, problems: string[]): boolean {
  const v = env[name];
  if (v === undefined || v === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(v.toLowerCase())) return true;
  if (['0', 'false', 'no', 'off'].includes(v.toLowerCase())) return false;
  problems.push(`${name}=${JSON.stringify(v)}: expected true or false`);
  return fallback;
}

function int(env: Record<string, string | undefined>, name: string, fallback: number, min: number, max: number, problems: string[]): number {
  const v = env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) {
    problems.push(`${name}=${JSON.stringify(v)}: expected a whole number from ${min} to ${max}`);
    return fallback;
  }
  return n;
}

export function loadConfig(env: Record<string, string | undefined> = process.env, overrides: Partial<Config> = {}): Config {
  const problems: string[] = [];
  const port = int(env, 'PORT', 8080, 0, 65535, problems);
  const databaseUrl = env.ONSHI_DATABASE_URL || 'sqlite:./data/onshi.db';
  if (!/^(sqlite:.+|postgres(ql)?:\/\/.+)$/.test(databaseUrl)) {
    problems.push(`ONSHI_DATABASE_URL=${JSON.stringify(databaseUrl.replace(/:[^:@/]*@/, ':***@'))}: expected sqlite:PATH or postgres://user@host:port/db`);
  }
  const adminToken = env.ONSHI_ADMIN_TOKEN || undefined;
  if (adminToken !== undefined && adminToken.length < 16) problems.push('ONSHI_ADMIN_TOKEN: must be at least 16 characters');
  const linkSecret = env.ONSHI_LINK_SECRET || undefined;
  if (linkSecret !== undefined && linkSecret.length < 32) problems.push('ONSHI_LINK_SECRET: must be at least 32 characters');
  const logLevel = (env.ONSHI_LOG_LEVEL || 'info') as Config['logLevel'];
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`ONSHI_LOG_LEVEL=${JSON.stringify(logLevel)}: expected one of ${LOG_LEVELS.join(', ')}`);
  const config: Config = {
    host: env.HOST || '127.0.0.1',
    rateLimitConfirmations: int(env, 'ONSHI_RATE_LIMIT_CONFIRMATIONS', 600, 0, 1_000_000, problems),
    rateLimitSignIn: int(env, 'ONSHI_RATE_LIMIT_SIGN_IN', 60, 0, 1_000_000, problems),
    trustProxy: bool(env, 'ONSHI_TRUST_PROXY', false, problems),
    port,
    databaseUrl,
    adminToken,
    linkSecret,
    logLevel,
    accessLog: bool(env, 'ONSHI_ACCESS_LOG', false, problems),
    demoData: bool(env, 'ONSHI_DEMO_DATA', true, problems),
    benchRoutes: bool(env, 'ONSHI_BENCH_ROUTES', false, problems),
    groupCommitMaxBatch: int(env, 'ONSHI_GROUP_COMMIT_MAX_BATCH', 2000, 1, 100_000, problems),
    consentValidityHours: int(env, 'ONSHI_CONSENT_HOURS', 24, 1, 720, problems),
    limitJsonBytes: int(env, 'ONSHI_LIMIT_JSON_BYTES', 4 * MiB, 1024, 64 * MiB, problems),
    limitBulkJsonBytes: int(env, 'ONSHI_LIMIT_BULK_JSON_BYTES', 64 * MiB, 1024, 256 * MiB, problems),
    limitImportBytes: int(env, 'ONSHI_LIMIT_IMPORT_BYTES', 1024 * MiB, 1024, 16 * 1024 * MiB, problems),
    limitImportRows: int(env, 'ONSHI_LIMIT_IMPORT_ROWS', 2_000_000, 1, 50_000_000, problems),
    limitBatchBytes: int(env, 'ONSHI_LIMIT_BATCH_BYTES', 64 * MiB, 1024, 256 * MiB, problems),
    // The batch service holds at most 200,000 rows (MAX_BATCH_ROWS) whatever the route lets in.
    limitBatchRows: int(env, 'ONSHI_LIMIT_BATCH_ROWS', 200_000, 1, 200_000, problems),
    limitInterfaceBytes: int(env, 'ONSHI_LIMIT_INTERFACE_BYTES', 64 * MiB, 1024, 256 * MiB, problems),
    limitFeedBytes: int(env, 'ONSHI_LIMIT_FEED_BYTES', 1024 * MiB, 1024, 16 * 1024 * MiB, problems),
    limitEvidenceBytes: int(env, 'ONSHI_LIMIT_EVIDENCE_BYTES', 10 * MiB, 1024, 10 * MiB, problems),
    ...overrides,
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config);
}
