// onshi reader …: the simulated card and face-recognition reader against a running onshi (HTTP).
// For vendors without a real card or reader; see README "Card reader simulator (for vendors)".

import type { Command } from 'commander';
import { fetchTransport, ReaderError, SimulatedCard, SimulatedPatient, SimulatedReader, type ConfirmOptions } from '../reader/simulator.ts';

interface Common {
  url: string;
  token?: string;
}

function tokenOf(opts: Common, what: string): string {
  const token = opts.token ?? process.env.ONSHI_TOKEN;
  if (!token) throw new Error(`${what}: give --token or set ONSHI_TOKEN`);
  return token;
}

/** Prints a refusal as its code and body and exits 1; anything else goes up. */
async function run(fn: () => Promise<unknown>): Promise<void> {
  try {
    const out = await fn();
    if (out !== undefined) console.log(JSON.stringify(out, null, 2));
  } catch (e) {
    if (!(e instanceof ReaderError)) throw e;
    console.error(`${e.code} (HTTP ${e.status}): ${e.body?.message ?? ''}`);
    console.error(JSON.stringify(e.body, null, 2));
    process.exitCode = 1;
  }
}

function parseConsent(list: string | undefined): ConfirmOptions['consent'] {
  const items = (list ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const known = new Set(['medication', 'checkups', 'limit']);
  for (const i of items) if (!known.has(i)) throw new Error(`--consent: unknown item ${JSON.stringify(i)} (medication, checkups, limit)`);
  return { medication: items.includes('medication'), checkups: items.includes('checkups'), limitInfo: items.includes('limit') };
}

export function registerReaderCommand(program: Command): void {
  const reader = program.command('reader').description('simulated My Number card and face-recognition reader (against a running onshi)');
  const withCommon = (c: Command) => c.option('--url <url>', 'onshi server', process.env.ONSHI_URL ?? 'http://localhost:8080').option('--token <token>', 'bearer token (default: ONSHI_TOKEN)');

  withCommon(reader.command('issue-card'))
    .description('issue a card (administrator token) and write the card object (private key, PIN) to a file')
    .requiredOption('--my-number <n>', 'the 12-digit My Number of a person an insurer registered with it')
    .requiredOption('--name <name>', 'name on the card')
    .requiredOption('--birth-date <date>', 'YYYY-MM-DD')
    .requiredOption('--pin <pin>', '4 digits')
    .option('--valid-years <n>', 'certificate validity in years', (v) => Number(v))
    .requiredOption('--out <file>', 'where to write the card (keep it private: it holds the key)')
    .action(async (opts: Common & { myNumber: string; name: string; birthDate: string; pin: string; validYears?: number; out: string }) => {
      await run(async () => {
        const card = await SimulatedCard.issue(fetchTransport(opts.url), tokenOf(opts, 'issue-card'), {
          myNumber: opts.myNumber,
          name: opts.name,
          birthDate: opts.birthDate,
          pin: opts.pin,
          ...(opts.validYears ? { validYears: opts.validYears } : {}),
        });
        card.save(opts.out);
        console.error(`card ${card.serial} written to ${opts.out} (valid until ${card.data.notAfter})`);
        return undefined;
      });
    });

  withCommon(reader.command('confirm'))
    .description('place the card on the reader of a facility (facility token): challenge → sign → confirm')
    .requiredOption('--card <file>', 'card file from issue-card')
    .option('--pin <pin>', 'verify by PIN')
    .option('--face', 'verify by face recognition (the holder stands in front of the camera)')
    .option('--face-of <who>', 'verify by face, someone else in front of the camera (a mismatch)')
    .option('--visual', 'generic reader: staff check by sight (consent becomes written, attested by the staff)')
    .option('--consent <items>', 'consent screens answered yes: medication,checkups,limit')
    .option('--register', 'do 保険証利用登録 at the reader if the card is not registered')
    .action(async (opts: Common & { card: string; pin?: string; face?: boolean; faceOf?: string; visual?: boolean; consent?: string; register?: boolean }) => {
      const chosen = [opts.pin !== undefined, opts.face || opts.faceOf !== undefined, opts.visual].filter(Boolean).length;
      if (chosen !== 1) throw new Error('choose one verification: --pin N, --face (or --face-of WHO), or --visual');
      const verification: ConfirmOptions['verification'] = opts.pin !== undefined ? 'pin' : opts.visual ? 'visual' : 'face';
      const card = SimulatedCard.load(opts.card);
      await run(() =>
        new SimulatedReader(fetchTransport(opts.url), tokenOf(opts, 'confirm')).confirm(card, {
          verification,
          pin: opts.pin,
          face: opts.faceOf,
          consent: parseConsent(opts.consent),
          registerNow: opts.register,
        }),
      );
    });

  withCommon(reader.command('sign-in'))
    .description('patient sign-in with the card and PIN; prints the session token; --register / --me use it at once')
    .requiredOption('--card <file>', 'card file from issue-card')
    .requiredOption('--pin <pin>', 'the PIN')
    .option('--register', 'then register the card for insurance use (保険証利用登録)')
    .option('--me', 'then show the own eligibility (GET /v1/me)')
    .action(async (opts: Common & { card: string; pin: string; register?: boolean; me?: boolean }) => {
      const card = SimulatedCard.load(opts.card);
      const patient = new SimulatedPatient(fetchTransport(opts.url));
      await run(async () => {
        const session = await patient.signIn(card, opts.pin);
        const out: Record<string, unknown> = { ...session };
        if (opts.register) out.registered = await patient.register(session.token, card.serial);
        if (opts.me) out.me = await patient.me(session.token);
        return out;
      });
    });
}
