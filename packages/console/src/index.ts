/**
 * The built console (web/ → dist/ by `npm run build:console`), loaded into memory once at node
 * start and served from that map: a request path is only ever a key looked up in it, never joined
 * to a directory, so no request can reach a file outside the bundle (no traversal, no symlink).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type ConsolePage = 'ccn' | 'crn';

export interface ConsoleAsset {
  body: Buffer;
  type: string;
  /** Vite names assets by content hash: they never change under one name. */
  immutable: boolean;
}

export interface ConsoleBundle {
  /** False when the console was not built (the node still runs; `/console/` says how to build it). */
  built: boolean;
  files: ReadonlyMap<string, ConsoleAsset>;
}

/** Where `vite build` writes (packages/console/dist). */
export const CONSOLE_DIST = fileURLToPath(new URL('../dist/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json; charset=utf-8',
  '.ico': 'image/x-icon',
  '.png': 'image/png',
};

/** Bounds on what is held in memory: the bundle is a few files of tens of kB. */
const MAX_FILES = 200;
const MAX_BYTES = 16 * 1024 * 1024;

export function loadConsole(dir: string = CONSOLE_DIST): ConsoleBundle {
  const files = new Map<string, ConsoleAsset>();
  if (!existsSync(join(dir, 'ccn.html'))) return { built: false, files };
  let total = 0;
  const walk = (sub: string, depth: number): void => {
    for (const name of readdirSync(join(dir, sub))) {
      const rel = sub === '' ? name : `${sub}/${name}`;
      const stat = statSync(join(dir, rel));
      if (stat.isDirectory()) {
        if (depth < 2) walk(rel, depth + 1);
        continue;
      }
      const type = TYPES[extname(name)];
      if (!stat.isFile() || type === undefined || files.size >= MAX_FILES || total + stat.size > MAX_BYTES) continue;
      total += stat.size;
      files.set(rel, { body: readFileSync(join(dir, rel)), type, immutable: rel.startsWith('assets/') });
    }
  };
  walk('', 0);
  return { built: true, files };
}

export interface ConsoleAnswer {
  status: number;
  type: string;
  body: Buffer | string;
  headers: Record<string, string>;
}

/**
 * The security headers of every console answer: scripts and styles only from this node (the
 * bundle has no inline script), API calls and the websocket only to this node, never framed.
 */
export const CONSOLE_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

/**
 * The answer for a path under `/console/` (`rest` is what follows it, without query): `''` is the
 * node's page, `docs` the API documentation page, `assets/<name>` a built asset.
 */
export function consoleAnswer(bundle: ConsoleBundle, page: ConsolePage, rest: string): ConsoleAnswer {
  if (!bundle.built) {
    return {
      status: 503,
      type: 'application/json; charset=utf-8',
      body: JSON.stringify({ error: { code: 'CONSOLE_NOT_BUILT', message: 'the console is not built: run `npm run build:console` in the node software directory' } }),
      headers: {},
    };
  }
  const key = rest === '' || rest === 'index.html' ? `${page}.html` : rest === 'docs' ? 'docs.html' : rest.startsWith('assets/') ? rest : undefined;
  const asset = key === undefined ? undefined : bundle.files.get(key);
  if (!asset) {
    return { status: 404, type: 'application/json; charset=utf-8', body: JSON.stringify({ error: { code: 'NOT_FOUND', message: `no console file /console/${rest.slice(0, 100)}` } }), headers: {} };
  }
  return {
    status: 200,
    type: asset.type,
    body: asset.body,
    headers: { ...CONSOLE_HEADERS, 'cache-control': asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache' },
  };
}
