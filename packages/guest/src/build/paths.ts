/** Where the guest package's own files are, wherever the repository is checked out. */
import { fileURLToPath } from 'node:url';

export const PACKAGE_DIR = fileURLToPath(new URL('../../', import.meta.url));
export const ASSETS_DIR = fileURLToPath(new URL('../../assets/', import.meta.url));
export const AGENT_ENTRY = fileURLToPath(new URL('../agent/main.ts', import.meta.url));
/** The host↔guest wire contract: the one module outside src/agent/ the agent may import. */
export const PROTOCOL_FILE = fileURLToPath(new URL('../protocol.ts', import.meta.url));
export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
/** Default build directory: `<repo>/.images` (ignored by git through its own .gitignore). */
export const DEFAULT_IMAGES_DIR = fileURLToPath(new URL('../../../../.images/', import.meta.url));
/** Debian's busybox-static. */
export const BUSYBOX_STATIC = '/bin/busybox';
