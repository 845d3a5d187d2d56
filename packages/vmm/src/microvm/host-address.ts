/**
 * The host's external IPv4 address: the one on the interface of its default route. Forwarded
 * ports of instances answer there (ExecutionNetwork.hostIpv4).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { toolPath } from './tool-paths.ts';

const run = promisify(execFile);

/** Picks the address from `ip -j -4 route show default` and `ip -j -4 addr show` output (pure). */
export function pickHostIpv4(routesJson: string, addrsJson: string): string | null {
  const routes = JSON.parse(routesJson || '[]') as Array<{ dst?: string; dev?: string; prefsrc?: string; metric?: number }>;
  const route = routes.filter((r) => r.dst === 'default' && r.dev).sort((a, b) => (a.metric ?? 0) - (b.metric ?? 0))[0];
  if (!route) return null;
  if (route.prefsrc) return route.prefsrc;
  const links = JSON.parse(addrsJson || '[]') as Array<{ ifname?: string; addr_info?: Array<{ family?: string; local?: string; scope?: string }> }>;
  const link = links.find((l) => l.ifname === route.dev);
  return link?.addr_info?.find((a) => a.family === 'inet' && a.scope === 'global' && a.local)?.local ?? null;
}

/** The host's IPv4 on its default-route interface, or null when there is none. */
export async function hostIpv4(ipPath = 'ip'): Promise<string | null> {
  try {
    const ip = toolPath(ipPath, 'iproute2');
    const routes = (await run(ip, ['-j', '-4', 'route', 'show', 'default'], { env: {} })).stdout;
    const addrs = (await run(ip, ['-j', '-4', 'addr', 'show'], { env: {} })).stdout;
    return pickHostIpv4(routes, addrs);
  } catch {
    return null;
  }
}
