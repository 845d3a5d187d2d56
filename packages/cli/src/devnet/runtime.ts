/**
 * The runtime a devnet program names, published like any runtime (a STORE message and its file).
 * - `microvm`: the Node.js runtime root filesystem (squashfs) from the guest image build;
 * - `process`: that executor runs programs on the host's Node.js and never reads the runtime, so
 *   a small JSON descriptor naming the host runtime is published instead of 56 MiB of squashfs.
 */
import { readFile } from 'node:fs/promises';
import { buildImages } from '@aleph-nodes/guest/build';
import type { EthAccount } from '@aleph-nodes/protocol';
import type { Logger } from '@aleph-nodes/service';
import { storeFile } from './sample-program.ts';

export async function publishRuntime(ccnUrl: string, account: EthAccount, executor: string, channel: string, logger: Logger): Promise<string> {
  if (executor === 'microvm') {
    const images = await buildImages({ progress: (line) => logger.info({ component: 'images' }, line) });
    logger.info({ path: images.runtimes.node }, 'publishing the Node.js runtime');
    return storeFile(ccnUrl, account, new Uint8Array(await readFile(images.runtimes.node)), channel);
  }
  const descriptor = JSON.stringify({ kind: 'aleph-nodes-runtime', executor, interpreter: 'node', version: process.versions.node.split('.')[0] });
  return storeFile(ccnUrl, account, new TextEncoder().encode(descriptor), channel);
}

/**
 * The Debian instance image (raw ext4 with systemd and openssh-server) as a STORE, for INSTANCE
 * messages' `rootfs.parent.ref`. Only the microvm executor boots it; the devnet's CCN accepts
 * uploads of its size (`maxSignedUploadBytes`).
 */
export async function publishInstanceImage(ccnUrl: string, account: EthAccount, channel: string, logger: Logger): Promise<string> {
  const images = await buildImages({ progress: (line) => logger.info({ component: 'images' }, line) });
  const path = images.instances?.debian;
  if (!path) throw new Error('the guest image build produced no Debian instance image');
  logger.info({ path }, 'publishing the Debian instance image');
  return storeFile(ccnUrl, account, new Uint8Array(await readFile(path)), channel);
}

/** The Python runtime (aleph-debian-12-python's counterpart) as a STORE; microvm executor only. */
export async function publishPythonRuntime(ccnUrl: string, account: EthAccount, channel: string, logger: Logger): Promise<string> {
  const images = await buildImages({ progress: (line) => logger.info({ component: 'images' }, line) });
  const path = images.runtimes.python;
  if (!path) throw new Error('the guest image build produced no Python runtime');
  logger.info({ path }, 'publishing the Python runtime');
  return storeFile(ccnUrl, account, new Uint8Array(await readFile(path)), channel);
}
