/**
 * Where each devnet node lives: its data dir, key file, config file, host and ports. Everything is
 * derived from the data dir and the flags, so that a second run on the same data dir finds the
 * same keys and, with them, the same registrations.
 *
 * - CCN i (0-based) uses `<data>/ccn-<i+1>` and `keys/ccn-<i+1>.key`. All CCNs listen on 127.0.0.1
 *   (HTTP on base + 2i, P2P on base + 2i + 1), or, with `distinctHosts`, CCN i on its own loopback
 *   address 127.0.1.(i+1) with the base ports (so that nft rules between addresses can partition
 *   the network, and each CCN's multiaddress has a host of its own, as the registry wants).
 * - CRN i uses `<data>/crn-<i+1>`, `keys/crn-<i+1>.key`, listens on 127.0.0.(i+2) (every CRN has a
 *   host of its own, as the registry requires) and is linked to CCN i mod M.
 * A port of 0 means "any free port": the port of the previous run (in the node's config file) is
 * taken again when it is free, so that the URLs registered by that run stay right.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadOrCreateKeyFile, readKeyFile } from '@aleph-nodes/service';
import type { EthAccount } from '@aleph-nodes/protocol';
import { assertPortFree, pickFreePort } from './ports.ts';

export interface CcnLayout {
  index: number;
  label: string;
  dir: string;
  keyFile: string;
  configFile: string;
  owner: EthAccount;
  host: string;
  port: number;
  p2pPort: number;
  url: string;
}

export interface CrnLayout {
  index: number;
  label: string;
  dir: string;
  keyFile: string;
  configFile: string;
  owner: EthAccount;
  host: string;
  port: number;
  url: string;
  /** Index of the CCN it is linked to. */
  ccn: number;
}

export interface LayoutOptions {
  dataDir: string;
  ccns: number;
  crns: number;
  ccnPort: number;
  crnPort: number;
  distinctHosts: boolean;
}

export function ccnHost(index: number, distinctHosts: boolean): string {
  return distinctHosts ? `127.0.1.${index + 1}` : '127.0.0.1';
}

export function crnHost(index: number): string {
  return `127.0.0.${index + 2}`;
}

function previousConfig(configFile: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
  } catch {
    return {};
  }
}

async function isFree(host: string, port: number): Promise<boolean> {
  return assertPortFree(host, port).then(
    () => true,
    () => false,
  );
}

/** `wanted` when set (it must be free), else the previous run's port if free, else a free one. */
async function choosePort(host: string, wanted: number, previous: unknown, taken: Set<string>): Promise<number> {
  let port: number;
  if (wanted !== 0) {
    await assertPortFree(host, wanted);
    port = wanted;
  } else if (typeof previous === 'number' && previous > 0 && !taken.has(`${host}:${previous}`) && (await isFree(host, previous))) {
    port = previous;
  } else {
    do port = await pickFreePort(host);
    while (taken.has(`${host}:${port}`));
  }
  taken.add(`${host}:${port}`);
  return port;
}

export async function planLayout(opts: LayoutOptions): Promise<{ ccns: CcnLayout[]; crns: CrnLayout[] }> {
  const taken = new Set<string>();
  const ccns: CcnLayout[] = [];
  for (let i = 0; i < opts.ccns; i++) {
    const dir = join(opts.dataDir, `ccn-${i + 1}`);
    const configFile = join(dir, 'config.json');
    const keyFile = join(opts.dataDir, 'keys', `ccn-${i + 1}.key`);
    const host = ccnHost(i, opts.distinctHosts);
    const offset = opts.distinctHosts ? 0 : 2 * i;
    if (opts.ccnPort !== 0 && opts.ccnPort + offset + 1 > 65_535) throw new Error(`--ccn-port ${opts.ccnPort} leaves no room for ${opts.ccns} CCNs (two ports each)`);
    const previous = previousConfig(configFile);
    const port = await choosePort(host, opts.ccnPort === 0 ? 0 : opts.ccnPort + offset, previous.port, taken);
    const p2pPort = await choosePort(host, opts.ccnPort === 0 ? 0 : opts.ccnPort + offset + 1, previous.p2pPort, taken);
    ccns.push({ index: i, label: `ccn-${i + 1}`, dir, keyFile, configFile, owner: loadOrCreateKeyFile(keyFile).account, host, port, p2pPort, url: `http://${host}:${port}` });
  }
  const crns: CrnLayout[] = [];
  for (let i = 0; i < opts.crns; i++) {
    const dir = join(opts.dataDir, `crn-${i + 1}`);
    const configFile = join(dir, 'config.json');
    const keyFile = join(opts.dataDir, 'keys', `crn-${i + 1}.key`);
    const host = crnHost(i);
    const port = await choosePort(host, opts.crnPort, previousConfig(configFile).port, taken);
    crns.push({ index: i, label: `crn-${i + 1}`, dir, keyFile, configFile, owner: loadOrCreateKeyFile(keyFile).account, host, port, url: `http://${host}:${port}`, ccn: i % opts.ccns });
  }
  return { ccns, crns };
}

/**
 * The devnet's oracle: one key (`keys/oracle.key`, mode 0600, made on the first run and kept) that
 * every CCN honours for balances, credits and flows, as the chain indexer would be.
 */
export function devnetOracle(dataDir: string): { account: EthAccount; keyFile: string } {
  const keyFile = join(dataDir, 'keys', 'oracle.key');
  return { account: loadOrCreateKeyFile(keyFile).account, keyFile };
}

/**
 * Addresses of every CRN key the devnet ever made in this data dir (`keys/crn-<n>.key`), including
 * those of CRNs a previous run had and this one has not: their links are the devnet's to undo.
 */
export function devnetCrnOwners(dataDir: string): string[] {
  const dir = join(dataDir, 'keys');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => /^crn-\d+\.key$/.test(name))
    .flatMap((name) => {
      try {
        return [readKeyFile(join(dir, name)).address.toLowerCase()];
      } catch {
        return [];
      }
    });
}
