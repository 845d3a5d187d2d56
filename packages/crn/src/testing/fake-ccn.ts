/**
 * A CCN stand-in for the CRN's unit tests: a loopback HTTP server answering the few routes the
 * CRN reads (messages by hash, message status, raw stored files) with messages signed here, so
 * that the real CcnClient verifies them as it would a real CCN's. Integration tests use a real CCN.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildInlineMessage, EthAccount, sha256Hex, type AlephMessage } from '@aleph-nodes/protocol';
import { makeZip } from './zip.ts';

export interface FakeProgram {
  variables?: Record<string, string>;
  persistent?: boolean;
  memory?: number;
  vcpus?: number;
  /** Who signs it (default: the FakeCcn's owner). */
  owner?: EthAccount;
}

export class FakeCcn {
  readonly #messages = new Map<string, AlephMessage>();
  readonly #statuses = new Map<string, string>();
  readonly #files = new Map<string, Uint8Array>();
  readonly #server: Server;
  #runtime: string | undefined;
  url = '';

  constructor(readonly owner: EthAccount = EthAccount.generate()) {
    this.#server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://ccn');
      const json = (status: number, body: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (url.pathname === '/api/v0/messages.json') {
        const hash = url.searchParams.get('hashes');
        const message = hash ? this.#messages.get(hash) : undefined;
        return json(200, { messages: message ? [message] : [] });
      }
      const status = /^\/api\/v0\/messages\/([0-9a-f]{64})\/status$/.exec(url.pathname);
      if (status) {
        const hash = status[1] as string;
        return this.#messages.has(hash) ? json(200, { status: this.#statuses.get(hash) ?? 'processed' }) : json(404, { error: 'not found' });
      }
      const raw = /^\/api\/v0\/storage\/raw\/([0-9a-f]{64})$/.exec(url.pathname);
      const file = raw ? this.#files.get(raw[1] as string) : undefined;
      if (file) {
        res.writeHead(200, { 'content-length': String(file.length) });
        return res.end(file);
      }
      json(404, { error: 'not found' });
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }

  /** A signed message of the owner, served from now on. */
  publish(type: AlephMessage['type'], content: Record<string, unknown>, signer: EthAccount = this.owner): AlephMessage {
    const message = buildInlineMessage(signer, type, content, { channel: 'TEST' });
    this.#messages.set(message.item_hash, message);
    return message;
  }

  /** A STORE message of `bytes` (storage engine); its item hash. */
  store(bytes: Uint8Array): string {
    const hash = sha256Hex(bytes);
    this.#files.set(hash, bytes);
    return this.publish('STORE', { item_type: 'storage', item_hash: hash }).item_hash;
  }

  /** A PROGRAM running `source` as `main.mjs` (a zip); its item hash. */
  program(source: string, opts: FakeProgram = {}): string {
    this.#runtime ??= this.store(new TextEncoder().encode('runtime stand-in'));
    const code = this.store(makeZip([{ name: 'main.mjs', data: source }]));
    return this.publish('PROGRAM', {
      type: 'vm-function',
      allow_amend: false,
      code: { encoding: 'zip', entrypoint: 'main.mjs', ref: code },
      runtime: { ref: this.#runtime, comment: 'runtime' },
      on: { http: true, persistent: opts.persistent ?? false },
      variables: opts.variables ?? {},
      resources: { vcpus: opts.vcpus ?? 1, memory: opts.memory ?? 128, seconds: 30 },
      volumes: [],
    }, opts.owner).item_hash;
  }

  /** What the status route answers for `hash` from now on (`forgotten`, `removed`...). */
  setStatus(hash: string, status: string): void {
    this.#statuses.set(hash, status);
  }
}
