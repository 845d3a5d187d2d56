/** `ccn link CRN_HASH`: the CCN owner links a registered resource node to its CCN. */
import { readKeyFile } from '@aleph-nodes/service';
import { linkResourceNode } from '../common/registry-operations.ts';
import { EXIT } from '../common/exit-codes.ts';
import { printJson } from '../common/output.ts';

export async function runLink(opts: { crnHash: string; ccn: string; keyFile: string; tag: string; json: boolean }): Promise<number> {
  if (!/^[0-9a-f]{64}$/.test(opts.crnHash)) {
    process.stderr.write(`ccn link: ${opts.crnHash} is not a node hash (64 lowercase hex characters)\n`);
    return EXIT.USAGE;
  }
  const owner = readKeyFile(opts.keyFile);
  const operation = await linkResourceNode(opts.ccn, owner, opts.tag, opts.crnHash);
  // The registry applies operations in order and may refuse this one (e.g. a fourth link):
  // read back the resulting registry entry and say what happened.
  const res = await fetch(`${opts.ccn.replace(/\/+$/, '')}/api/v0/nodes`);
  const nodes = res.ok ? ((await res.json()) as { resource_nodes?: { hash: string; status: string; parent: string | null }[] }) : undefined;
  const crn = nodes?.resource_nodes?.find((n) => n.hash === opts.crnHash);
  const linked = crn?.status === 'linked';
  const reason = linked ? null : await refusalReason(opts.ccn, operation);
  if (opts.json) printJson({ operation, crn: opts.crnHash, linked, parent: crn?.parent ?? null, ...(linked ? {} : { reason }) });
  else process.stdout.write(linked ? `linked ${opts.crnHash} (operation ${operation})\n` : `the registry refused the link (${operation}): ${reason ?? 'no reason recorded'}\n`);
  return linked ? EXIT.OK : EXIT.FAILURE;
}

/** Why the registry did not apply an operation, as the CCN records it. */
async function refusalReason(ccn: string, operation: string): Promise<string | null> {
  const res = await fetch(`${ccn.replace(/\/+$/, '')}/api/v0/nodes/operations/${operation}`).catch(() => undefined);
  if (!res?.ok) return null;
  const body = (await res.json()) as { status?: string; reason?: string };
  return body.reason ?? (body.status ? `operation ${body.status}` : null);
}
