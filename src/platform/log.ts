// Structured logs (pino). Personal data never reaches a log line: these paths are censored wherever
// they appear in a logged object, and request bodies are never logged.

import { pino, type LoggerOptions } from 'pino';

export const redactedPaths = [
  'req.headers.authorization',
  'headers.authorization',
  'token',
  '*.token',
  'myNumber',
  '*.myNumber',
  'name',
  '*.name',
  'nameKana',
  '*.nameKana',
  'birthDate',
  '*.birthDate',
  'address',
  '*.address',
  'postalCode',
  '*.postalCode',
  'member',
  '*.member',
  'body',
  '*.body',
  // Card secrets: the PIN and the card's private key never leave the card except in tests' fixtures.
  'pin',
  '*.pin',
  'privateKey',
  '*.privateKey',
  'signature',
  '*.signature',
];

export function loggerOptions(level: string): LoggerOptions {
  return { level, redact: { paths: redactedPaths, censor: '[redacted]' } };
}

export function createLogger(level: string) {
  return pino(loggerOptions(level));
}
