// The per-row error report of an all-or-nothing import: every rejected row is counted, the first
// `maxReported` are listed with their errors, and if any row was rejected the import refuses as a
// whole (ONSHI_IMPORT_REJECTED) so the caller's transaction rolls back.

import { OnshiError, type FieldError } from './errors.ts';

export interface RejectedRow {
  line: number;
  errors: FieldError[];
}

export class RowRejections {
  readonly listed: RejectedRow[] = [];
  count = 0;

  constructor(private readonly maxReported = 1000) {}

  reject(line: number, errors: FieldError[]): void {
    this.count++;
    if (this.listed.length < this.maxReported) this.listed.push({ line, errors });
  }

  get any(): boolean {
    return this.count > 0;
  }

  /** Refuses the whole import when any row was rejected; `rows` is how many rows were read. */
  throwIfAny(rows: number): void {
    if (this.count > 0) {
      throw new OnshiError('ONSHI_IMPORT_REJECTED', { rows, rejectedRows: this.count, errors: this.listed, errorsTruncated: this.count > this.listed.length });
    }
  }
}
