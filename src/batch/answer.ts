// Answers encoded batch rows: the same decision wherever it runs (the runner's thread or a lookup worker).

import type { ConfirmationService } from '../confirmation/service.ts';
import { decodeInput, encodeAnswer } from './codec.ts';

export interface Answered {
  answers: string[];
  counts: { valid: number; invalid: number; error: number };
}

/** Each encoded input row's encoded answer; `asOf` is the job's default date. */
export async function answerRows(confirmation: ConfirmationService, rows: readonly string[], now: Date, asOf: string, concurrency = 1): Promise<Answered> {
  const answers: string[] = new Array(rows.length);
  const counts = { valid: 0, invalid: 0, error: 0 };
  let next = 0;
  const one = async () => {
    while (next < rows.length) {
      const i = next++;
      const input = decodeInput(rows[i], false);
      const raw = { insurerNumber: input.insurerNumber, symbol: input.symbol, number: input.number, branch: input.branch, birthDate: input.birthDate, asOf: input.asOf || asOf };
      const { answer } = await confirmation.evaluateCardNumbers(raw, now, { withLimitCategory: input.limitConsent === true, withoutConfirmationId: true });
      // Nothing is recorded for a batch row, so its answer is stored without the id.
      (answer as { confirmationId?: string }).confirmationId = undefined;
      counts[answer.result]++;
      answers[i] = encodeAnswer(answer);
    }
  };
  if (concurrency <= 1) await one();
  else await Promise.all(Array.from({ length: Math.min(concurrency, rows.length) }, one));
  return { answers, counts };
}
