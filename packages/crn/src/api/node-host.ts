/**
 * Whether a request's Host is the node itself: its DOMAIN_NAME, or a loopback name (the operator
 * on the host; a loopback name is never a program's origin, which needs a base32 label). Operator
 * pages answer only there, never on a program's host `<label>.<domain>` or any other name.
 */
const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1']);

function hostname(host: string): string {
  const h = host.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(1, h.indexOf(']') < 0 ? undefined : h.indexOf(']'));
  const colon = h.indexOf(':');
  // One colon: name:port. More: a bare IPv6 address (not valid in Host, but not a program host either).
  return colon >= 0 && h.indexOf(':', colon + 1) < 0 ? h.slice(0, colon) : h;
}

/** The node's own name from DOMAIN_NAME: lower case, an IPv6 address without its brackets. */
function ownName(domain: string): string {
  return domain.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
}

export function isNodeHost(host: string | undefined, domain: string): boolean {
  if (host === undefined || host === '') return false;
  const name = hostname(host);
  return name === ownName(domain) || LOOPBACK.has(name);
}

/**
 * The same rule as a Fastify route constraint (find-my-way matches Host against a RegExp): the
 * node's own names, any port. A request for another host falls through to host routing (a
 * program's own `/console/...` or `/openapi.json`). Built from the names isNodeHost accepts so
 * the two cannot drift apart; an IPv6 name matches in its bracketed Host form.
 */
export function nodeHostConstraint(domain: string): { host: RegExp } {
  const names = [ownName(domain), ...LOOPBACK].map((n) => {
    const escaped = n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    return n.includes(':') ? `\\[${escaped}\\]` : escaped;
  });
  return { host: new RegExp(`^(?:${names.join('|')})(?::\\d+)?$`, 'i') };
}

/**
 * The base URL at which this node reaches its own HTTP server (its `/status/check/*` call the
 * diagnostic program through its own `/vm/{hash}` route): the address the server listens on, or
 * loopback when it listens on every address. Not always 127.0.0.1: a node bound to one address
 * (127.0.0.2 on a devnet, a public address in production) does not answer on loopback.
 */
export function selfUrl(address: { address: string; family: string; port: number } | string | null): string {
  if (!address || typeof address === 'string') throw new Error('the HTTP server is not listening on a TCP port');
  const ipv6 = address.family === 'IPv6' || address.address.includes(':');
  const host = address.address === '0.0.0.0' ? '127.0.0.1' : address.address === '::' ? '[::1]' : ipv6 ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}
