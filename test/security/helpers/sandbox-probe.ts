/**
 * What the attacker's workload does, from inside the process sandbox: a small Node.js HTTP
 * server on :8080 whose routes try the things an attack needs (reading host files, using
 * capabilities, mounting, reaching host services, filling a volume) and report the outcome.
 */
export const PROBE_SOURCE = `
import http from 'node:http';
import net from 'node:net';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, openSync, writeSync, closeSync, fsyncSync } from 'node:fs';

const status = () => {
  const s = readFileSync('/proc/self/status', 'utf8');
  const field = (name) => (new RegExp('^' + name + ':\\\\s*(.*)$', 'm').exec(s) || [])[1];
  return { uid: process.getuid(), gid: process.getgid(), capEff: field('CapEff'), capBnd: field('CapBnd'), seccomp: field('Seccomp'), noNewPrivs: field('NoNewPrivs'), pid: process.pid };
};
const run = (file, args) => {
  try { return { status: 0, stdout: execFileSync(file, args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString() }; }
  catch (err) { return { status: err.status ?? null, error: err.code ?? null, stderr: String(err.stderr ?? '') }; }
};
const connect = (host, port, timeoutMs) => new Promise((resolve) => {
  const socket = net.connect({ host, port });
  let data = '';
  const done = (result) => { clearTimeout(timer); socket.destroy(); resolve(result); };
  const timer = setTimeout(() => done({ ok: false, error: 'timeout', data }), timeoutMs);
  socket.on('data', (c) => { data += c; if (data.includes('\\n')) done({ ok: true, data: data.trim() }); });
  socket.on('error', (err) => done({ ok: false, error: err.code, data }));
});
const fill = (path, mib) => {
  const chunk = Buffer.alloc(1024 * 1024, 7);
  let written = 0;
  let fd;
  try {
    fd = openSync(path, 'w');
    for (let i = 0; i < mib; i++) { writeSync(fd, chunk); written++; }
    fsyncSync(fd);
    return { written, error: null };
  } catch (err) { return { written, error: err.code }; }
  finally { if (fd !== undefined) closeSync(fd); }
};

http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://probe');
  const q = (k) => url.searchParams.get(k);
  const json = (v) => { res.setHeader('content-type', 'application/json'); res.end(JSON.stringify(v)); };
  try {
    if (url.pathname === '/status') return json({ ...status(), tag: process.env.PROBE_TAG ?? null });
    if (url.pathname === '/exists') return json(Object.fromEntries(url.searchParams.getAll('path').map((p) => [p, existsSync(p)])));
    if (url.pathname === '/read') { try { return json({ text: readFileSync(q('path'), 'utf8') }); } catch (err) { return json({ error: err.code }); } }
    if (url.pathname === '/write') { try { writeFileSync(q('path'), q('text')); return json({ ok: true }); } catch (err) { return json({ error: err.code }); } }
    if (url.pathname === '/run') return json(run(q('file'), url.searchParams.getAll('arg')));
    if (url.pathname === '/fill') return json(fill(q('path'), Number(q('mib'))));
    if (url.pathname === '/connect') {
      const targets = url.searchParams.getAll('to');
      const results = await Promise.all(targets.map((t) => { const i = t.lastIndexOf(':'); return connect(t.slice(0, i), Number(t.slice(i + 1)), Number(q('timeout') ?? 3000)); }));
      return json(Object.fromEntries(targets.map((t, i) => [t, results[i]])));
    }
    res.statusCode = 404; res.end('no such probe');
  } catch (err) { res.statusCode = 500; res.end(String(err)); }
}).listen(8080, '0.0.0.0', () => console.log('probe listening'));
`;
