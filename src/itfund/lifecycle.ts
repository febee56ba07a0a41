// The IT support fund life cycle as a pure transition table (実施要領 第7–第12, 第14): which action
// moves a case from which state to which, who may take it, and the application periods and
// deadlines. The service applies it; nothing here does I/O.

export const states = [
  'account_opened',
  'readers_applied',
  'readers_provided',
  'work_completed',
  'subsidy_applied',
  'site_visit_requested',
  'corrections_requested',
  'approved',
  'rejected',
  'decided',
  'paid',
  'cancelled',
  'return_ordered',
  'settled',
] as const;
export type State = (typeof states)[number];

/** Who takes an action: the facility itself (or staff entering its paper form), or a reviewer (administrator). */
export type Side = 'facility' | 'reviewer';

export interface Transition {
  from: readonly State[];
  /** The next state; a return payment stays in return_ordered until settled (decided by the service). */
  to: State;
  by: Side;
}

export const transitions = {
  apply_readers: { from: ['account_opened'], to: 'readers_applied', by: 'facility' },
  provide_readers: { from: ['readers_applied'], to: 'readers_provided', by: 'reviewer' },
  complete_work: { from: ['readers_provided'], to: 'work_completed', by: 'facility' },
  apply_subsidy: { from: ['work_completed'], to: 'subsidy_applied', by: 'facility' },
  request_site_visit: { from: ['subsidy_applied'], to: 'site_visit_requested', by: 'reviewer' },
  complete_site_visit: { from: ['site_visit_requested'], to: 'subsidy_applied', by: 'reviewer' },
  request_corrections: { from: ['subsidy_applied', 'site_visit_requested'], to: 'corrections_requested', by: 'reviewer' },
  resubmit: { from: ['corrections_requested'], to: 'subsidy_applied', by: 'facility' },
  approve: { from: ['subsidy_applied'], to: 'approved', by: 'reviewer' },
  reject: { from: ['subsidy_applied', 'site_visit_requested', 'corrections_requested'], to: 'rejected', by: 'reviewer' },
  issue_decision: { from: ['approved'], to: 'decided', by: 'reviewer' },
  record_payment: { from: ['decided'], to: 'paid', by: 'reviewer' },
  cancel: { from: ['paid'], to: 'cancelled', by: 'reviewer' },
  order_return: { from: ['cancelled'], to: 'return_ordered', by: 'reviewer' },
  record_return_payment: { from: ['return_ordered'], to: 'return_ordered', by: 'reviewer' },
} as const satisfies Record<string, Transition>;

export type Action = keyof typeof transitions;
export const actions = Object.keys(transitions) as Action[];

/** The actions allowed in a state, in table order. */
export function allowedActions(state: State): Action[] {
  return actions.filter((a) => (transitions[a].from as readonly State[]).includes(state));
}

export type TransitionCheck = { ok: true; to: State } | { ok: false; state: State; action: string; allowed: Action[] };

export function checkTransition(state: State, action: string): TransitionCheck {
  // Own keys only: an action named toString or __proto__ is no action.
  const t = Object.hasOwn(transitions, action) ? (transitions as Record<string, Transition>)[action] : undefined;
  if (!t || !t.from.includes(state)) return { ok: false, state, action, allowed: allowedActions(state) };
  return { ok: true, to: t.to };
}

/**
 * Evidence files may be uploaded while the facility can still change its application: before it
 * applies (apply_subsidy) and when the reviewer asked for corrections (resubmit). Elsewhere the
 * application is under review or decided, and its evidence is fixed.
 */
export function evidenceOpen(state: State): boolean {
  return allowedActions(state).some((a) => a === 'apply_subsidy' || a === 'resubmit');
}

/** 第14: the periods; the notice lets them be changed, so they are configuration. */
export interface Periods {
  readerApplicationOpens: string;
  subsidyApplicationOpens: string;
  workDeadline: string;
  applicationDeadline: string;
}

export const defaultPeriods: Periods = {
  readerApplicationOpens: '2020-08-01',
  subsidyApplicationOpens: '2020-11-01',
  workDeadline: '2023-03-31',
  applicationDeadline: '2023-06-30',
};

export type PeriodCheck = { ok: true } | { ok: false; rule: 'not_open' | 'deadline_passed'; date: string; limit: string; what: string };

/** Whether an action dated `on` (the day it is taken, or the paper form's receipt) is within its period. */
export function checkPeriod(action: Action, on: string, periods: Periods, workCompletedOn?: string): PeriodCheck {
  switch (action) {
    case 'apply_readers':
      if (on < periods.readerApplicationOpens) return { ok: false, rule: 'not_open', date: on, limit: periods.readerApplicationOpens, what: 'reader application' };
      // The readers serve work that must be complete by the work deadline.
      if (on > periods.workDeadline) return { ok: false, rule: 'deadline_passed', date: on, limit: periods.workDeadline, what: 'reader application' };
      return { ok: true };
    case 'complete_work':
      if (on > periods.workDeadline) return { ok: false, rule: 'deadline_passed', date: on, limit: periods.workDeadline, what: 'work completion' };
      return { ok: true };
    case 'apply_subsidy':
    case 'resubmit':
      if (on < periods.subsidyApplicationOpens) return { ok: false, rule: 'not_open', date: on, limit: periods.subsidyApplicationOpens, what: 'subsidy application' };
      if (workCompletedOn && workCompletedOn > periods.workDeadline) return { ok: false, rule: 'deadline_passed', date: workCompletedOn, limit: periods.workDeadline, what: 'work completion' };
      // A correction answers the reviewer: it is not a new application, so the application deadline does not apply.
      if (action === 'apply_subsidy' && on > periods.applicationDeadline) return { ok: false, rule: 'deadline_passed', date: on, limit: periods.applicationDeadline, what: 'subsidy application' };
      return { ok: true };
    default:
      return { ok: true };
  }
}
