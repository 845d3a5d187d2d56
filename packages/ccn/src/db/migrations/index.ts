/**
 * The ordered migrations of the node database. Each lives in its own file; a new one is added
 * here under the next number. Names are recorded by Kysely's migrator: never rename one.
 */
import type { Migration } from 'kysely';
import { migration as initial } from './0001-initial.ts';
import { migration as scheduler } from './0002-scheduler.ts';
import { migration as orderIndependence } from './0020-order-independence.ts';
import { migration as sync } from './0010-sync.ts';
import { migration as payments } from './0030-payments.ts';
import { migration as balanceHeight } from './0040-balance-height.ts';

export const MIGRATIONS: Record<string, Migration> = {
  '0001_initial': initial,
  '0002_scheduler': scheduler,
  '0020_order_independence': orderIndependence,
  '0010_sync': sync,
  '0030_payments': payments,
  '0040_balance_height': balanceHeight,
};
