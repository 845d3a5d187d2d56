/**
 * Who may push this CRN its allocations: the CCN the registry links it to. The registry is read
 * from the CCNs (`GET /api/v0/nodes`, through the client's fail-over), this node is found in it
 * by its `nodeHash` setting, else by its address's host = its domain (the registry gives one
 * node per host), and the signers are its parent CCN's `owner` and `manager` (the CCN signs with
 * its node key, the address it registered with, or one its owner made manager).
 *
 * The answer is re-read every `refreshMs`, so that a re-link (an owner operation) switches the
 * signers; a push refused for its signer re-reads at once (at most every `minRereadMs`), so the
 * new CCN does not wait for the next refresh. When no CCN answers, the last answer stays: a CRN
 * whose CCNs are all unreachable keeps trusting the CCN it was linked to, and never widens who
 * may push.
 */
import type { Logger } from '@aleph-nodes/service';
import { z } from 'zod';
import { CcnError, type CcnClient } from './ccn-client.ts';

/** What is known of this node's link: `linked` with the signers, or not linked (or not registered). */
export type LinkState = { linked: true; parent: string; signers: string[] } | { linked: false; why: string };

const NodesSchema = z.object({
  nodes: z.array(z.object({ hash: z.string(), owner: z.string(), manager: z.string().optional() }).passthrough()).max(100_000),
  resource_nodes: z
    .array(z.object({ hash: z.string(), address: z.string(), status: z.string(), parent: z.string().nullable().optional() }).passthrough())
    .max(100_000),
});

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).hostname.toLowerCase().replace(/^\[|\]$/g, '');
  } catch {
    return undefined;
  }
}

/** This node's link in a registry answer (pure; unit-tested). */
export function linkOf(body: unknown, self: { nodeHash: string; domain: string }): LinkState {
  const parsed = NodesSchema.safeParse(body);
  if (!parsed.success) throw new Error('the CCN answered a registry without the expected shape');
  const { nodes, resource_nodes } = parsed.data;
  let me;
  if (self.nodeHash !== '') me = resource_nodes.find((r) => r.hash === self.nodeHash);
  else {
    const domain = self.domain.toLowerCase();
    const matches = resource_nodes.filter((r) => hostOf(r.address) === domain);
    if (matches.length > 1) return { linked: false, why: `${matches.length} resource nodes have the address host ${domain}: set nodeHash` };
    me = matches[0];
  }
  if (!me) return { linked: false, why: self.nodeHash ? `node ${self.nodeHash.slice(0, 12)} is not in the registry` : `no resource node has the address host ${self.domain}` };
  if (me.status !== 'linked' || !me.parent) return { linked: false, why: `node ${me.hash.slice(0, 12)} is not linked to a CCN` };
  const parent = nodes.find((n) => n.hash === me.parent);
  if (!parent) return { linked: false, why: `its CCN ${String(me.parent).slice(0, 12)} is not in the registry` };
  const signers = [...new Set([parent.owner, parent.manager ?? ''].filter((a) => ADDRESS.test(a)).map((a) => a.toLowerCase()))];
  if (signers.length === 0) return { linked: false, why: `its CCN ${parent.hash.slice(0, 12)} has no valid owner address` };
  return { linked: true, parent: parent.hash, signers };
}

export class LinkedSigners {
  #state: { at: number; link: LinkState } | undefined;
  #reading: Promise<LinkState | undefined> | undefined;
  #lastForced = 0;

  constructor(
    private readonly ccn: Pick<CcnClient, 'getJson'>,
    private readonly self: { nodeHash: string; domain: string },
    private readonly refreshMs: number,
    private readonly logger: Logger,
    private readonly minRereadMs = 5_000,
  ) {}

  /** The current link (re-read when older than the refresh period); undefined when never read. */
  async link(): Promise<LinkState | undefined> {
    if (!this.#state || Date.now() - this.#state.at >= this.refreshMs) await this.#read();
    return this.#state?.link;
  }

  /** Re-reads now (a push was refused for its signer: maybe the node was re-linked). */
  async reread(): Promise<LinkState | undefined> {
    if (Date.now() - this.#lastForced < this.minRereadMs) return this.#state?.link;
    this.#lastForced = Date.now();
    await this.#read();
    return this.#state?.link;
  }

  #read(): Promise<LinkState | undefined> {
    this.#reading ??= (async () => {
      try {
        const link = linkOf(await this.ccn.getJson('api/v0/nodes'), this.self);
        const before = this.#state?.link;
        if (JSON.stringify(before) !== JSON.stringify(link)) this.logger.info({ link }, 'allocation signers from the registry');
        this.#state = { at: Date.now(), link };
        return link;
      } catch (err) {
        if (err instanceof CcnError && err.code === 'NOT_FOUND') {
          // A CCN without our registry route (a reference CCN): nothing links this node here.
          const link: LinkState = { linked: false, why: 'the CCN serves no registry (GET /api/v0/nodes answered 404)' };
          this.#state = { at: Date.now(), link };
          return link;
        }
        // Keep the last answer (fail closed: never fall back to a wider set because the CCNs are away).
        this.logger.warn({ err: (err as Error).message }, 'could not read the registry for the allocation signers; keeping the last answer');
        if (this.#state) this.#state = { at: Date.now() - this.refreshMs + this.minRereadMs, link: this.#state.link };
        return this.#state?.link;
      } finally {
        this.#reading = undefined;
      }
    })();
    return this.#reading;
  }
}
