import { buildInlineMessage, EthAccount } from '@aleph-nodes/protocol';
import { Pool } from 'undici';
const url = process.argv[2]!; const n = Number(process.argv[3] ?? 1000); const conc = Number(process.argv[4] ?? 16);
const a = EthAccount.generate(); const base = Math.floor(Date.now()/1000);
const ms = Array.from({length: n}, (_, i) => buildInlineMessage(a, 'POST', { type: 'bench', content: { i, pad: 'x'.repeat(64) } }, { channel: 'BENCH', time: base + i/1000 }));
const pool = new Pool(url, { connections: conc }); let next = 0; let failed = 0;
const t = performance.now();
await Promise.all(Array.from({length: conc}, async () => { while (next < ms.length) { const m = ms[next++]; const r = await pool.request({ path: '/api/v0/messages', method: 'POST', headers: {'content-type':'application/json'}, body: JSON.stringify({sync:false, message: m}) }); await r.body.dump(); if (r.statusCode !== 202 && r.statusCode !== 200) failed++; } }));
console.log('rate', n / ((performance.now()-t)/1000), 'failed', failed); await pool.close();
