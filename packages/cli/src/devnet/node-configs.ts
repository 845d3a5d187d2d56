/**
 * The config files the devnet writes for its nodes. Settings that other parts of the project add
 * over time (the CCN's P2P and sync peers, the CRN's list of CCNs) are written only when the
 * node's config schema knows them, read from the schema itself at run time: the devnet works with
 * the nodes of before and after those settings exist. Each file is checked against its schema
 * before it is written, so that a mistake is reported here rather than by a node that exits.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { CcnConfigSchema } from '@aleph-nodes/ccn';
import { CrnConfigSchema } from '@aleph-nodes/crn';
import type { z } from 'zod';
import type { CcnLayout, CrnLayout } from './layout.ts';

export const REGISTRY_TAG = 'devnet';

/** True when the CCN's config schema has this setting. */
export function ccnKnows(key: string): boolean {
  return key in CcnConfigSchema.shape;
}

/**
 * The settings among `extra` that `schema` knows and accepts. A list the schema refuses as a whole
 * keeps the items it accepts one by one (e.g. multiaddresses without a peer id, if peer ids are
 * required).
 */
export function knownSettings(schema: z.ZodObject, extra: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(extra)) {
    const field = schema.shape[key] as z.ZodType | undefined;
    if (!field) continue;
    if (field.safeParse(value).success) out[key] = value;
    else if (Array.isArray(value)) out[key] = value.filter((item) => field.safeParse([item]).success);
  }
  return out;
}

