/**
 * What a refused message's verdict was judged on (order independence, convergence.ts): the
 * messages it names, the `security` aggregates of its owner and of its targets' owners, a
 * FORGET's aggregate keys. When one of them changes (processed, refused, forgotten, evaluated
 * again), the refused message is evaluated again, so that its final verdict and error do not
 * depend on which of them this node had seen when it was refused.
 */
import type { AlephMessage, ForgetContent, PostContent } from '@aleph-nodes/protocol';
import type { Repos } from '../stores.ts';
import { executableRefs } from './handlers/executable.ts';
import { postRefHash } from './handlers/post.ts';
import { aggregateTarget, securityTarget } from './order.ts';
import { storeRefTarget } from './permissions.ts';

/** The key that changes when an executable using `store` changes (processed, forgotten, retracted). */
export function usersKey(store: string): string {
  return `users:${store}`;
}

export async function watchKeys(repos: Repos, message: AlephMessage, content: Record<string, unknown>): Promise<string[]> {
  const keys = new Set<string>();
  const address = typeof content.address === 'string' ? content.address : undefined;
  if (address) keys.add(securityTarget(address));
  const hashes: string[] = [];
  if (message.type === 'POST' && content.type === 'amend') {
    const ref = postRefHash(content.ref as PostContent['ref']);
    if (ref) hashes.push(ref);
  } else if (message.type === 'STORE' && typeof content.ref === 'string') {
    const ref = storeRefTarget(content.ref);
    if (ref) hashes.push(ref);
  } else if (message.type === 'PROGRAM' || message.type === 'INSTANCE') {
    hashes.push(...executableRefs(message.type, content).map((r) => r.ref));
    if (typeof content.replaces === 'string') hashes.push(content.replaces);
  } else if (message.type === 'FORGET') {
    const forget = content as unknown as ForgetContent;
    hashes.push(...forget.hashes);
    // A 503 names the first executable using a STORE: any change among them is watched.
    for (const hash of forget.hashes) keys.add(usersKey(hash));
    if (address) for (const key of forget.aggregates) keys.add(aggregateTarget(address, key));
  }
  for (const hash of hashes) {
    keys.add(hash);
    const target = await repos.messages.get(hash);
    if (target?.owner_lc) keys.add(securityTarget(target.owner_lc));
  }
  return [...keys];
}
