// The public calculators: the programme rules as endpoints that need no credential and touch no
// personal data, so a facility (or its vendor) can ask "what if".

import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { OnshiError, type FieldError } from '../../platform/errors.ts';
import { ErrorSchema } from '../../platform/http-schemas.ts';
import { bodyObject } from '../../platform/http-schemas.ts';
import { computeIncentive, validateIncentiveInput } from './rules.ts';
import { computeReaderSubsidy, validateReaderSubsidyInput } from '../reader-subsidy/rules.ts';
import { computeReceptionFee, validateReceptionFeeInput } from '../reception-fee/rules.ts';
import { IncentiveBody, IncentiveResultSchema, ReaderSubsidyBody, ReaderSubsidyResultSchema, ReceptionFeeBody, ReceptionFeeResultSchema } from './schemas.ts';

function valid<T>(v: { input: T } | { errors: FieldError[] }): T {
  if ('errors' in v) throw new OnshiError('ONSHI_REQUEST_INVALID', { errors: v.errors });
  return v.input;
}

export const calculatorRoutes: FastifyPluginAsync = async (plugin) => {
  const app = plugin.withTypeProvider<TypeBoxTypeProvider>();
  const common = { tags: ['calculators'], security: [] };

  app.post('/v1/calculators/incentive', {
    schema: { ...common, summary: 'Incentive payment (一時金) for given figures', body: IncentiveBody, response: { 200: IncentiveResultSchema, 400: ErrorSchema } },
    attachValidation: true,
    handler: async (request) => computeIncentive(valid(validateIncentiveInput(bodyObject(request.body)))),
  });

  app.post('/v1/calculators/reader-subsidy', {
    schema: { ...common, summary: 'Card-reader expansion subsidy for given monthly uses', body: ReaderSubsidyBody, response: { 200: ReaderSubsidyResultSchema, 400: ErrorSchema } },
    attachValidation: true,
    handler: async (request) => computeReaderSubsidy(valid(validateReaderSubsidyInput(bodyObject(request.body)))),
  });

  app.post('/v1/calculators/reception-fee', {
    schema: { ...common, summary: 'Reception fee and patient share for a visit, with and without the card', body: ReceptionFeeBody, response: { 200: ReceptionFeeResultSchema, 400: ErrorSchema } },
    attachValidation: true,
    handler: async (request) => computeReceptionFee(valid(validateReceptionFeeInput(bodyObject(request.body)))),
  });
};
