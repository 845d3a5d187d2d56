/**
 * The IPv6 stand-in for "the rest of the network" (this machine has no IPv6 internet): a network
 * namespace joined to the host by a veth whose subnet is public-looking (so it is one of the
 * host's attached subnets, its LAN), holding a public unicast address and a unique local (ULA)
 * one, each serving a TCP banner on `port`. Only packets arriving from the interfaces passed to
 * `routeFrom` are routed to it (an IPv6 policy rule and a table of its own); the namespace routes
 * everything back through the host, so replies to a VM's routed /124 find their way.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';

const IP = '/usr/bin/ip';
const NSENTER = '/usr/bin/nsenter';

export interface Egress6Fixture {
  port: number;
  /** A public unicast address (must be reachable from a VM with internet). */
  publicAddress: string;
  /** A unique local address (fc00::/7: refused by the egress policy). */
  ulaAddress: string;
  /** The namespace's own address on the host's attached subnet (the host's LAN: refused). */
  lanAddress: string;
  routeFrom(ifname: string): void;
  /** Sources of the UDP datagrams that reached the namespace so far (`<address> <text>`). */
  datagrams(): string[];
  close(): Promise<void>;
}

const ip = (...args: string[]): string => execFileSync(IP, args, { encoding: 'utf8' });

const BANNER_SERVER = `
const net = require('node:net');
const dgram = require('node:dgram');
const server = net.createServer((s) => { s.end('reached ' + s.localAddress + ' from ' + s.remoteAddress + '\\n'); });
const udp = dgram.createSocket({ type: 'udp6', ipv6Only: true });
udp.on('message', (msg, from) => console.log('udp ' + from.address + ' ' + msg.toString().slice(0, 64)));
udp.bind(Number(process.argv[1]), '::', () => server.listen({ port: Number(process.argv[1]), host: '::', ipv6Only: true }, () => console.log('ready')));
`;

export async function createEgress6Fixture(tag: string): Promise<Egress6Fixture> {
  const ns = `zeg6-${tag}`;
  const hostIf = `zeg6${tag}h`;
  const table = String(randomInt(30_000, 40_000));
  const word = randomInt(0x1000, 0xffff).toString(16);
  // 2a0c:…/32 ranges are public unicast (RIPE); nothing on this machine routes them otherwise.
  const transit = `2a0c:${word}:6::`;
  const publicAddress = `2a0c:${word}:7::10`;
  const ulaAddress = `fd6e:${word}::10`;
  const lanAddress = `${transit}2`;
  const port = randomInt(20_000, 40_000);
  const sources: string[] = [];
  const datagrams: string[] = [];
  let server: ChildProcess | undefined;
  const quiet = (fn: () => void): void => {
    try {
      fn();
    } catch {
      // gone already
    }
  };
  const close = async (): Promise<void> => {
    for (const src of sources) quiet(() => ip('-6', 'rule', 'del', 'iif', src, 'lookup', table));
    quiet(() => ip('-6', 'route', 'flush', 'table', table));
    if (server && server.exitCode === null) {
      server.kill('SIGKILL');
      await new Promise((r) => server?.once('exit', r));
    }
    quiet(() => ip('link', 'del', hostIf));
    quiet(() => ip('netns', 'del', ns));
  };
  try {
    ip('netns', 'add', ns);
    ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
    ip('-6', 'addr', 'add', `${transit}1/64`, 'dev', hostIf, 'nodad');
    ip('link', 'set', hostIf, 'up');
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    ip('-n', ns, '-6', 'addr', 'add', `${lanAddress}/64`, 'dev', 'eth0', 'nodad');
    ip('-n', ns, 'link', 'set', 'eth0', 'up');
    ip('-n', ns, '-6', 'route', 'add', 'default', 'via', `${transit}1`);
    for (const address of [publicAddress, ulaAddress]) {
      ip('-n', ns, '-6', 'addr', 'add', `${address}/128`, 'dev', 'lo', 'nodad');
      ip('-6', 'route', 'add', `${address}/128`, 'via', lanAddress, 'dev', hostIf, 'table', table);
    }
    server = spawn(NSENTER, [`--net=/run/netns/${ns}`, '--', process.execPath, '-e', BANNER_SERVER, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      server?.stdout?.on('data', (c: Buffer) => {
        for (const line of c.toString().split('\n')) {
          if (line === 'ready') resolve();
          else if (line.startsWith('udp ')) datagrams.push(line.slice(4));
        }
      });
      server?.once('exit', (code) => reject(new Error(`the fixture server exited (${code})`)));
    });
  } catch (err) {
    await close();
    throw err;
  }
  return {
    port,
    publicAddress,
    ulaAddress,
    lanAddress,
    routeFrom(ifname: string): void {
      ip('-6', 'rule', 'add', 'iif', ifname, 'lookup', table, 'priority', String(randomInt(5000, 9000)));
      sources.push(ifname);
    },
    datagrams: () => [...datagrams],
    close,
  };
}
