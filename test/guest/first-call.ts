/**
 * The first call to a program that boots its VM under emulation: it may take minutes on a loaded
 * host, longer than fetch's 5-minute header timeout. node:http has no such timeout; the CRN's own
 * start deadline (`startTimeoutSeconds`) bounds the wait.
 */
import { get } from 'node:http';

export function firstCall(url: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    }).on('error', reject);
  });
}
