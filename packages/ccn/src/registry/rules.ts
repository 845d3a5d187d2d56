/**
 * The corechannel rules (aleph-protocol.md §8.1) as a pure function of the ordered events: node
 * operations, amends of node posts, indexer balance reports and score posts. Nothing here reads
 * the clock, so every node replaying the same messages reaches the same registry.
 */
import type { CcnEntry, CorechannelValue, CrnEntry, RegistryEvent, RegistryOutcome, RegistrySettings } from './types.ts';
import { applyScores, ReportedBalances } from './rules-reports.ts';
import { lc, str, tagged, type Details } from './rules-util.ts';

const OPERATION_TYPE = 'corechan-operation';
const CRN_INACTIVE_REMOVAL_SECONDS = 90 * 86_400;

/** Fields an owner or manager may edit with an amend. */
const EDITABLE = [
  'name', 'multiaddress', 'address', 'picture', 'banner', 'description', 'reward', 'stream_reward',
  'manager', 'authorized', 'locked', 'registration_url', 'terms_and_conditions',
] as const;

/** Why an operation was ignored, or undefined when it was applied. */
type Verdict = string | undefined;

function hostOfMultiaddress(multiaddress: string): string {
  const m = /^\/(?:ip4|ip6|dns4|dns6|dns)\/([^/]+)/.exec(multiaddress);
  return m?.[1]?.toLowerCase() ?? '';
}

function hostOfUrl(url: string): string {
  try {
    return new URL(url).hostname.toLowerCase();
  } catch {
    return '';
  }
}

/**
 * Orders events like the reference without chain confirmations: content time, then item_hash
 * (the total order of processing/order.ts; equal times are decided by the hash, so every node
 * replays ties the same way).
 */
export function orderEvents(events: readonly RegistryEvent[]): RegistryEvent[] {
  return [...events].sort((a, b) => a.time - b.time || (a.itemHash < b.itemHash ? -1 : a.itemHash > b.itemHash ? 1 : 0));
}

export class RegistryState {
  readonly ccns = new Map<string, CcnEntry>();
  readonly crns = new Map<string, CrnEntry>();
  readonly #balances = new ReportedBalances();
  /** node hash → the period end of the score in effect (a late post for an older period loses). */
  readonly #scorePeriods = new Map<string, number>();
  /** staker (lowercase) → the CCN hashes it stakes on, in order. */
  readonly #stakes = new Map<string, string[]>();
  /** staker (lowercase) → the address as first written, for output keys. */
  readonly #stakerNames = new Map<string, string>();
  readonly #settings: RegistrySettings;
  readonly outcomes = new Map<string, RegistryOutcome>();

  constructor(settings: RegistrySettings) {
    this.#settings = settings;
  }

  balanceOf(address: string): number {
    return this.#balances.balanceOf(address);
  }

  apply(event: RegistryEvent): void {
    const type = event.content.type;
    if (type === OPERATION_TYPE) this.#record(event, this.#operation(event));
    else if (type === 'amend') this.#recordAmend(event, this.#amend(event));
    else if (type === 'balances-update') this.#balancesUpdate(event);
    else if (type === 'aleph-scoring-scores') this.#scores(event);
    this.#settle(event.time);
  }

  value(): CorechannelValue {
    return {
      nodes: [...this.ccns.values()].map((n) => ({ ...n, stakers: { ...n.stakers }, resource_nodes: [...n.resource_nodes] })),
      resource_nodes: [...this.crns.values()].map((n) => ({ ...n })),
    };
  }

