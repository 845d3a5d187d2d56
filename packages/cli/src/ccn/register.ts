/**
 * `ccn register`: publishes this CCN's `create-node` operation (signed with the node key, or the
 * owner's key), reads back what the registry made of it, and writes the node hash into the config
 * file. Running it again finds the node (by the hash in the config, else by its owner: an address
 * owns at most one CCN) and publishes nothing.
 */
import { readKeyFile } from '@aleph-nodes/service';
import { setConfigValue } from '../common/config-file.ts';
import { EXIT } from '../common/exit-codes.ts';
import { printJson } from '../common/output.ts';
import { operationOutcome, readRegistry, sameAddress, tagFor } from '../common/registry-client.ts';
import { createCoreNode } from '../common/registry-operations.ts';

export interface CcnRegisterOptions {
  ccn: string;
  keyFile: string;
  name: string;
  multiaddress: string;
  tag?: string | undefined;
  json: boolean;
  /** Where the node hash is written (undefined: the settings came from the environment only). */
  configFile?: string | undefined;
  nodeHash: string;
}

/** A hint after a refusal whose cause an operator of a development network commonly meets. */
function hintFor(reason: string): string {
  if (/holds less than/.test(reason)) {
    return '\n  the owner needs this ALEPH balance as the CCN\'s balance oracle (balanceIndexers) reports it; on a development network, set ccnOwnerMinBalance to 0 (`ccn init --network devnet`) or give the owner a balance with `ccn oracle balance`';
  }
  if (/not tagged/.test(reason)) return '\n  pass the --tag the CCN honours (its registryTag), or leave --tag out to use it';
  return '';
}

export async function runCcnRegister(opts: CcnRegisterOptions): Promise<number> {
  const owner = readKeyFile(opts.keyFile);
  const registry = await readRegistry(opts.ccn);
  const existing =
    (opts.nodeHash ? registry.nodes.find((n) => n.hash === opts.nodeHash) : undefined) ?? registry.nodes.find((n) => sameAddress(n.owner, owner.address));
  let hash: string;
  if (existing) {
    hash = existing.hash;
  } else {
    const op = await createCoreNode(opts.ccn, owner, tagFor(opts.tag, registry), { name: opts.name, multiaddress: opts.multiaddress });
    const outcome = await operationOutcome(opts.ccn, op);
    if (outcome.status !== 'applied') {
      const reason = outcome.reason ?? `operation ${outcome.status}`;
      if (opts.json) printJson({ hash: null, operation: op, registered: false, reason });
      process.stderr.write(`ccn register: ${opts.ccn} ${outcome.status === 'rejected' ? 'rejected' : 'ignored'} create-node ${op}: ${reason}${hintFor(reason)}\n`);
      return EXIT.FAILURE;
    }
    hash = op;
  }
  if (opts.configFile) setConfigValue(opts.configFile, 'nodeHash', hash);
  const created = existing === undefined;
  if (opts.json) printJson({ hash, owner: owner.address, registered: true, created, status: existing?.status ?? 'waiting', configFile: opts.configFile ?? null });
  else {
    process.stdout.write(created ? `registered as core channel node ${hash} (owner ${owner.address})\n` : `already registered as core channel node ${hash} (${existing?.status}); nothing published\n`);
    process.stdout.write(opts.configFile ? `node hash written to ${opts.configFile} (nodeHash)\n` : `set nodeHash=${hash} in the node's settings\n`);
    process.stdout.write(`next: link CRNs with  ccn link <crn-hash> --ccn ${opts.ccn} --key-file ${opts.keyFile}\n`);
  }
  return EXIT.OK;
}
