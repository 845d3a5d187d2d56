/**
 * The few CCN calls the devnet makes, over plain HTTP like any client: publish a signed message
 * and upload a file with its signed STORE message.
 */
import type { AlephMessage } from '@aleph-nodes/protocol';
import { request } from './http.ts';

export class CcnRequestError extends Error {
  override readonly name = 'CcnRequestError';
}

async function expectOk(res: Response, what: string): Promise<unknown> {
  const text = await res.text();
  if (!res.ok) throw new CcnRequestError(`${what} answered ${res.status}: ${text.slice(0, 500)}`);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

export async function publishMessage(ccnUrl: string, message: AlephMessage): Promise<void> {
  // sync: the CCN answers once the message is processed, which can take its syncTimeoutMs.
  const res = await request(`${ccnUrl}/api/v0/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sync: true, message }),
  }, 120_000);
  const body = (await expectOk(res, `publishing ${message.type} ${message.item_hash}`)) as { message_status?: string };
  if (res.status !== 200 || body.message_status !== 'processed') {
    throw new CcnRequestError(`${message.type} ${message.item_hash} was not processed (HTTP ${res.status}, status ${body.message_status ?? '?'})`);
  }
}

export async function uploadStoredFile(ccnUrl: string, bytes: Uint8Array, storeMessage: AlephMessage): Promise<void> {
  const form = new FormData();
  form.append('metadata', JSON.stringify({ message: storeMessage, sync: true }));
  form.append('file', new Blob([bytes]), 'blob');
  const res = await request(`${ccnUrl}/api/v0/storage/add_file`, { method: 'POST', body: form }, 600_000);
  await expectOk(res, `uploading file ${storeMessage.item_hash}`);
}
