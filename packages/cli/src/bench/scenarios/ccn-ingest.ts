/**
 * CCN ingest: signed messages accepted per second (format, hash, schema and signature checks,
 * durable queueing) against the limit measured in the same run: bare signature recoveries per
 * second with libsecp256k1 (the native library pyaleph verifies with), over the same messages.
 * On SQLite and, when reachable, on PostgreSQL.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildInlineMessage, EthAccount, NATIVE_RECOVERER, NOBLE_RECOVERER, recoverPersonalAddressWith, verificationBuffer, type AlephMessage } from '@aleph-nodes/protocol';
import { Pool } from 'undici';
import { startChildNode } from '../../common/child-node.ts';
import type { Figure } from '../report.ts';
import { nowMs } from '../stats.ts';
import type { BenchContext } from './context.ts';

function buildMessages(count: number): AlephMessage[] {
  const account = EthAccount.generate();
  const base = Math.floor(Date.now() / 1000);
  return Array.from({ length: count }, (_, i) =>
    buildInlineMessage(account, 'POST', { type: 'bench', content: { i, pad: 'x'.repeat(64) } }, { channel: 'BENCH', time: base + i / 1000 }),
  );
}

/** Signer recoveries per second (digest, recovery, address) over the messages, for at least half a second. */
function recoveriesPerSecond(messages: readonly AlephMessage[]): number {
  const recoverer = NATIVE_RECOVERER ?? NOBLE_RECOVERER;
  const encoder = new TextEncoder();
  let done = 0;
  const start = nowMs();
  do {
    for (const m of messages) recoverPersonalAddressWith(recoverer, encoder.encode(verificationBuffer(m)), m.signature);
    done += messages.length;
  } while (nowMs() - start < 500);
  return done / ((nowMs() - start) / 1000);
}

async function ingestPerSecond(url: string, messages: readonly AlephMessage[], concurrency: number): Promise<{ rate: number; failed: number }> {
  const pool = new Pool(url, { connections: concurrency });
  let next = 0;
  let failed = 0;
  const worker = async (): Promise<void> => {
    while (next < messages.length) {
      const message = messages[next++] as AlephMessage;
      const res = await pool.request({ path: '/api/v0/messages', method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sync: false, message }) });
      await res.body.dump();
      if (res.statusCode !== 200 && res.statusCode !== 202) failed++;
    }
  };
  const start = nowMs();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (nowMs() - start) / 1000;
  await pool.close();
  return { rate: (messages.length - failed) / seconds, failed };
}

export async function benchCcnIngest(ctx: BenchContext, db: { label: string; url: string }): Promise<Figure[]> {
  const count = ctx.quick ? 400 : 3000;
  const dir = mkdtempSync(join(tmpdir(), `bench-ccn-${db.label}-`));
  try {
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({ host: '127.0.0.1', port: 0, p2pPort: 0, dataDir: dir, db: db.url, logLevel: 'info' }));
    const ccn = await startChildNode({ kind: 'ccn', label: `ccn-${db.label}`, args: ['--config', config], logFile: join(dir, 'node.log'), binDir: ctx.binDir, readyTimeoutMs: 60_000 });
    try {
      const warmup = buildMessages(50);
      await ingestPerSecond(ccn.url, warmup, 8);
      const messages = buildMessages(count);
      if (!NATIVE_RECOVERER) ctx.logger.warn('libsecp256k1 did not load here: the baseline is the JavaScript recovery rate, not the native one');
      const limit = recoveriesPerSecond(messages);
      // Many clients at once, as a CCN serves: submissions arriving together share one commit.
      const { rate, failed } = await ingestPerSecond(ccn.url, messages, 64);
      if (failed > 0) ctx.logger.warn({ failed }, 'some messages were not accepted');
      return [
        {
          id: `ccn.ingest.${db.label}.messages_per_s`,
          title: `CCN ingest on ${db.label} (accepted msg/s vs ${NATIVE_RECOVERER ? 'libsecp256k1' : 'JS (native missing)'} signature recoveries/s)`,
          unit: 'msg/s',
          value: rate,
          baseline: limit,
          ratio: rate / limit,
        },
      ];
    } finally {
      await ccn.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
