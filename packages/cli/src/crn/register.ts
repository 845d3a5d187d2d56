/**
 * `crn register`: publishes this node's `create-resource-node` operation to its CCN, signed with
 * the node key (or an operator key), reads back what the registry made of it, and writes the
 * node hash into the config file. Running it again finds the node already registered (by the
 * hash in the config, else by owner and address) and publishes nothing.
 */
import { readKeyFile } from '@aleph-nodes/service';
import { setConfigValue } from '../common/config-file.ts';
import { createResourceNode } from '../common/registry-operations.ts';
import { operationOutcome, readRegistry, sameAddress, tagFor } from '../common/registry-client.ts';
import { EXIT } from '../common/exit-codes.ts';
import { printJson } from '../common/output.ts';

export interface RegisterOptions {
  ccn: string;
  keyFile: string;
  name: string;
  /** Public URL of this node, https://<domain> in production. */
  address: string;
  /** Registry tag; default: the one the CCN honours. */
  tag?: string | undefined;
  json: boolean;
  /** The config file the node hash is written to. */
  configFile: string;
  /** The node hash the config already has ('' when none). */
  nodeHash: string;
}

export async function runRegister(opts: RegisterOptions): Promise<number> {
  let url: URL;
  try {
    url = new URL(opts.address);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('not http(s)');
  } catch {
    process.stderr.write(`crn register: the node address must be an http(s) URL, got ${opts.address}\n`);
    return EXIT.USAGE;
  }
  const owner = readKeyFile(opts.keyFile);
  const registry = await readRegistry(opts.ccn);
  const existing =
    (opts.nodeHash ? registry.resource_nodes.find((n) => n.hash === opts.nodeHash) : undefined) ??
    registry.resource_nodes.find((n) => sameAddress(n.owner, owner.address) && n.address === url.origin);
  let hash: string;
  let created = false;
  if (existing) {
    hash = existing.hash;
  } else {
    const op = await createResourceNode(opts.ccn, owner, tagFor(opts.tag, registry), { name: opts.name, address: url.origin });
    const outcome = await operationOutcome(opts.ccn, op);
    if (outcome.status !== 'applied') {
      const reason = outcome.reason ?? `operation ${outcome.status}`;
      if (opts.json) printJson({ hash: null, operation: op, registered: false, reason });
      process.stderr.write(`crn register: ${opts.ccn} ${outcome.status === 'rejected' ? 'rejected' : 'ignored'} create-resource-node ${op}: ${reason}\n`);
      return EXIT.FAILURE;
    }
    hash = op;
    created = true;
  }
  setConfigValue(opts.configFile, 'nodeHash', hash);
  const status = existing?.status ?? 'waiting';
  if (opts.json) printJson({ hash, owner: owner.address, address: url.origin, registered: true, created, status, configFile: opts.configFile });
  else {
    process.stdout.write(created ? `registered as resource node ${hash} (owner ${owner.address})\n` : `already registered as resource node ${hash} (${status}); nothing published\n`);
    process.stdout.write(`node hash written to ${opts.configFile} (nodeHash); restart the node if it runs\n`);
    if (status !== 'linked') process.stdout.write(`the owner of the CCN must now link it:\n  ccn link ${hash} --ccn ${opts.ccn} --key-file <CCN owner key>\n`);
  }
  return EXIT.OK;
}
