/**
 * What the operator commands read from a CCN's registry: the node lists, the tag it honours, and
 * what became of an operation (applied, or ignored with the reason the CCN recorded). A command
 * never reports success from the publication alone: the registry may ignore a processed message.
 */
import { getJson, NetworkError, request } from './http.ts';

export interface RegistryCcn {
  hash: string;
  owner: string;
  name: string;
  multiaddress: string;
  status: string;
  resource_nodes: string[];
}

export interface RegistryCrn {
  hash: string;
  owner: string;
  name: string;
  address: string;
  status: string;
  parent: string | null;
}

export interface RegistryView {
  registry_tag?: string;
  nodes: RegistryCcn[];
  resource_nodes: RegistryCrn[];
  resource_node_health?: Record<string, { health: string }>;
}

export const sameAddress = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

export async function readRegistry(ccnUrl: string): Promise<RegistryView> {
  const body = (await getJson(`${ccnUrl}/api/v0/nodes`)) as Partial<RegistryView>;
  if (!Array.isArray(body.nodes) || !Array.isArray(body.resource_nodes)) {
    throw new NetworkError(`${ccnUrl}/api/v0/nodes is not a node registry (is ${ccnUrl} a CCN?)`);
  }
  return body as RegistryView;
}

/** The tag to put on operations: the operator's, else the one the CCN honours, else mainnet's. */
export function tagFor(explicit: string | undefined, registry: RegistryView): string {
  return explicit ?? (registry.registry_tag || 'mainnet');
}

export interface Outcome {
  status: 'applied' | 'ignored' | 'rejected' | 'unknown';
  reason: string | null;
}

/**
 * What the CCN made of an operation. Operations are published with `sync`, so the outcome is
 * normally there at once; a `pending` one is polled for up to `waitMs`.
 */
export async function operationOutcome(ccnUrl: string, hash: string, waitMs = 30_000): Promise<Outcome> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const url = `${ccnUrl}/api/v0/nodes/operations/${hash}`;
    const res = await request(url);
    const body = (await res.json().catch(() => ({}))) as { status?: string; reason?: string };
    const status = body.status;
    if (res.ok && (status === 'applied' || status === 'ignored' || status === 'rejected')) return { status, reason: body.reason ?? null };
    if (Date.now() > deadline) return { status: 'unknown', reason: `the CCN did not record an outcome within ${waitMs / 1000} s (last answer: HTTP ${res.status}${status ? `, ${status}` : ''})` };
    await new Promise((r) => setTimeout(r, 500));
  }
}
