// The IT support fund calculators: the subsidy, the large-chain determination and the return amount
// with its late fee, for anyone (no credential, no personal data).

import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { OnshiError, type FieldError } from '../platform/errors.ts';
import { ErrorSchema } from '../platform/http-schemas.ts';
import { bodyObject } from '../platform/http-schemas.ts';
import { computeReturn, computeSubsidy, determineLargeChain, validateLargeChainInput, validateReturnInput, validateSubsidyInput } from './rules.ts';
import { LargeChainBody, LargeChainResultSchema, ReturnBody, ReturnResultSchema, SubsidyBody, SubsidyResultSchema } from './schemas.ts';

function valid<T>(v: { input: T } | { errors: FieldError[] }): T {
  if ('errors' in v) throw new OnshiError('ONSHI_REQUEST_INVALID', { errors: v.errors });
  return v.input;
}

export const itFundCalculatorRoutes: FastifyPluginAsync = async (plugin) => {
  const app = plugin.withTypeProvider<TypeBoxTypeProvider>();
  const common = { tags: ['calculators'], security: [] };

  app.post('/v1/calculators/it-fund-subsidy', {
    schema: { ...common, summary: 'IT support fund subsidy (医療情報化支援基金) for given cost items', body: SubsidyBody, response: { 200: SubsidyResultSchema, 400: ErrorSchema } },
    attachValidation: true,
    handler: async (request) => computeSubsidy(valid(validateSubsidyInput(bodyObject(request.body)))),
  });

  app.post('/v1/calculators/large-chain', {
    schema: { ...common, summary: 'Large chain pharmacy determination (大型チェーン薬局) from monthly prescription counts', body: LargeChainBody, response: { 200: LargeChainResultSchema, 400: ErrorSchema } },
    attachValidation: true,
    handler: async (request) => {
      const { asOf, pharmacies } = valid(validateLargeChainInput(bodyObject(request.body)));
      return determineLargeChain(asOf, pharmacies);
    },
  });

  app.post('/v1/calculators/return', {
    schema: { ...common, summary: 'Return amount after cancellation and its late fee (返還額・延滞金)', body: ReturnBody, response: { 200: ReturnResultSchema, 400: ErrorSchema } },
    attachValidation: true,
    handler: async (request) => computeReturn(valid(validateReturnInput(bodyObject(request.body)))),
  });
};
