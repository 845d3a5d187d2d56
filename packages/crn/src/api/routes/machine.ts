/**
 * Owner operations on `/control/machine/{ref}` (crn-api.md §3.7): stop (final until the owner
 * starts it again), start, reboot, erase, expire, past logs, and live logs over a websocket
 * whose first frame carries the signatures (browsers cannot set headers). Every signed operation
 * is single-use (owner-auth.ts); live log sockets are capped (stream-slots.ts).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { isItemHash, STREAM_LOGS_TEXT, StreamLogsAuthFrameSchema } from '@aleph-nodes/protocol';
import type { LogLine } from '@aleph-nodes/vmm';
import { HttpError } from '@aleph-nodes/service';
import type { AuthState } from '../../db/auth-state.ts';
import { CRN_ERRORS } from '../../errors.ts';
import type { ApiContext } from '../context.ts';
import { authorizeOwnerOperation, knownExecutionOwner } from '../owner-auth.ts';
import { StreamSlots } from '../stream-slots.ts';
import { machineDiskRoutes } from './machine-disks.ts';
import { machineUpdateRoutes } from './machine-update.ts';

type RefRequest = FastifyRequest<{ Params: { ref: string } }>;

function pathOf(request: FastifyRequest): string {
  const url = request.raw.url ?? '/';
  const q = url.indexOf('?');
  return q >= 0 ? url.slice(0, q) : url;
}

function journalLine(ref: string, line: LogLine): Record<string, unknown> {
  return { SYSLOG_IDENTIFIER: `vm-${ref}-${line.stream}`, MESSAGE: line.text, file: line.stream, __REALTIME_TIMESTAMP: new Date(line.time).toISOString() };
}

/** Owner operations carry no body the node reads; aleph-vm ignores what a client sends anyway. */
const IGNORED_BODY_LIMIT = 64 * 1024;

