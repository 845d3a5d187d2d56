/** The address a local command uses to reach a node that listens on `host`. */
export function localHost(host: string): string {
  if (host === '' || host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

export function localUrl(host: string, port: number): string {
  return `http://${localHost(host)}:${port}`;
}
