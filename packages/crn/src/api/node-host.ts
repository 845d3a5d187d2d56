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

export function isNodeHost(host: string | undefined, domain: string): boolean {
  if (host === undefined || host === '') return false;
  const name = hostname(host);
  const own = domain.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return name === own || LOOPBACK.has(name);
}
