/**
 * `ccn link CRN_HASH`: the CCN owner links a registered resource node to its CCN. The registry
 * applies operations in order and may ignore this one (a fourth link, a wrong tag, a CRN linked
 * elsewhere): the outcome the CCN recorded is read back, and an ignored link exits 1 with its
 * reason. A CRN already linked to this owner's CCN is reported as such and nothing is published.
 */
import { readKeyFile } from '@aleph-nodes/service';
import { linkResourceNode } from '../common/registry-operations.ts';
import { operationOutcome, readRegistry, sameAddress, tagFor } from '../common/registry-client.ts';
import { EXIT } from '../common/exit-codes.ts';
import { printJson } from '../common/output.ts';

export async function runLink(opts: { crnHash: string; ccn: string; keyFile: string; tag?: string | undefined; json: boolean }): Promise<number> {
  if (!/^[0-9a-f]{64}$/.test(opts.crnHash)) {
    process.stderr.write(`ccn link: ${opts.crnHash} is not a node hash (64 lowercase hex characters)\n`);
    return EXIT.USAGE;
  }
  const ccn = opts.ccn.replace(/\/+$/, '');
  const owner = readKeyFile(opts.keyFile);
  const before = await readRegistry(ccn);
  const mine = before.nodes.find((n) => sameAddress(n.owner, owner.address));
  const crnBefore = before.resource_nodes.find((n) => n.hash === opts.crnHash);
  if (mine && crnBefore?.status === 'linked' && crnBefore.parent === mine.hash) {
    if (opts.json) printJson({ operation: null, crn: opts.crnHash, linked: true, parent: mine.hash, created: false });
    else process.stdout.write(`${opts.crnHash} is already linked to CCN ${mine.hash}; nothing published\n`);
    return EXIT.OK;
  }
  const operation = await linkResourceNode(ccn, owner, tagFor(opts.tag, before), opts.crnHash);
  const outcome = await operationOutcome(ccn, operation);
  const linked = outcome.status === 'applied';
  const reason = linked ? null : (outcome.reason ?? `operation ${outcome.status}`);
  const after = linked ? (await readRegistry(ccn)).resource_nodes.find((n) => n.hash === opts.crnHash) : undefined;
  if (opts.json) printJson({ operation, crn: opts.crnHash, linked, parent: after?.parent ?? null, created: linked, ...(linked ? {} : { reason }) });
  if (linked) {
    if (!opts.json) process.stdout.write(`linked ${opts.crnHash} to CCN ${after?.parent ?? '?'} (operation ${operation})\n`);
    return EXIT.OK;
  }
  process.stderr.write(`ccn link: ${ccn} ${outcome.status === 'rejected' ? 'rejected' : 'ignored'} the link ${operation}: ${reason}\n`);
  return EXIT.FAILURE;
}
