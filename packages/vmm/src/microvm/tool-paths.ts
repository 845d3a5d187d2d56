/**
 * Tool paths of the microVM backend: a configured absolute path is used as it is; a bare name
 * (the defaults: `qemu-system-x86_64`, `ip`, `nft`) is looked up in the distribution's own
 * directories (host/tools.ts), never through PATH, which the environment of a root process
 * must not be trusted to hold.
 */
import { requireTool } from '../host/tools.ts';

export function toolPath(nameOrPath: string, debianPackage: string): string {
  if (nameOrPath.startsWith('/')) return nameOrPath;
  if (nameOrPath.includes('/')) throw new Error(`tool path ${JSON.stringify(nameOrPath)} must be absolute or a bare name`);
  return requireTool(nameOrPath, debianPackage);
}
