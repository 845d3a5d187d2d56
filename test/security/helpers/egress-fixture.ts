/**
 * A stand-in for "the rest of the network" that a workload with `internet` could reach: a
 * network namespace holding one public address and addresses in the ranges the egress policy
 * forbids (RFC 1918, CGNAT, the cloud metadata address), each serving a TCP banner. It is joined
 * to the host by a veth, and only traffic arriving from the interfaces passed to `routeFrom` is
 * routed to it (a policy rule and a routing table of its own), so the host's own traffic and
 * other tests on this machine are not affected.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';

const IP = '/usr/bin/ip';
const NSENTER = '/usr/bin/nsenter';

export interface EgressFixture {
  tag: string;
  port: number;
  /** Address → whether the policy allows it. */
  destinations: { address: string; allowed: boolean; what: string }[];
  /** Routes packets arriving on `ifname` to the fixture (policy routing). */
  routeFrom(ifname: string): void;
  close(): Promise<void>;
}

const ip = (...args: string[]): string => execFileSync(IP, args, { encoding: 'utf8' });

const BANNER_SERVER = `
const net = require('node:net');
const server = net.createServer((s) => { s.end('reached ' + s.localAddress + '\\n'); });
server.listen(Number(process.argv[1]), '0.0.0.0', () => console.log('ready'));
`;

export async function createEgressFixture(tag: string): Promise<EgressFixture> {
  const ns = `zeg-${tag}`;
  const hostIf = `zeg${tag}h`;
  const table = String(randomInt(20_000, 30_000));
  const octet = randomInt(2, 250);
  const transit = `10.254.${octet}`;
  const destinations = [
    { address: `11.${randomInt(1, 250)}.${randomInt(1, 250)}.${octet}`, allowed: true, what: 'public unicast (11/8)' },
    { address: `10.99.${randomInt(1, 250)}.${octet}`, allowed: false, what: 'RFC 1918 10/8' },
    { address: `172.31.${randomInt(1, 250)}.${octet}`, allowed: false, what: 'RFC 1918 172.16/12' },
    { address: `192.168.${randomInt(1, 250)}.${octet}`, allowed: false, what: 'RFC 1918 192.168/16' },
    { address: '169.254.169.254', allowed: false, what: 'cloud metadata (link-local)' },
    { address: `100.64.${randomInt(1, 250)}.${octet}`, allowed: false, what: 'CGNAT' },
  ];
  const port = randomInt(20_000, 40_000);
  const sources: string[] = [];
  let server: ChildProcess | undefined;
  const close = async (): Promise<void> => {
    for (const src of sources) {
      try {
        ip('rule', 'del', 'iif', src, 'lookup', table);
      } catch {
        // gone with its interface
      }
    }
    try {
      ip('route', 'flush', 'table', table);
    } catch {
      // empty
    }
    if (server && server.exitCode === null) {
      server.kill('SIGKILL');
      await new Promise((r) => server?.once('exit', r));
    }
    try {
      ip('link', 'del', hostIf);
    } catch {
      // gone
    }
    try {
      ip('netns', 'del', ns);
    } catch {
      // gone
    }
  };
  try {
    ip('netns', 'add', ns);
    ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
    ip('addr', 'add', `${transit}.1/30`, 'dev', hostIf);
    ip('link', 'set', hostIf, 'up');
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    ip('-n', ns, 'addr', 'add', `${transit}.2/30`, 'dev', 'eth0');
    ip('-n', ns, 'link', 'set', 'eth0', 'up');
    ip('-n', ns, 'route', 'add', 'default', 'via', `${transit}.1`);
    for (const d of destinations) {
      ip('-n', ns, 'addr', 'add', `${d.address}/32`, 'dev', 'lo');
      ip('route', 'add', `${d.address}/32`, 'via', `${transit}.2`, 'dev', hostIf, 'table', table);
    }
    server = spawn(NSENTER, [`--net=/run/netns/${ns}`, '--', process.execPath, '-e', BANNER_SERVER, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      server?.stdout?.on('data', (c: Buffer) => {
        if (c.toString().includes('ready')) resolve();
      });
      server?.once('exit', (code) => reject(new Error(`the fixture server exited (${code})`)));
    });
  } catch (err) {
    await close();
    throw err;
  }
  return {
    tag,
    port,
    destinations,
    routeFrom(ifname: string): void {
      ip('rule', 'add', 'iif', ifname, 'lookup', table, 'priority', String(randomInt(5000, 9000)));
      sources.push(ifname);
    },
    close,
  };
}