  #record(event: RegistryEvent, verdict: Verdict): void {
    const inner = event.content.content as Details | undefined;
    const action = typeof inner?.action === 'string' ? inner.action : '';
    this.outcomes.set(event.itemHash, {
      itemHash: event.itemHash,
      action,
      sender: event.sender,
      time: event.time,
      status: verdict === undefined ? 'applied' : 'ignored',
      ...(verdict !== undefined ? { reason: verdict } : {}),
    });
  }

  /** Amends are recorded only when they target a node (other amends are ordinary posts). */
  #recordAmend(event: RegistryEvent, verdict: Verdict | null): void {
    if (verdict === null) return;
    this.#record(event, verdict);
    const outcome = this.outcomes.get(event.itemHash);
    if (outcome) outcome.action = 'amend';
  }

  #ccnOf(owner: string): CcnEntry | undefined {
    for (const n of this.ccns.values()) if (lc(n.owner) === lc(owner)) return n;
    return undefined;
  }

  #operation(event: RegistryEvent): Verdict {
    const inner = event.content.content;
    if (typeof inner !== 'object' || inner === null || Array.isArray(inner)) return 'the operation has no {action, tags} content';
    const op = inner as Details;
    if (!tagged(op, this.#settings.tag)) return `the operation is not tagged ${this.#settings.tag}`;
    const details = typeof op.details === 'object' && op.details !== null && !Array.isArray(op.details) ? (op.details as Details) : {};
    const ref = str(event.content.ref);
    const sender = event.sender;
    switch (op.action) {
      case 'create-node':
        return this.#createCcn(event, details);
      case 'create-resource-node':
        return this.#createCrn(event, details);
      case 'link':
        return this.#link(sender, ref);
      case 'unlink':
        return this.#unlink(sender, ref);
      case 'drop-node':
        return this.#drop(sender, ref);
      case 'stake':
      case 'stake-split':
        return this.#stake(sender, ref, op.action === 'stake-split');
      case 'unstake':
        return this.#unstake(sender, ref, details.amount);
      default:
        return `unknown action ${JSON.stringify(op.action)}`;
    }
  }

  #createCcn(event: RegistryEvent, d: Details): Verdict {
    const owner = event.sender;
    if (this.#ccnOf(owner)) return 'the sender already owns a core channel node';
    if (this.balanceOf(owner) < this.#settings.ccnOwnerMinBalance) return `the sender holds less than ${this.#settings.ccnOwnerMinBalance} ALEPH`;
    this.#dropStakes(owner);
    let multiaddress = str(d.multiaddress);
    const host = hostOfMultiaddress(multiaddress);
    if (host && [...this.ccns.values()].some((n) => hostOfMultiaddress(n.multiaddress) === host)) multiaddress = '';
    this.ccns.set(event.itemHash, {
      hash: event.itemHash,
      name: str(d.name),
      multiaddress,
      owner,
      reward: str(d.reward, owner) || owner,
      manager: str(d.manager, owner) || owner,
      stream_reward: str(d.stream_reward),
      stakers: {},
      total_staked: 0,
      status: 'waiting',
      resource_nodes: [],
      score: 0,
      performance: 0,
      decentralization: 0,
      inactive_since: null,
      time: event.time,
      locked: d.locked === true,
      authorized: Array.isArray(d.authorized) ? d.authorized.filter((a): a is string => typeof a === 'string') : [],
      has_bonus: false,
      picture: str(d.picture),
      banner: str(d.banner),
      description: str(d.description),
      registration_url: str(d.registration_url),
      terms_and_conditions: str(d.terms_and_conditions),
      address: '',
      score_updated: false,
    });
    return undefined;
  }

  #createCrn(event: RegistryEvent, d: Details): Verdict {
    if (d.type !== 'compute') return 'details.type must be "compute"';
    const owner = event.sender;
    let address = str(d.address);
    const host = hostOfUrl(address);
    if (host && [...this.crns.values()].some((n) => hostOfUrl(n.address) === host)) address = '';
    this.crns.set(event.itemHash, {
      hash: event.itemHash,
      name: str(d.name),
      type: 'compute',
      address,
      owner,
      manager: str(d.manager, owner) || owner,
      reward: str(d.reward, owner) || owner,
      stream_reward: str(d.stream_reward),
      status: 'waiting',
      parent: null,
      score: 0,
      performance: 0,
      decentralization: 0,
      inactive_since: null,
      time: event.time,
      locked: d.locked === true,
      authorized: Array.isArray(d.authorized) ? d.authorized.filter((a): a is string => typeof a === 'string') : [],
      picture: str(d.picture),
      banner: str(d.banner),
      description: str(d.description),
      registration_url: str(d.registration_url),
      terms_and_conditions: str(d.terms_and_conditions),
      multiaddress: '',
    });
    return undefined;
  }

  #link(sender: string, crnHash: string): Verdict {
    const ccn = this.#ccnOf(sender);
    const crn = this.crns.get(crnHash);
    if (!ccn) return 'the sender owns no core channel node';
    if (!crn) return `no compute resource node ${crnHash}`;
    if (crn.parent !== null) return 'the resource node is already linked';
    if (ccn.resource_nodes.length >= this.#settings.maxLinkedCrns) return `the core channel node already links ${this.#settings.maxLinkedCrns} resource nodes (max_linked_crns)`;
    if (crn.locked && !crn.authorized.some((a) => lc(a) === lc(sender))) return 'the resource node is locked';
    crn.parent = ccn.hash;
    crn.status = 'linked';
    ccn.resource_nodes.push(crn.hash);
    return undefined;
  }

  #detach(crn: CrnEntry): void {
    if (crn.parent) {
      const parent = this.ccns.get(crn.parent);
      if (parent) parent.resource_nodes = parent.resource_nodes.filter((h) => h !== crn.hash);
    }
    crn.parent = null;
    crn.status = 'waiting';
  }

  #unlink(sender: string, crnHash: string): Verdict {
    const crn = this.crns.get(crnHash);
    if (!crn) return `no compute resource node ${crnHash}`;
    if (crn.parent === null) return 'the resource node is not linked';
    const parent = this.ccns.get(crn.parent);
    if (lc(crn.owner) !== lc(sender) && (!parent || lc(parent.owner) !== lc(sender))) return 'only the owner of the resource node or of its core channel node may unlink it';
    this.#detach(crn);
    return undefined;
  }

  #removeCcn(ccn: CcnEntry): void {
    for (const crnHash of ccn.resource_nodes) {
      const crn = this.crns.get(crnHash);
      if (crn) {
        crn.parent = null;
        crn.status = 'waiting';
      }
    }
    for (const [staker, nodes] of this.#stakes) {
      const rest = nodes.filter((h) => h !== ccn.hash);
      if (rest.length > 0) this.#stakes.set(staker, rest);
      else this.#stakes.delete(staker);
    }
    this.ccns.delete(ccn.hash);
  }

  #drop(sender: string, hash: string): Verdict {
    const ccn = this.ccns.get(hash);
    if (ccn) {
      if (lc(ccn.owner) !== lc(sender)) return 'only the owner may drop a node';
      this.#removeCcn(ccn);
      return undefined;
    }
    const crn = this.crns.get(hash);
    if (!crn) return `no node ${hash}`;
    if (lc(crn.owner) !== lc(sender)) return 'only the owner may drop a node';
    this.#detach(crn);
    this.crns.delete(hash);
    return undefined;
  }

  #dropStakes(staker: string): void {
    this.#stakes.delete(staker.toLowerCase());
  }

  #stake(staker: string, ccnHash: string, split: boolean): Verdict {
    const ccn = this.ccns.get(ccnHash);
    if (!ccn) return `no core channel node ${ccnHash}`;
    if (this.#ccnOf(staker)) return 'a node owner cannot stake';
    const balance = this.balanceOf(staker);
    if (balance < this.#settings.stakerMinBalance) return `the staker holds ${balance} ALEPH, less than the ${this.#settings.stakerMinBalance} ALEPH needed to stake`;
    // Even where the minimum is 0 (a development network), a stake needs a balance behind it.
    if (!(balance > 0)) return 'the staker holds no ALEPH (no balance reported by a balance oracle)';
    if (ccn.locked && !ccn.authorized.some((a) => lc(a) === lc(staker))) return 'the core channel node is locked';
    const key = staker.toLowerCase();
    if (!this.#stakerNames.has(key)) this.#stakerNames.set(key, staker);
    const current = this.#stakes.get(key) ?? [];
    if (!split) this.#stakes.set(key, [ccnHash]);
    else if (!current.includes(ccnHash)) this.#stakes.set(key, [...current, ccnHash]);
    return undefined;
  }

  /**
   * Stakes follow live balances, so an unstake removes the whole stake on the node. An optional
   * `details.amount` (what the sender believes it unstakes) is checked against the current stake:
   * more than is staked is refused rather than silently taken as "everything".
   */
  #unstake(staker: string, ccnHash: string, amount: unknown): Verdict {
    const key = staker.toLowerCase();
    const current = this.#stakes.get(key) ?? [];
    if (!this.ccns.has(ccnHash)) return `no core channel node ${ccnHash}`;
    if (!current.includes(ccnHash)) return 'the sender does not stake on this node';
    if (amount !== undefined) {
      const n = typeof amount === 'number' ? amount : Number(amount);
      if (!Number.isFinite(n) || n <= 0) return `details.amount must be a positive number of ALEPH, got ${JSON.stringify(amount)}`;
      const staked = Math.floor(this.balanceOf(key) / current.length);
      if (n > staked) return `cannot unstake ${n} ALEPH: the sender stakes ${staked} ALEPH on this node`;
    }
    const rest = current.filter((h) => h !== ccnHash);
    if (rest.length > 0) this.#stakes.set(key, rest);
    else this.#stakes.delete(key);
    return undefined;
  }

  /** null: the amend does not concern a node. */
  #amend(event: RegistryEvent): Verdict | null {
    const ref = str(event.content.ref);
    const node: CcnEntry | CrnEntry | undefined = this.ccns.get(ref) ?? this.crns.get(ref);
    if (!node) return null;
    if (lc(event.sender) !== lc(node.owner) && lc(event.sender) !== lc(node.manager)) return 'only the owner or the manager may edit a node';
    const inner = event.content.content;
    if (typeof inner !== 'object' || inner === null || Array.isArray(inner)) return 'the amend has no {action, tags, details} content';
    if (!tagged(inner as Details, this.#settings.tag)) return `the amend is not tagged ${this.#settings.tag}`;
    const details = (inner as Details).details;
    if (typeof details !== 'object' || details === null || Array.isArray(details)) return 'the amend has no details';
    const target = node as unknown as Record<string, unknown>;
    for (const field of EDITABLE) {
      if (!(field in details)) continue;
      const value = (details as Details)[field];
      if (field === 'locked') {
        if (typeof value === 'boolean') target.locked = value;
      } else if (field === 'authorized') {
        if (Array.isArray(value)) target.authorized = value.filter((a): a is string => typeof a === 'string');
      } else if (typeof value === 'string' && field in target) {
        target[field] = value;
      }
    }
    return undefined;
  }

  /** A `balances-update` from a balance oracle; see rules-reports.ts. */
  #balancesUpdate(event: RegistryEvent): void {
    const reason = this.#balances.apply(event, this.#settings.balanceIndexers);
    if (reason !== undefined) {
      this.outcomes.set(event.itemHash, { itemHash: event.itemHash, action: 'balances-update', sender: event.sender, time: event.time, status: 'ignored', reason });
    }
  }

  /** A score post; see rules-reports.ts. */
  #scores(event: RegistryEvent): void {
    const { status, reason } = applyScores(event, this.#settings, { ccns: this.ccns, crns: this.crns, periods: this.#scorePeriods });
    this.outcomes.set(event.itemHash, { itemHash: event.itemHash, action: 'scores', sender: event.sender, time: event.time, status, ...(reason ? { reason } : {}) });
  }

  /** Balance-driven transitions and derived fields, after every event. */
  #settle(time: number): void {
    for (const ccn of [...this.ccns.values()]) {
      if (this.balanceOf(ccn.owner) < this.#settings.ccnOwnerMinBalance) this.#removeCcn(ccn);
    }
    for (const [staker, nodes] of [...this.#stakes]) {
      if (this.balanceOf(staker) < this.#settings.stakerMinBalance) {
        this.#stakes.delete(staker);
        continue;
      }
      const live = nodes.filter((h) => this.ccns.has(h));
      if (live.length === 0) this.#stakes.delete(staker);
      else if (live.length !== nodes.length) this.#stakes.set(staker, live);
    }
    for (const ccn of this.ccns.values()) {
      ccn.stakers = {};
      ccn.total_staked = 0;
    }
    for (const [staker, nodes] of this.#stakes) {
      // Stake amounts follow live balances, split equally, whole ALEPH.
      const amount = Math.floor(this.balanceOf(staker) / nodes.length);
      for (const hash of nodes) {
        const ccn = this.ccns.get(hash);
        if (!ccn) continue;
        ccn.stakers[this.#stakerNames.get(staker) ?? staker] = amount;
        ccn.total_staked += amount;
      }
    }
    for (const ccn of this.ccns.values()) ccn.status = ccn.total_staked >= this.#settings.ccnActivationStake ? 'active' : 'waiting';
    for (const [hash, crn] of [...this.crns]) {
      if (crn.parent === null && crn.inactive_since !== null && time - crn.inactive_since > CRN_INACTIVE_REMOVAL_SECONDS) this.crns.delete(hash);
    }
  }
}

/** Replays the events in protocol order: the registry value and what each operation did. */
export function computeRegistry(events: readonly RegistryEvent[], settings: RegistrySettings): { value: CorechannelValue; outcomes: Map<string, RegistryOutcome> } {
  const state = new RegistryState(settings);
  for (const event of orderEvents(events)) state.apply(event);
  return { value: state.value(), outcomes: state.outcomes };
}
