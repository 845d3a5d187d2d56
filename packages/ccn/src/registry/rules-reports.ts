/**
 * The reports the registry replays besides node operations: balance oracles' `balances-update`
 * posts (stakes and CCN activation follow balances) and score posts. Pure functions of the events
 * in the replay order, like rules.ts.
 */
import type { CcnEntry, CrnEntry, RegistryEvent, RegistrySettings } from './types.ts';
import { lc, str, tagged, type Details } from './rules-util.ts';

/** Below this score a node is inactive (`inactive_since` set). */
export const INACTIVE_SCORE = 0.01;

/**
 * Token balances as the balance oracles report them. A report whose `main_height` is below the one
 * in effect for a (chain, dapp) is stale and changes nothing; between equal heights the later in
 * the replay wins (the same rule as the balances table, db/balances-repo.ts).
 */
export class ReportedBalances {
  /** address (lowercase) → `chain/dapp` → the report in effect (greatest height, then replay order). */
  readonly #byAddress = new Map<string, Map<string, { amount: number; height: number }>>();

  balanceOf(address: string): number {
    let total = 0;
    for (const v of this.#byAddress.get(address.toLowerCase())?.values() ?? []) total += v.amount;
    return total;
  }

  /** Applies one `balances-update`; the reason it was ignored, or undefined when applied. */
  apply(event: RegistryEvent, balanceIndexers: readonly string[]): string | undefined {
    if (!balanceIndexers.some((a) => lc(a) === lc(event.sender))) return 'balances from an address that is not a balance oracle (balanceIndexers)';
    const inner = event.content.content as Details | undefined;
    if (!inner || typeof inner.chain !== 'string' || typeof inner.balances !== 'object' || inner.balances === null) return 'the update has no {chain, balances} content';
    const chainKey = `${inner.chain}/${str(inner.dapp)}`;
    const height = typeof inner.main_height === 'number' && Number.isFinite(inner.main_height) ? Math.floor(inner.main_height) : 0;
    for (const [address, amount] of Object.entries(inner.balances as Details)) {
      const n = typeof amount === 'number' ? amount : Number(amount);
      if (!Number.isFinite(n)) continue;
      const key = address.toLowerCase();
      const perChain = this.#byAddress.get(key) ?? new Map<string, { amount: number; height: number }>();
      const current = perChain.get(chainKey);
      if (current && current.height > height) continue;
      perChain.set(chainKey, { amount: n, height });
      this.#byAddress.set(key, perChain);
    }
    return undefined;
  }
}

export interface ScoredNodes {
  ccns: Map<string, CcnEntry>;
  crns: Map<string, CrnEntry>;
  /** node hash → the period end of the score in effect (a late post for an older period loses). */
  periods: Map<string, number>;
}

/**
 * A score post from a scores sender sets each listed node's score. Its outcome: ignored (not a
 * scores sender, not tagged), or applied with the entries skipped and why (scores for unknown
 * nodes, or older than the score in effect). The score in effect for a node is the one of the
 * latest period (`period.to_date`; the post's time when it has none), then the latest in the
 * replay: a post for an older period published late (a partitioned monitor) does not replace a
 * newer period's score.
 */
export function applyScores(
  event: RegistryEvent,
  settings: Pick<RegistrySettings, 'scoresSenders' | 'tag'>,
  nodes: ScoredNodes,
): { status: 'applied' | 'ignored'; reason?: string } {
  if (!settings.scoresSenders.some((a) => lc(a) === lc(event.sender))) return { status: 'ignored', reason: 'scores from an address that is not a scores sender (scoresSenders)' };
  const inner = event.content.content as Details | undefined;
  if (!inner || !tagged(inner, settings.tag)) return { status: 'ignored', reason: `the scores are not tagged ${settings.tag}` };
  const scores = inner.scores as { ccn?: unknown; crn?: unknown } | undefined;
  const period = inner.period as { to_date?: unknown } | undefined;
  const periodEnd = typeof period?.to_date === 'number' && Number.isFinite(period.to_date) ? period.to_date : event.time;
  const skipped: string[] = [];
  const stale: string[] = [];
  const apply = (list: unknown, byHash: Map<string, CcnEntry> | Map<string, CrnEntry>, kind: string): void => {
    if (!Array.isArray(list)) return;
    for (const entry of list as Details[]) {
      const node = byHash.get(str(entry?.node_id));
      if (!node) {
        skipped.push(`${kind} ${str(entry?.node_id) || '(no node_id)'}`);
        continue;
      }
      if ((nodes.periods.get(node.hash) ?? -Infinity) > periodEnd) {
        stale.push(`${kind} ${node.hash}`);
        continue;
      }
      nodes.periods.set(node.hash, periodEnd);
      const score = typeof entry.total_score === 'number' ? entry.total_score : 0;
      node.score = score;
      if (typeof entry.performance === 'number') node.performance = entry.performance;
      if (typeof entry.decentralization === 'number') node.decentralization = entry.decentralization;
      if (score < INACTIVE_SCORE) node.inactive_since ??= event.time;
      else node.inactive_since = null;
      if ('score_updated' in node) node.score_updated = true;
    }
  };
  apply(scores?.ccn, nodes.ccns, 'ccn');
  apply(scores?.crn, nodes.crns, 'crn');
  const reasons = [
    ...(skipped.length > 0 ? [`scores for unknown nodes skipped: ${skipped.join(', ')}`] : []),
    ...(stale.length > 0 ? [`scores older than the period in effect skipped: ${stale.join(', ')}`] : []),
  ];
  return reasons.length > 0 ? { status: 'applied', reason: reasons.join('; ') } : { status: 'applied' };
}
