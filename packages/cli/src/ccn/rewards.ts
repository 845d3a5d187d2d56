/**
 * `ccn rewards --from DATE --to DATE`: the ALEPH distribution of a period with the reference's
 * formulas (packages/scoring), from the score posts published for the period and the registry
 * (stakes, links, reward addresses) as the CCN serves it now. Prints a table or, with --json,
 * canonical JSON (sorted keys, amounts rounded to 1e-6): the same period gives the same bytes.
 * With --publish, signs and publishes the distribution as a `staking-rewards-distribution` POST,
 * unless it overlaps a distribution the same key already published (refused, exit 1).
 */
import { buildInlineMessage } from '@aleph-nodes/protocol';
import { canonicalJson, distributeRewards, periodScores, scoreMultiplier, type RewardCcn, type RewardCrn } from '@aleph-nodes/scoring';
import { readKeyFile } from '@aleph-nodes/service';
import { publishMessage } from '../common/ccn-client.ts';
import { EXIT } from '../common/exit-codes.ts';
import { printTable } from '../common/output.ts';
import { DISTRIBUTION_POST_TYPE, readDistributions, readIncome, readRegistry, readScoresPosts, RewardsInputError, type IncomeView, type RegistryView } from './rewards-input.ts';

export interface RewardsOptions {
  from: string;
  to: string;
  ccn: string;
  json: boolean;
  key?: string;
  publish: boolean;
  tag: string;
  scoresSenders: string[];
}

const CHANNEL = 'FOUNDATION';

/** ISO 8601 or unix seconds → unix seconds; undefined when neither. */
export function parseDate(value: string): number | undefined {
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms / 1000 : undefined;
}

function fail(message: string, code: number = EXIT.FAILURE): number {
  process.stderr.write(`ccn rewards: ${message}\n`);
  return code;
}

