// The composition root's first half: open the store, migrate, and wire the services. HTTP, the CLI
// and jobs all run on one context, so every entry point calls the same services.

import type { Config } from '../platform/config.ts';
import { openDatabase, type DatabaseHandle } from '../platform/db.ts';
import { migrateToLatest } from '../migrations/index.ts';
import { RegistryService } from '../registry/service.ts';
import { CredentialService } from '../credentials/service.ts';
import { ConfirmationService } from '../confirmation/service.ts';
import { UsageRecorder } from '../confirmation/usage-recorder.ts';
import { AuditService } from '../audit/service.ts';
import { PersonHistoryIndexer } from '../audit/person-history.ts';
import { ConsentService } from '../consent/service.ts';
import { CardService } from '../cards/service.ts';
import { ChallengeLedger } from '../cards/challenges.ts';
import { DisasterService } from '../disaster/service.ts';
import { ClinicalService } from '../clinical/service.ts';
import { StatisticsService } from '../statistics/service.ts';
import { ProgrammeService } from '../programmes/incentive/service.ts';
import { TargetService } from '../programmes/targets/service.ts';
import { BatchService, type BatchOptions } from '../batch/service.ts';
import { ItFundService } from '../itfund/service.ts';
import { TransitionService } from '../programmes/transition/service.ts';
import { certificateFactsOf } from '../programmes/transition/repository.ts';
import { NoticeService } from '../programmes/notices/service.ts';

export interface AppContext {
  config: Config;
  database: DatabaseHandle;
  recorder: UsageRecorder;
  /** Used card challenges (replay protection), group-committed like the usage events. */
  challenges: ChallengeLedger;
  registry: RegistryService;
  credentials: CredentialService;
  confirmation: ConfirmationService;
  audit: AuditService;
  /** Keeps the access history's person index up with the events (SQLite; see audit/person-history.ts). */
  personHistory: PersonHistoryIndexer;
  consent: ConsentService;
  cards: CardService;
  disasters: DisasterService;
  clinical: ClinicalService;
  statistics: StatisticsService;
  programmes: ProgrammeService;
  targets: TargetService;
  /** Batch inquiries (一括照会): persistent jobs, run by this context's runner. */
  batch: BatchService;
  /** The medical IT support fund (医療情報化支援基金): cases, review, decisions, returns. */
  itfund: ItFundService;
  /** Paper-card transition: eligibility certificates (資格確認書). */
  transition: TransitionService;
  /** Notices to all members (資格情報のお知らせ): employer data, rounds, boxes, returns. */
  notices: NoticeService;
  close(): Promise<void>;
}

export async function createContext(
  config: Config,
  options: { clock?: () => Date; batch?: BatchOptions & { run?: boolean }; backgroundCheckpoints?: boolean; personHistoryIndexer?: boolean; importWorker?: boolean } = {},
): Promise<AppContext> {
  const database = openDatabase(config.databaseUrl, { backgroundCheckpoints: options.backgroundCheckpoints });
  try {
    await migrateToLatest(database.db, database.dialect);
    const linkSecret = await RegistryService.resolveLinkSecret(database.db, config.linkSecret);
    const registry = new RegistryService(database.db, linkSecret, options.clock);
    // A server on a SQLite file imports large member files in a worker thread (their commit would pause it).
    if (options.importWorker && database.events !== database.db) registry.runImportsInWorker(config.databaseUrl);
    const credentials = new CredentialService(database.db, options.clock);
    await credentials.ensureBootstrapAdmin(config.adminToken);
    const recorder = new UsageRecorder(database.events, config.groupCommitMaxBatch);
    const confirmation = new ConfirmationService(database.db, recorder, registry, options.clock, certificateFactsOf);
    const audit = new AuditService(database.db, options.clock, database.events);
    const personHistory = new PersonHistoryIndexer(database.db);
    if (options.personHistoryIndexer !== false && database.dialect === 'sqlite') personHistory.start();
    const consent = new ConsentService(database.db, config.consentValidityHours, options.clock, database.events);
    const challenges = new ChallengeLedger(database.events, options.clock, config.groupCommitMaxBatch);
    const cards = new CardService(database.db, registry, recorder, challenges, consent, audit, options.clock);
    const disasters = new DisasterService(database.db, options.clock);
    const clinical = new ClinicalService(database.db, registry, consent, audit, disasters, options.clock);
    const statistics = new StatisticsService(database.db, database.dialect, options.clock);
    const programmes = new ProgrammeService(database.db, database.dialect, statistics);
    const targets = new TargetService(database.db, statistics);
    const batch = new BatchService(database.db, confirmation, options.clock, options.batch);
    const itfund = new ItFundService(database.db, options.clock);
    const transition = new TransitionService(database.db, registry, options.clock);
    const notices = new NoticeService(database.db, registry, options.clock);
    // The job runner resumes unfinished batch inquiries at start (run: false leaves them queued).
    if (options.batch?.run !== false) batch.start();
    return {
      config,
      database,
      recorder,
      challenges,
      registry,
      credentials,
      confirmation,
      audit,
      personHistory,
      consent,
      cards,
      disasters,
      clinical,
      statistics,
      programmes,
      targets,
      batch,
      itfund,
      transition,
      notices,
      async close() {
        await batch.stop();
        await registry.stopImportWorker();
        await challenges.flush();
        await recorder.flush();
        personHistory.stop();
        await database.close();
      },
    };
  } catch (e) {
    await database.close();
    throw e;
  }
}
