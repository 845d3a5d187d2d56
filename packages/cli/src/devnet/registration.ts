/**
 * The devnet's registrations, made so that running the devnet again on the same data dir gives the
 * same network: every node is looked up in the registry by its owner (the node's key) before
 * anything is published, and reused when found; a changed URL or multiaddress is amended; links
 * are made only where missing, and links of the devnet's own CRNs that the layout no longer wants
 * (fewer CRNs, another CCN count) are undone first so that the ≤3 slots are free. Every link is
 * read back: a refused one fails the devnet with the registry's reason instead of a state file
 * naming CRNs that are not linked.
 *
 * Until CCNs replicate messages, each CCN only knows what was sent to it: a CCN registers on
 * itself, a CRN on the CCN it is linked to; reading a CCN's registry shows what it decided.
 */
import type { Logger } from '@aleph-nodes/service';
import { amendNode, createCoreNode, createResourceNode, linkResourceNode, unlinkResourceNode } from '../common/registry-operations.ts';
import type { CcnLayout, CrnLayout } from './layout.ts';
import { REGISTRY_TAG } from './node-configs.ts';

interface CcnView {
  hash: string;
  owner: string;
  multiaddress: string;
  address: string;
  resource_nodes: string[];
}

interface CrnView {
  hash: string;
  owner: string;
  address: string;
  parent: string | null;
  time: number;
}

interface RegistryView {
  nodes: CcnView[];
  resource_nodes: CrnView[];
}

const sameAddress = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();
/** How long a change made on one CCN may take to show in another's registry (replication). */
const REPLICATION_WAIT_MS = 60_000;

async function readRegistry(ccnUrl: string): Promise<RegistryView> {
  const res = await fetch(`${ccnUrl}/api/v0/nodes`, { signal: AbortSignal.timeout(30_000) });
  if (!res.ok) throw new Error(`reading the registry of ${ccnUrl} answered ${res.status}`);
  return (await res.json()) as RegistryView;
}

async function refusal(ccnUrl: string, operation: string): Promise<string> {
  const res = await fetch(`${ccnUrl}/api/v0/nodes/operations/${operation}`).catch(() => undefined);
  if (!res?.ok) return 'no reason recorded';
  const body = (await res.json()) as { status?: string; reason?: string };
  return body.reason ?? `operation ${body.status ?? 'unknown'}`;
}

async function until<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + REPLICATION_WAIT_MS;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${REPLICATION_WAIT_MS / 1000} s`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** The CCN's node, created if its owner has none; says whether it was created now. */
async function ensureCoreNode(ccn: CcnLayout, multiaddress: string, logger: Logger): Promise<{ hash: string; created: boolean }> {
  const find = async (): Promise<CcnView | undefined> => (await readRegistry(ccn.url)).nodes.find((n) => sameAddress(n.owner, ccn.owner.address));
  const existing = await find();
  if (existing) {
    logger.info({ hash: existing.hash, url: ccn.url }, `${ccn.label} already registered; reusing it`);
    return { hash: existing.hash, created: false };
  }
  const op = await createCoreNode(ccn.url, ccn.owner, REGISTRY_TAG, { name: `devnet-${ccn.label}`, multiaddress });
  const node = await find();
  if (!node) throw new Error(`the registry refused ${ccn.label}'s create-node ${op}: ${await refusal(ccn.url, op)}`);
  logger.info({ hash: node.hash, url: ccn.url }, `${ccn.label} registered`);
  return { hash: node.hash, created: true };
}

/**
 * Sets a CCN's multiaddress and HTTP address with an amend, ordered after every create-node: a
 * create-node whose multiaddress host another CCN already uses has it blanked, and whether that
 * happens depends on which create-nodes a CCN had when it applied it. An amend carrying both
 * values gives every CCN the same entry. Needed for a node created now, or when a CCN that knows
 * the node holds other values.
 */
async function settleCoreNode(ccn: CcnLayout, all: CcnLayout[], hash: string, created: boolean, multiaddress: string, logger: Logger): Promise<void> {
  const wanted = { ...(multiaddress ? { multiaddress } : {}), address: ccn.url };
  const views = await Promise.all(all.map(async (c) => (await readRegistry(c.url)).nodes.find((n) => n.hash === hash)));
  const differs = views.some((v) => v !== undefined && (v.address !== wanted.address || (multiaddress !== '' && v.multiaddress !== multiaddress)));
  if (!created && !differs) return;
  await amendNode(ccn.url, ccn.owner, REGISTRY_TAG, hash, wanted);
  logger.info({ hash, ...wanted }, `${ccn.label}'s registry entry set`);
}