export async function runRewards(opts: RewardsOptions): Promise<number> {
  const from = parseDate(opts.from);
  const to = parseDate(opts.to);
  if (from === undefined) return fail(`--from ${JSON.stringify(opts.from)} is neither an ISO 8601 date nor unix seconds`, EXIT.USAGE);
  if (to === undefined) return fail(`--to ${JSON.stringify(opts.to)} is neither an ISO 8601 date nor unix seconds`, EXIT.USAGE);
  if (!(to > from)) return fail('--to must be after --from', EXIT.USAGE);
  if (opts.publish && !opts.key) return fail('--publish needs --key (the key that signs the distribution)', EXIT.USAGE);
  const account = opts.key ? readKeyFile(opts.key) : undefined;
  const ccn = opts.ccn.replace(/\/+$/, '');
  try {
    const registry = await readRegistry(ccn);
    const senders = opts.scoresSenders.length > 0 ? opts.scoresSenders : [registry.registry_address];
    const scores = periodScores(await readScoresPosts(ccn, senders, from), from, to);
    if (scores.coveredSeconds === 0) return fail(`no scores were published for ${from}–${to} by ${senders.join(', ')}: nothing to distribute`);
    if (scores.coveredSeconds < to - from) process.stderr.write(`ccn rewards: warning: score posts cover ${scores.coveredSeconds} s of the ${to - from} s period; scores are averaged over the covered time\n`);

    const ccns: RewardCcn[] = registry.nodes.map((n) => ({
      hash: n.hash,
      rewardAddress: n.reward || n.owner,
      active: n.status === 'active',
      score: scores.ccn.get(n.hash)?.score ?? 0,
      stakers: n.stakers,
      linkedCrns: n.resource_nodes,
    }));
    const crns: RewardCrn[] = registry.resource_nodes.map((n) => ({
      hash: n.hash,
      rewardAddress: n.reward || n.owner,
      parent: n.parent,
      score: scores.crn.get(n.hash)?.score ?? 0,
      decentralization: scores.crn.get(n.hash)?.decentralization ?? 0,
    }));
    const result = distributeRewards({ days: (to - from) / 86_400, ccns, crns });
    // No chain here: the period's bounds (unix seconds) stand in for block heights.
    const distribution = {
      incentive: 'corechannel',
      status: 'calculation',
      start_height: from,
      end_height: to,
      period: { from_date: from, to_date: to },
      rewards: result.rewards,
      tags: opts.tag ? [opts.tag] : [],
    };
    const round6 = (v: number): number => Math.round(v * 1e6) / 1e6;
    const nodeScores = Object.fromEntries([
      ...ccns.map((c) => [c.hash, { role: 'ccn', score: round6(c.score), multiplier: round6(scoreMultiplier(c.score)), active: c.active, linked_crns: c.linkedCrns.length }]),
      ...crns.map((c) => [c.hash, { role: 'crn', score: round6(c.score), multiplier: round6(scoreMultiplier(c.score)), decentralization: round6(c.decentralization), parent: c.parent }]),
    ]);
    const income = incomeLines(await readIncome(ccn, from, to), registry);
    const report = { distribution, lines: result.lines, nodes: nodeScores, total: result.total, score_posts: scores.posts, ...(income && income.length > 0 ? { payments_income: income } : {}) };

    if (opts.json) process.stdout.write(`${canonicalJson(report, 2)}\n`);
    else {
      printTable(
        ['ROLE', 'NODE', 'ADDRESS', 'SCORE', 'ALEPH'],
        [...result.lines]
          .sort((a, b) => a.role.localeCompare(b.role) || a.node.localeCompare(b.node) || a.address.localeCompare(b.address))
          .map((l) => [l.role, l.node.slice(0, 12), l.address, l.role === 'staker' ? '' : ((nodeScores[l.node] as { score: number } | undefined)?.score ?? 0).toFixed(3), l.amount.toFixed(6)]),
      );
      process.stdout.write(`total ${result.total.toFixed(6)} ALEPH for ${new Date(from * 1000).toISOString()} – ${new Date(to * 1000).toISOString()} (${scores.posts.length} score posts)\n`);
      if (income && income.length > 0) {
        process.stdout.write('payments income (pay-as-you-go flows received, credits consumed by the work each CRN ran):\n');
        printTable(
          ['CRN', 'ADDRESS', 'FLOW ALEPH', 'CREDITS'],
          income.map((l) => [l.crn_hash ? l.crn_hash.slice(0, 12) : '', l.address ?? '', l.flow_aleph, String(l.credits)]),
        );
      }
    }

    if (!opts.publish || !account) return EXIT.OK;
    if (to > Date.now() / 1000) return fail('the period is not over yet: a distribution is only published for a past period');
    const overlapping = (await readDistributions(ccn, account.address)).find((d) => d.from < to && from < d.to);
    if (overlapping) {
      return fail(`the period ${from}–${to} overlaps the distribution ${overlapping.item_hash} already published for ${overlapping.from}–${overlapping.to}; refused`);
    }
    const message = buildInlineMessage(account, 'POST', { type: DISTRIBUTION_POST_TYPE, content: distribution }, { channel: CHANNEL });
    await publishMessage(ccn, message);
    process.stderr.write(`ccn rewards: published ${DISTRIBUTION_POST_TYPE} ${message.item_hash}\n`);
    return EXIT.OK;
  } catch (err) {
    if (err instanceof RewardsInputError) return fail(err.message);
    throw err;
  }
}

export interface IncomeLine {
  crn_hash: string | null;
  address: string | null;
  flow_aleph: string;
  credits: number;
}

/**
 * Payment income beside the score rewards: flows received by a CRN's reward
 * address (or owner) and credits consumed by the workloads placed on it. Flows to an address that
 * is no CRN's are listed with that address alone; credits of unplaced work under `unattributed`.
 */
export function incomeLines(income: IncomeView | undefined, registry: Pick<RegistryView, 'resource_nodes'>): IncomeLine[] | undefined {
  if (!income) return undefined;
  const lines = new Map<string, IncomeLine>();
  const crnOf = new Map(registry.resource_nodes.map((n) => [(n.reward || n.owner).toLowerCase(), n]));
  for (const f of income.flows) {
    const crn = crnOf.get(f.receiver.toLowerCase());
    const key = crn?.hash ?? f.receiver.toLowerCase();
    const line = lines.get(key) ?? { crn_hash: crn?.hash ?? null, address: crn ? (crn.reward || crn.owner) : f.receiver, flow_aleph: '0', credits: 0 };
    line.flow_aleph = f.aleph;
    lines.set(key, line);
  }
  for (const c of income.credits) {
    const crn = registry.resource_nodes.find((n) => n.hash === c.crn_hash);
    const line = lines.get(c.crn_hash) ?? { crn_hash: c.crn_hash, address: crn ? crn.reward || crn.owner : null, flow_aleph: '0', credits: 0 };
    line.credits += c.credits;
    lines.set(c.crn_hash, line);
  }
  return [...lines.values()].sort((a, b) => ((a.crn_hash ?? a.address ?? '') < (b.crn_hash ?? b.address ?? '') ? -1 : 1));
}
