/**
 * The devnet's `pricing` and `settings` aggregates. Aleph's clients read prices, tiers and the
 * network settings (CRN version, community wallet) from these two aggregates of one address
 * (`ALEPH_AGGREGATE_ADDRESS` in the Python SDK, settable as `ALEPH_ALEPH_AGGREGATE_ADDRESS`):
 * `aleph program upload` and `aleph instance create` stop without them. A devnet has no such
 * address, so its oracle key publishes pyaleph's defaults, and every CCN of the devnet reads its
 * prices from the same address (`pricingOwner`), so clients and nodes price alike.
 * The settings aggregate also names `last_crn_version` (the network's carries the latest aleph-vm
 * release; pyaleph's defaults have none and the Python SDK refuses settings without it): here the
 * version the devnet's CRNs report, so that `aleph instance create` counts them up to date.
 */
import { CrnConfigSchema } from '@aleph-nodes/crn';
import { buildInlineMessage, DEFAULT_PRICE_AGGREGATE, DEFAULT_SETTINGS_AGGREGATE, PRICING_AGGREGATE_KEY, SETTINGS_AGGREGATE_KEY, type EthAccount } from '@aleph-nodes/protocol';
import type { Logger } from '@aleph-nodes/service';
import { publishMessage } from '../common/ccn-client.ts';

/** The channel pyaleph's own aggregates are posted on. */
const CHANNEL = 'ALEPH-CLOUDSOLUTIONS';

export async function publishPricingAggregates(ccnUrl: string, owner: EthAccount, logger: Logger): Promise<void> {
  const nowS = Date.now() / 1000;
  const aggregates: Array<[string, Record<string, unknown>]> = [
    [PRICING_AGGREGATE_KEY, DEFAULT_PRICE_AGGREGATE as Record<string, unknown>],
    [SETTINGS_AGGREGATE_KEY, { ...DEFAULT_SETTINGS_AGGREGATE, last_crn_version: CrnConfigSchema.shape.serverVersion.parse(undefined) }],
  ];
  for (const [i, [key, content]] of aggregates.entries()) {
    await publishMessage(ccnUrl, buildInlineMessage(owner, 'AGGREGATE', { key, content }, { channel: CHANNEL, time: nowS + i / 1000 }));
  }
  logger.info({ address: owner.address }, 'pricing and settings aggregates published (ALEPH_ALEPH_AGGREGATE_ADDRESS of the Python clients)');
}
