/**
 * nginx as the warm path's reference proxy: the Debian package's binary, run by the bench with its
 * own prefix directory, configuration and loopback port (never the system service), `proxy_pass`
 * to the same app the CRN proxies to. One worker process, as the CRN is one event loop; request
 * and response bodies streamed (no buffering to temp files), as the CRN streams them; keep-alive
 * connections to the app, as the CRN's shared agent keeps them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, chmodSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const NGINX_BIN = '/usr/sbin/nginx';

export interface RunningNginx {
  /** `http://127.0.0.1:<port>`: every path is passed to the upstream as is. */
  url: string;
  stop(): Promise<void>;
}

/** Why nginx cannot run here, or undefined when it can. */
export function nginxUnavailable(): string | undefined {
  try {
    accessSync(NGINX_BIN, constants.X_OK);
  } catch {
    return `${NGINX_BIN} is not installed (Debian package nginx; scripts/setup-debian.sh installs it for the dev role)`;
  }
  if (process.getuid?.() !== 0) return 'nginx is run as root with its own prefix (-p); the bench is not root';
  return undefined;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function config(prefix: string, port: number, upstream: string): string {
  const temp = (name: string): string => `${join(prefix, name)}`;
  return `daemon off;
worker_processes 1;
pid ${join(prefix, 'nginx.pid')};
error_log ${join(prefix, 'error.log')} warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${temp('client_body')};
  proxy_temp_path ${temp('proxy')};
  fastcgi_temp_path ${temp('fastcgi')};
  uwsgi_temp_path ${temp('uwsgi')};
  scgi_temp_path ${temp('scgi')};
  upstream app { server ${upstream}; keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    client_max_body_size 2m;
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_request_buffering off;
      proxy_buffering off;
    }
  }
}
`;
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Starts nginx in front of `upstream` (`host:port`) and waits until it answers. */
export async function startNginx(upstream: string): Promise<RunningNginx> {
  const prefix = mkdtempSync(join(tmpdir(), 'bench-nginx-'));
  // Workers run as nginx's default unprivileged user: they must reach the temp paths inside.
  chmodSync(prefix, 0o755);
  const port = await freePort();
  const conf = join(prefix, 'nginx.conf');
  writeFileSync(conf, config(prefix, port, upstream));
  let stderr = '';
  const child = spawn(NGINX_BIN, ['-p', `${prefix}/`, '-c', conf, '-e', join(prefix, 'error.log')], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr?.on('data', (d: Buffer) => {
    if (stderr.length < 4096) stderr += d.toString();
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited(child);
      clearTimeout(timer);
    }
    rmSync(prefix, { recursive: true, force: true });
  };
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      let log = '';
      try {
        log = readFileSync(join(prefix, 'error.log'), 'utf8');
      } catch {
        // no log written
      }
      await stop();
      throw new Error(`nginx exited at start: ${(stderr || log).trim().slice(-400)}`);
    }
    try {
      // Any HTTP answer means nginx listens (the app's own answer to GET / does not matter).
      await fetch(`${url}/`, { signal: AbortSignal.timeout(1000) });
      return { url, stop };
    } catch {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`nginx did not answer on ${url} within 10 s`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
