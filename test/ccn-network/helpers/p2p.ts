/**
 * Several real CCN processes peering on loopback: free ports chosen up front (a bootstrap list
 * names ports, not peer ids), their own data dirs, and the peering view each serves.
 */
import { startCcnProcess, type CcnProcess, type CcnSettings } from '../../ccn/helpers/ccn-process.ts';
import { freePort } from '../../helpers/net.ts';

export interface PeerView {
  peer_id: string;
  connected: boolean;
  score: number | null;
  app_penalty: number;
  banned: boolean;
  verdicts: { accept: number; ignore: number; reject: number; reasons: Record<string, number> } | null;
}

export interface PeersView {
  enabled: boolean;
  peer_id: string;
  listen: string[];
  announce: { p2p: string; http: string };
  connected: PeerView[];
  subscribers: string[];
  known: { peerId?: string; httpUrl?: string; multiaddrs: string[]; sources: string[] }[];
  peers: PeerView[];
  banned: { peer_id: string; until: number }[];
  verdicts: Record<string, { accept: number; ignore: number; reject: number; reasons: Record<string, number> }>;
}

export async function peersOf(ccn: { url: string }): Promise<PeersView> {
  const res = await fetch(`${ccn.url}/api/v0/p2p/peers`, { signal: AbortSignal.timeout(5000) });
  if (res.status !== 200) throw new Error(`${ccn.url}/api/v0/p2p/peers answered ${res.status}`);
  return (await res.json()) as PeersView;
}

export interface NetNode {
  ccn: CcnProcess;
  p2pPort: number;
  settings: CcnSettings;
}

/** Settings that make peering react within seconds in tests (the defaults are minutes). */
export const FAST_PEERING: CcnSettings = { p2pRedialSeconds: 2, p2pAliveIntervalSeconds: 5 };

export const loopbackAddr = (port: number): string => `/ip4/127.0.0.1/tcp/${port}`;

/**
 * Starts `links.length` CCNs; node i dials the nodes listed in `links[i]` (by index), so
 * `[[1], [0, 2], [1]]` is a line A↔B↔C.
 */
export async function startNetwork(links: number[][], settings: (i: number) => CcnSettings = () => ({})): Promise<NetNode[]> {
  const ports: number[] = [];
  for (let i = 0; i < links.length; i++) ports.push(await freePort('127.0.0.1'));
  const nodes: NetNode[] = [];
  try {
    for (let i = 0; i < links.length; i++) {
      const s: CcnSettings = { ...FAST_PEERING, p2pPort: ports[i] as number, p2pBootstrap: (links[i] ?? []).map((j) => loopbackAddr(ports[j] as number)), ...settings(i) };
      nodes.push({ ccn: await startCcnProcess(s), p2pPort: ports[i] as number, settings: s });
    }
  } catch (err) {
    await Promise.all(nodes.map((n) => n.ccn.stop()));
    throw err;
  }
  return nodes;
}

/** True once `a` and `b` are connected and each knows the other is on the message topic. */
export async function meshed(a: { url: string }, b: { url: string }): Promise<boolean> {
  const [va, vb] = await Promise.all([peersOf(a), peersOf(b)]);
  return va.subscribers.includes(vb.peer_id) && vb.subscribers.includes(va.peer_id);
}
