import { describe, expect, it } from 'vitest';
import { actions, allowedActions, checkPeriod, checkTransition, defaultPeriods, states, type State } from './lifecycle.ts';

// Written out by hand from the process of 実施要領 第7–第12 (not derived from the table under test).
const expected: Record<State, string[]> = {
  account_opened: ['apply_readers'],
  readers_applied: ['provide_readers'],
  readers_provided: ['complete_work'],
  work_completed: ['apply_subsidy'],
  subsidy_applied: ['request_site_visit', 'request_corrections', 'approve', 'reject'],
  site_visit_requested: ['complete_site_visit', 'request_corrections', 'reject'],
  corrections_requested: ['resubmit', 'reject'],
  approved: ['issue_decision'],
  rejected: [],
  decided: ['record_payment'],
  paid: ['cancel'],
  cancelled: ['order_return'],
  return_ordered: ['record_return_payment'],
  settled: [],
};

describe('transition table', () => {
  it('allows exactly the expected actions in each state', () => {
    for (const s of states) expect(allowedActions(s), s).toEqual(expected[s]);
  });

  const refused = states.flatMap((s) => actions.filter((a) => !expected[s].includes(a)).map((a) => [s, a] as const));
  it.each(refused)('refuses %s → %s, naming the state and the allowed actions', (state, action) => {
    expect(checkTransition(state, action)).toEqual({ ok: false, state, action, allowed: expected[state] });
  });

  it('refuses an unknown action', () => {
    expect(checkTransition('paid', 'steal')).toEqual({ ok: false, state: 'paid', action: 'steal', allowed: ['cancel'] });
  });

  it.each([
    ['account_opened', 'apply_readers', 'readers_applied'],
    ['readers_applied', 'provide_readers', 'readers_provided'],
    ['readers_provided', 'complete_work', 'work_completed'],
    ['work_completed', 'apply_subsidy', 'subsidy_applied'],
    ['subsidy_applied', 'request_site_visit', 'site_visit_requested'],
    ['site_visit_requested', 'complete_site_visit', 'subsidy_applied'],
    ['site_visit_requested', 'request_corrections', 'corrections_requested'],
    ['corrections_requested', 'resubmit', 'subsidy_applied'],
    ['corrections_requested', 'reject', 'rejected'],
    ['subsidy_applied', 'approve', 'approved'],
    ['approved', 'issue_decision', 'decided'],
    ['decided', 'record_payment', 'paid'],
    ['paid', 'cancel', 'cancelled'],
    ['cancelled', 'order_return', 'return_ordered'],
    ['return_ordered', 'record_return_payment', 'return_ordered'],
  ] as const)('%s --%s--> %s', (from, action, to) => {
    expect(checkTransition(from, action)).toEqual({ ok: true, to });
  });
});

describe('periods and deadlines (第14)', () => {
  const p = defaultPeriods;
  it('reader applications open 2020-08-01', () => {
    expect(checkPeriod('apply_readers', '2020-07-31', p)).toEqual({ ok: false, rule: 'not_open', date: '2020-07-31', limit: '2020-08-01', what: 'reader application' });
    expect(checkPeriod('apply_readers', '2020-08-01', p)).toEqual({ ok: true });
    expect(checkPeriod('apply_readers', '2023-04-01', p)).toMatchObject({ ok: false, rule: 'deadline_passed', limit: '2023-03-31' });
  });
  it('work must be complete by 2023-03-31', () => {
    expect(checkPeriod('complete_work', '2023-03-31', p)).toEqual({ ok: true });
    expect(checkPeriod('complete_work', '2023-04-01', p)).toMatchObject({ ok: false, rule: 'deadline_passed', limit: '2023-03-31' });
  });
  it('subsidy applications from 2020-11-01 to 2023-06-30, for work completed by 2023-03-31', () => {
    expect(checkPeriod('apply_subsidy', '2020-10-31', p, '2020-10-01')).toMatchObject({ ok: false, rule: 'not_open', limit: '2020-11-01' });
    expect(checkPeriod('apply_subsidy', '2020-11-01', p, '2020-10-01')).toEqual({ ok: true });
    expect(checkPeriod('apply_subsidy', '2023-06-30', p, '2023-03-31')).toEqual({ ok: true });
    expect(checkPeriod('apply_subsidy', '2023-07-01', p, '2023-03-31')).toMatchObject({ ok: false, rule: 'deadline_passed', limit: '2023-06-30', what: 'subsidy application' });
    expect(checkPeriod('apply_subsidy', '2023-05-01', p, '2023-04-01')).toMatchObject({ ok: false, rule: 'deadline_passed', limit: '2023-03-31', what: 'work completion' });
    // A correction after the application deadline answers the reviewer and is accepted.
    expect(checkPeriod('resubmit', '2023-08-01', p, '2023-03-01')).toEqual({ ok: true });
  });
  it('the periods are configuration', () => {
    const extended = { ...p, workDeadline: '2024-03-31', applicationDeadline: '2024-06-30' };
    expect(checkPeriod('complete_work', '2023-04-01', extended)).toEqual({ ok: true });
    expect(checkPeriod('apply_subsidy', '2024-06-30', extended, '2024-03-31')).toEqual({ ok: true });
  });
  it('reviewer actions have no period', () => {
    expect(checkPeriod('approve', '2030-01-01', p)).toEqual({ ok: true });
  });
});
