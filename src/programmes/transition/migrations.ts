// Migrations of the paper-card transition, eligibility certificates (資格確認書) and notices (0006_*).

import type { Kysely, Migration } from 'kysely';
import type { Types } from '../../migrations/types.ts';

export function transitionMigrations(t: Types): Record<string, Migration> {
  return {
    '0006_transition': {
      async up(db: Kysely<any>) {
        // 資格確認書: one row per certificate issued; never deleted (revoked_on ends one early).
        await db.schema
          .createTable('eligibility_certificates')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('number', 'text', (c) => c.notNull().unique())
          .addColumn('membership_id', 'text', (c) => c.notNull().references('memberships.id'))
          .addColumn('insurer_number', 'text', (c) => c.notNull())
          .addColumn('issued_on', t.date, (c) => c.notNull())
          .addColumn('valid_until', t.date, (c) => c.notNull())
          .addColumn('revoked_on', t.date)
          .addColumn('origin', 'text', (c) => c.notNull())
          .addColumn('request_reason', 'text')
          // The issue-due job's idempotency key (membership + the day the paper card stops); null on request.
          .addColumn('automatic_key', 'text', (c) => c.unique())
          .addColumn('job_id', 'text')
          .addColumn('issued_at', t.instant, (c) => c.notNull())
          .addColumn('issued_by', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('eligibility_certificates_membership').on('eligibility_certificates').column('membership_id').execute();
        await db.schema.createIndex('eligibility_certificates_insurer_issued').on('eligibility_certificates').columns(['insurer_number', 'issued_on']).execute();

        await db.schema
          .createTable('certificate_serials')
          .addColumn('insurer_number', 'text', (c) => c.primaryKey())
          .addColumn('last_serial', 'integer', (c) => c.notNull())
          .execute();

        // Restartable jobs: the cursor moves in the same transaction as the rows a chunk writes.
        await db.schema
          .createTable('transition_jobs')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('job_key', 'text', (c) => c.notNull().unique())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('params', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('cursor', 'text')
          .addColumn('examined', 'integer', (c) => c.notNull())
          .addColumn('written', 'integer', (c) => c.notNull())
          .addColumn('started_at', t.instant, (c) => c.notNull())
          .addColumn('finished_at', t.instant)
          .execute();
      },
    },
    // Notices to all members (資格情報のお知らせ): employer data, rounds, pieces, boxes, resends.
    '0006b_notices': {
      async up(db: Kysely<any>) {
        // Employer data (事業所) and the voluntary-continuation flag (任意継続), one row per membership.
        await db.schema
          .createTable('member_employers')
          .addColumn('membership_id', 'text', (c) => c.primaryKey().references('memberships.id'))
          .addColumn('office_symbol', 'text', (c) => c.notNull())
          .addColumn('office_name', 'text', (c) => c.notNull())
          .addColumn('office_address', 'text', (c) => c.notNull())
          .addColumn('office_postal_code', 'text')
          .addColumn('voluntary_continuation', 'integer', (c) => c.notNull())
          .addColumn('previous_office_symbol', 'text')
          // Day the symbol changed because the employer moved outside its office's area (round 2).
          .addColumn('symbol_changed_on', t.date)
          .addColumn('updated_at', t.instant, (c) => c.notNull())
          .addColumn('updated_by', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('notice_rounds')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('insurer_number', 'text', (c) => c.notNull().references('insurers.insurer_number'))
          .addColumn('round', 'integer', (c) => c.notNull())
          .addColumn('extracted_on', t.date, (c) => c.notNull())
          .addColumn('window_from', t.date)
          .addColumn('window_to', t.date)
          .addColumn('piece_weight_mg', 'integer', (c) => c.notNull())
          .addColumn('box_tare_mg', 'integer', (c) => c.notNull())
          .addColumn('job_id', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('created_at', t.instant, (c) => c.notNull())
          .addColumn('created_by', 'text', (c) => c.notNull())
          .addColumn('finished_at', t.instant)
          .addUniqueConstraint('notice_rounds_insurer_round', ['insurer_number', 'round'])
          .execute();
        await db.schema
          .createTable('notice_boxes')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('round_id', 'text', (c) => c.notNull().references('notice_rounds.id'))
          .addColumn('office_symbol', 'text', (c) => c.notNull())
          .addColumn('office_name', 'text', (c) => c.notNull())
          .addColumn('office_address', 'text', (c) => c.notNull())
          .addColumn('office_postal_code', 'text')
          .addColumn('prefecture', 'text', (c) => c.notNull())
          .addColumn('seq', 'integer', (c) => c.notNull())
          .addColumn('of_boxes', 'integer', (c) => c.notNull())
          .addColumn('pieces', 'integer', (c) => c.notNull())
          .addColumn('weight_mg', 'integer', (c) => c.notNull())
          .addColumn('tracking_number', 'text', (c) => c.notNull().unique())
          .addUniqueConstraint('notice_boxes_round_office_seq', ['round_id', 'office_symbol', 'seq'])
          .execute();
        await db.schema
          .createTable('notice_pieces')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('round_id', 'text', (c) => c.notNull().references('notice_rounds.id'))
          .addColumn('membership_id', 'text', (c) => c.notNull().references('memberships.id'))
          .addColumn('tracking_number', 'text', (c) => c.notNull().unique())
          .addColumn('route', 'text', (c) => c.notNull())
          .addColumn('reason', 'text', (c) => c.notNull())
          .addColumn('office_symbol', 'text')
          .addColumn('box_id', 'text')
          .addColumn('prefecture', 'text', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('postal_code', 'text')
          .addColumn('address', 'text', (c) => c.notNull())
          .addColumn('weight_mg', 'integer', (c) => c.notNull())
          .addColumn('returned_at', t.instant)
          // One piece per member and round: a resumed or repeated run can never write a second.
          .addUniqueConstraint('notice_pieces_round_member', ['round_id', 'membership_id'])
          .execute();
        // Boxing walks offices; a short key keeps the million inserts of a round cheap.
        await db.schema.createIndex('notice_pieces_round_office').on('notice_pieces').columns(['round_id', 'office_symbol']).execute();
        // A returned piece is re-sent once, to the member's own address.
        await db.schema
          .createTable('notice_resends')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('piece_id', 'text', (c) => c.notNull().unique().references('notice_pieces.id'))
          .addColumn('tracking_number', 'text', (c) => c.notNull().unique())
          .addColumn('prefecture', 'text', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('postal_code', 'text')
          .addColumn('address', 'text', (c) => c.notNull())
          .addColumn('created_at', t.instant, (c) => c.notNull())
          .addColumn('created_by', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('tracking_serials')
          .addColumn('name', 'text', (c) => c.primaryKey())
          .addColumn('last_serial', 'bigint', (c) => c.notNull())
          .execute();
      },
    },
    // Boxes as ranges: a piece gets its rank within its office (office_seq, counted while the pieces
    // are written) and a box the first and last rank it holds, so boxing no longer rewrites a column
    // on every piece. Per-office tallies, kept with each chunk of pieces, feed the boxes phase.
    '0006c_notices_boxes': {
      async up(db: Kysely<any>) {
        await db.schema.alterTable('notice_pieces').addColumn('office_seq', 'integer').execute();
        await db.schema.alterTable('notice_boxes').addColumn('first_seq', 'integer').execute();
        await db.schema.alterTable('notice_boxes').addColumn('last_seq', 'integer').execute();
        await db.schema
          .createTable('notice_office_tallies')
          .addColumn('round_id', 'text', (c) => c.notNull().references('notice_rounds.id'))
          .addColumn('office_symbol', 'text', (c) => c.notNull())
          .addColumn('pieces', 'integer', (c) => c.notNull())
          .addColumn('office_name', 'text', (c) => c.notNull())
          .addColumn('office_address', 'text', (c) => c.notNull())
          .addColumn('office_postal_code', 'text')
          .addColumn('prefecture', 'text', (c) => c.notNull())
          .addColumn('updated_at', t.instant, (c) => c.notNull())
          .addPrimaryKeyConstraint('notice_office_tallies_pk', ['round_id', 'office_symbol'])
          .execute();
        // Boxing walks the tallies now; the pieces' office index only slowed the million inserts.
        await db.schema.dropIndex('notice_pieces_round_office').execute();
      },
    },
  };
}