/** The CRN's resource node on its CCN (created if its owner has none there), with its URL set. */
async function ensureResourceNode(crn: CrnLayout, ccn: CcnLayout, ccnHash: string, logger: Logger): Promise<string> {
  const mine = async (): Promise<CrnView[]> => (await readRegistry(ccn.url)).resource_nodes.filter((n) => sameAddress(n.owner, crn.owner.address));
  // Earlier runs may have left several (a rerun used to register anew): the linked one wins.
  const pick = (nodes: CrnView[]): CrnView | undefined =>
    nodes.find((n) => n.parent === ccnHash) ?? nodes.find((n) => n.address === crn.url) ?? [...nodes].sort((a, b) => b.time - a.time)[0];
  let node = pick(await mine());
  if (!node) {
    const op = await createResourceNode(ccn.url, crn.owner, REGISTRY_TAG, { name: `devnet-${crn.label}`, address: crn.url });
    node = (await mine()).find((n) => n.hash === op);
    if (!node) throw new Error(`the registry refused ${crn.label}'s create-resource-node ${op}: ${await refusal(ccn.url, op)}`);
    logger.info({ hash: node.hash, url: crn.url }, `${crn.label} registered`);
  } else {
    logger.info({ hash: node.hash, url: crn.url }, `${crn.label} already registered; reusing it`);
  }
  if (node.address !== crn.url) {
    await amendNode(ccn.url, crn.owner, REGISTRY_TAG, node.hash, { address: crn.url });
    logger.info({ hash: node.hash, address: crn.url }, `${crn.label}'s URL amended`);
  }
  return node.hash;
}

export interface Registrations {
  /** Node hash of each CCN, by index. */
  ccns: string[];
  /** Node hash of each CRN, by index. */
  crns: string[];
}

/**
 * Registers (or finds) every node and links CRN i to CCN i mod M. `devnetCrnOwners`: the
 * addresses of every CRN key of this data dir, whose stale links may be undone.
 */
export async function registerNetwork(
  ccns: CcnLayout[],
  multiaddresses: string[],
  crns: CrnLayout[],
  devnetCrnOwners: string[],
  logger: Logger,
): Promise<Registrations> {
  const created: boolean[] = [];
  const ccnHashes: string[] = [];
  for (const ccn of ccns) {
    const node = await ensureCoreNode(ccn, multiaddresses[ccn.index] ?? '', logger);
    ccnHashes.push(node.hash);
    created.push(node.created);
  }
  for (const ccn of ccns) await settleCoreNode(ccn, ccns, ccnHashes[ccn.index] as string, created[ccn.index] === true, multiaddresses[ccn.index] ?? '', logger);
  const crnHashes: string[] = [];
  for (const crn of crns) {
    const ccn = ccns[crn.ccn] as CcnLayout;
    crnHashes.push(await ensureResourceNode(crn, ccn, ccnHashes[crn.ccn] as string, logger));
  }

  // Free the slots: links of the devnet's CRNs that this layout does not want.
  const owners = new Set(devnetCrnOwners.map((a) => a.toLowerCase()));
  for (const ccn of ccns) {
    const hash = ccnHashes[ccn.index] as string;
    const wanted = new Set(crns.filter((c) => c.ccn === ccn.index).map((c) => crnHashes[c.index]));
    const stale = (await readRegistry(ccn.url)).resource_nodes.filter((n) => n.parent === hash && owners.has(n.owner.toLowerCase()) && !wanted.has(n.hash));
    for (const node of stale) {
      await unlinkResourceNode(ccn.url, ccn.owner, REGISTRY_TAG, node.hash);
      logger.info({ hash: node.hash, ccn: ccn.label }, 'unlinked a devnet CRN this layout does not have there');
    }
  }

  for (const crn of crns) {
    const ccn = ccns[crn.ccn] as CcnLayout;
    const ccnHash = ccnHashes[crn.ccn] as string;
    const crnHash = crnHashes[crn.index] as string;
    const current = async (): Promise<CrnView | undefined> => (await readRegistry(ccn.url)).resource_nodes.find((n) => n.hash === crnHash);
    let node = await current();
    if (node?.parent === ccnHash) {
      logger.info({ crn: crnHash, ccn: ccnHash }, `${crn.label} already linked to ${ccn.label}`);
      continue;
    }
    if (node && node.parent !== null) {
      // Linked elsewhere (the CCN count changed): its owner unlinks it, then its CCN links it.
      await unlinkResourceNode(ccn.url, crn.owner, REGISTRY_TAG, crnHash);
      node = await until(`${crn.label}'s unlink to show on ${ccn.label}`, async () => {
        const n = await current();
        return n?.parent === null ? n : undefined;
      });
    }
    const op = await linkResourceNode(ccn.url, ccn.owner, REGISTRY_TAG, crnHash);
    node = await current();
    if (node?.parent !== ccnHash) throw new Error(`the registry refused to link ${crn.label} (${crnHash}) to ${ccn.label}: ${await refusal(ccn.url, op)}`);
    logger.info({ crn: crnHash, ccn: ccnHash, url: crn.url }, `${crn.label} linked to ${ccn.label}`);
  }
  return { ccns: ccnHashes, crns: crnHashes };
}