export async function machineRoutes(app: FastifyInstance, ctx: ApiContext, auth: AuthState): Promise<void> {
  // Any content type, as aleph-vm: the Python SDK's VmClient POSTs with aiohttp's default
  // `application/octet-stream`, which Fastify's default parsers refuse (415).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: IGNORED_BODY_LIMIT }, (_req: FastifyRequest, body: Buffer, done: (err: Error | null, body?: Buffer) => void) => done(null, body));
  /** Checks the ref, the signatures and ownership, and spends the operation; returns the ref. */
  const authorize = async (request: RefRequest): Promise<string> => {
    const ref = request.params.ref;
    if (!isItemHash(ref)) throw CRN_ERRORS.error('INVALID_REF');
    await authorizeOwnerOperation(
      ctx,
      auth,
      { signedPubKey: request.headers['x-signedpubkey'], signedOperation: request.headers['x-signedoperation'], method: request.method, path: pathOf(request) },
      ref,
    );
    return ref;
  };
  machineDiskRoutes(app, ctx, authorize);
  const streams = new StreamSlots({ perExecution: ctx.config.streamLogsMaxPerExecution, perIp: ctx.config.streamLogsMaxPerIp, total: ctx.config.streamLogsMaxTotal });

  app.post('/control/machine/:ref/stop', async (request: RefRequest, reply) => {
    const ref = await authorize(request);
    const wasRunning = await ctx.supervisor.ownerStop(ref);
    return reply.type('text/plain').send(wasRunning ? `Stopped VM with ref ${ref}` : 'Already stopped, nothing to do');
  });

  // 2.1's /start, and /reboot, which the reference only answers without starting (crn-api.md §3.7 "Do").
  for (const op of ['start', 'reboot'] as const) {
    app.post(`/control/machine/:ref/${op}`, async (request: RefRequest, reply) => {
      const ref = await authorize(request);
      const wasRunning = ctx.supervisor.find(ref)?.live ?? false;
      await ctx.supervisor.ownerStart(ref, op === 'reboot');
      const text = op === 'reboot' ? (wasRunning ? `Rebooted VM with ref ${ref}` : `Started VM with ref ${ref} (was not running)`) : `Started VM with ref ${ref}`;
      return reply.type('text/plain').send(text);
    });
  }

  app.post('/control/machine/:ref/erase', async (request: RefRequest, reply) => {
    const ref = await authorize(request);
    await ctx.supervisor.erase(ref);
    return reply.type('text/plain').send(`Erased VM with ref ${ref}`);
  });

  app.post<{ Params: { ref: string }; Querystring: { timeout?: string } }>('/control/machine/:ref/expire', async (request, reply) => {
    const ref = await authorize(request);
    const seconds = Number(request.query.timeout ?? 0);
    if (!Number.isFinite(seconds) || seconds < 0) throw CRN_ERRORS.error('INVALID_BODY', 'Invalid timeout duration');
    const exec = ctx.supervisor.find(ref);
    if (exec?.live) {
      const timer = setTimeout(() => void ctx.supervisor.stopExecution(exec, 'expired'), seconds * 1000);
      timer.unref();
    }
    return reply.type('text/plain').send(`Expiring VM with ref ${ref} in ${seconds} seconds`);
  });

  machineUpdateRoutes(app, ctx);

  app.get('/control/machine/:ref/logs', async (request: RefRequest) => {
    const ref = await authorize(request);
    const exec = ctx.supervisor.find(ref);
    const lines = exec ? exec.logs() : (ctx.records.get(ref)?.lastLogs ?? []);
    return lines.map((l) => journalLine(ref, l));
  });

  // aleph-vm answers over HTTP, before the upgrade, for a bad ref (400) and an execution it never
  // had (404); everything after the upgrade is a frame.
  const streamPreValidation = async (request: RefRequest): Promise<void> => {
    if (!isItemHash(request.params.ref)) throw CRN_ERRORS.error('INVALID_REF');
    knownExecutionOwner(ctx, request.params.ref);
  };
  app.get('/control/machine/:ref/stream_logs', { websocket: true, preValidation: streamPreValidation }, (socket: WebSocket, request: RefRequest) => {
    const ref = request.params.ref;
    const path = pathOf(request);
    let unsubscribe: (() => void) | undefined;
    const fail = (reason: string): void => {
      if (socket.readyState !== socket.OPEN) return;
      socket.send(JSON.stringify({ status: 'failed', reason }));
      socket.close();
    };
    const lease = streams.admit(request.ip);
    if ('refused' in lease) {
      fail(lease.refused);
      return;
    }
    socket.on('close', () => lease.release());
    const authTimer = setTimeout(() => fail('no authentication frame'), 10_000);
    socket.once('message', async (data) => {
      clearTimeout(authTimer);
      // The first frame, as aleph-vm reads it: JSON, with an `auth` object holding the two headers.
      let frame: unknown;
      try {
        frame = JSON.parse(String(data));
      } catch (err) {
        fail((err as Error).message);
        return;
      }
      const parsed = StreamLogsAuthFrameSchema.safeParse(frame);
      if (!parsed.success) {
        fail(STREAM_LOGS_TEXT.missingAuth);
        return;
      }
      const creds = parsed.data.auth;
      try {
        await authorizeOwnerOperation(ctx, auth, { signedPubKey: creds['X-SignedPubKey'], signedOperation: creds['X-SignedOperation'], method: 'GET', path }, ref);
      } catch (err) {
        if (err instanceof HttpError && err.code === 'UNAUTHORIZED_SENDER') fail(STREAM_LOGS_TEXT.unauthorized);
        else fail(err instanceof HttpError ? err.message : 'invalid authentication frame');
        return;
      }
      const full = lease.bind(ref);
      if (full) {
        fail(full);
        return;
      }
      if (socket.readyState !== socket.OPEN) return;
      socket.send(JSON.stringify({ status: 'connected' }));
      const exec = ctx.supervisor.find(ref);
      if (!exec || !exec.live) {
        for (const line of exec?.logs() ?? ctx.records.get(ref)?.lastLogs ?? []) socket.send(JSON.stringify({ type: line.stream, message: line.text }));
        socket.send(JSON.stringify({ type: 'system', message: STREAM_LOGS_TEXT.pastLogsSent }));
        socket.close();
        return;
      }
      if (!exec.handle) {
        socket.send(JSON.stringify({ type: 'system', message: STREAM_LOGS_TEXT.starting }));
        socket.close();
        return;
      }
      for (const line of exec.handle.recentLogs(100)) socket.send(JSON.stringify({ type: line.stream, message: line.text }));
      unsubscribe = exec.handle.subscribeLogs((line) => {
        if (socket.readyState === socket.OPEN) socket.send(JSON.stringify({ type: line.stream, message: line.text }));
      });
      void exec.handle.exited.then(() => {
        if (socket.readyState === socket.OPEN) {
          socket.send(JSON.stringify({ type: 'system', message: 'VM stopped' }));
          socket.close();
        }
      });
    });
    socket.on('close', () => {
      clearTimeout(authTimer);
      unsubscribe?.();
    });
    socket.on('error', () => {
      unsubscribe?.();
      lease.release();
    });
  });
}