function write(schema: z.ZodObject, dir: string, file: string, config: Record<string, unknown>, what: string): void {
  const checked = schema.safeParse(config);
  if (!checked.success) {
    throw new Error(`the devnet made an invalid ${what} config: ${checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`);
}

/** The libp2p multiaddress of a CCN, with its peer id when known; empty when CCNs have no P2P yet. */
export function multiaddressOf(ccn: CcnLayout, peerId: string | null): string {
  if (!ccnKnows('p2pPort')) return '';
  return `/ip4/${ccn.host}/tcp/${ccn.p2pPort}${peerId ? `/p2p/${peerId}` : ''}`;
}

export interface CcnNetwork {
  all: CcnLayout[];
  /** Registry aggregate address shared by every CCN (the first CCN's key). */
  registryAddress: string;
  oracleAddress: string;
  /** Multiaddresses of the CCNs already started (bootstrap peers of the next ones). */
  bootstrap: string[];
}

/** 2100-01-01: a payment cutoff the devnet never reaches. */
export const FAR_FUTURE = 4_102_444_800;

/**
 * Payments on a devnet: one oracle key plays the chain indexer for balances, credits
 * and flows; checks run every few seconds and a lapsed holding stays `removing` for 20 s, so that
 * a lapse shows within a minute. Today is after pyaleph's cutoffs for hold and pay-as-you-go
 * instances (and, later, for anything not paid in credits): the devnet moves them far away so
 * that every payment type can be tried. Written only where the CCN has the setting.
 */
export function ccnPaymentSettings(oracleAddress: string): Record<string, unknown> {
  return {
    creditOracles: [oracleAddress],
    flowOracles: [oracleAddress],
    paymentCheckIntervalSeconds: 5,
    removingGraceSeconds: 20,
    holdAndStreamRefusedFromTime: FAR_FUTURE,
    creditOnlyFromTime: FAR_FUTURE,
  };
}

/** The CRN side: its monitor looks every 5 s and stops a workload after two bad answers in a row. */
export const CRN_PAYMENT_SETTINGS: Readonly<Record<string, unknown>> = {
  paymentMonitorIntervalSeconds: 5,
  paymentConfirmations: 2,
};

export function ccnConfig(ccn: CcnLayout, net: CcnNetwork): Record<string, unknown> {
  const others = net.all.filter((c) => c.index !== ccn.index);
  return {
    host: ccn.host,
    port: ccn.port,
    dataDir: ccn.dir,
    keyFile: ccn.keyFile,
    registryTag: REGISTRY_TAG,
    // One registry for the whole network, served by every CCN under the same address.
    registryAddress: net.registryAddress,
    // A development network has no token balances: anyone may run a node or stake.
    ccnOwnerMinBalance: 0,
    stakerMinBalance: 0,
    ccnActivationStake: 0,
    maxLinkedCrns: 3,
    // The Debian instance image is published as one file of a few hundred MiB.
    maxSignedUploadBytes: 2 * 1024 * 1024 * 1024,
    // There is no chain indexer: the devnet's oracle key (keys/oracle.key, `ccn oracle ...`) sets
    // balances, and credits and flows where the CCN has those oracles. Every CCN honours
    // every CCN's score posts, so that the registry's scores are the same on all of them.
    balanceIndexers: [net.oracleAddress],
    // The oracle also publishes the pricing and settings aggregates the clients read (pricing.ts).
    pricingOwner: net.oracleAddress,
    scoresSenders: net.all.map((c) => c.owner.address),
    // Metrics and scores come often enough that `ccn rewards` for the last hour has a dozen periods.
    metricsPublishIntervalSeconds: 60,
    scorePeriodSeconds: 300,
    ...knownSettings(CcnConfigSchema, {
      p2pHost: ccn.host,
      p2pPort: ccn.p2pPort,
      p2pBootstrap: net.bootstrap,
      syncPeers: others.map((c) => c.url),
      ...ccnPaymentSettings(net.oracleAddress),
    }),
  };
}

export function writeCcnConfig(ccn: CcnLayout, net: CcnNetwork): void {
  write(CcnConfigSchema, ccn.dir, ccn.configFile, ccnConfig(ccn, net), ccn.label);
}

export interface CrnSettings {
  executor: string;
  accelerator: string | undefined;
  nodeHash: string;
  /** URLs of its CCN first, then the others (written as a list only if the CRN accepts one). */
  ccnUrls: string[];
  /** The key of the CCN it is linked to: the only one whose allocation pushes it accepts. */
  ccnAddress: string;
  /** The devnet's copy of aleph's diagnostic program, for /status/check/fastapi. */
  checkFastapiVmId?: string | undefined;
}

/** A list of CCNs when the CRN's `ccn` setting accepts one, else its own CCN alone. */
export function crnCcnSetting(urls: string[]): string | string[] {
  const field = CrnConfigSchema.shape.ccn as z.ZodType;
  return urls.length > 1 && field.safeParse(urls).success ? urls : (urls[0] as string);
}

export function crnConfig(crn: CrnLayout, s: CrnSettings): Record<string, unknown> {
  return {
    host: crn.host,
    port: crn.port,
    dataDir: crn.dir,
    keyFile: crn.keyFile,
    ccn: crnCcnSetting(s.ccnUrls),
    domain: crn.host,
    nodeHash: s.nodeHash,
    executor: s.executor,
    ...(s.accelerator ? { accelerator: s.accelerator } : {}),
    // Under software emulation a guest takes tens of seconds to boot, and the diagnostic program
    // (FastAPI and the Python SDK imported) minutes on a loaded machine (200 s seen at load 18).
    ...(s.accelerator === 'tcg' ? { startTimeoutSeconds: 420 } : {}),
    // The CRNs share this host's ports: each forwards instance ports from its own range.
    portForwardStart: 24_000 + crn.index * 1000,
    portForwardEnd: 24_999 + crn.index * 1000,
    // Stopping the devnet must leave no VM behind; production nodes keep them across restarts.
    stopWorkloadsOnExit: true,
    authorizedAllocationSigners: [s.ccnAddress],
    ...(s.checkFastapiVmId ? { checkFastapiVmId: s.checkFastapiVmId } : {}),
    ...knownSettings(CrnConfigSchema, CRN_PAYMENT_SETTINGS),
  };
}

export function writeCrnConfig(crn: CrnLayout, s: CrnSettings): void {
  write(CrnConfigSchema, crn.dir, crn.configFile, crnConfig(crn, s), crn.label);
}
