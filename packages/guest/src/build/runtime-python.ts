/**
 * The Python runtime, like aleph's `aleph-debian-12-python`: Debian bookworm (debootstrap,
 * minbase) with CPython 3.11, pip and venv, and the Python packages aleph's runtime installs
 * (aleph-sdk-python, aleph-message, fastapi, …) plus uvicorn, every one pinned to an exact version
 * (`assets/python/requirements.txt`) and installed by pip inside the chroot into
 * `/opt/aleph/libs`, which programs get as PYTHONPATH, as in aleph's. Our guest agent (Node.js,
 * as in the Node runtime, so nodejs is there too, as it is in aleph's) serves ASGI programs
 * (`entrypoint: "main:app"`) with `assets/python/asgi_serve.py`; executables run as elsewhere.
 *
 * Packages are byte-compiled at build time: the root file system is read-only in the VM, and
 * compiling fastapi and the SDK at every boot would cost seconds under emulation.
 */
import { existsSync } from 'node:fs';
import { chmod, copyFile, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { bundleAgent } from './agent-bundle.ts';
import { staticBusybox } from './busybox.ts';
import { cachedArtifact, hashParts } from './cache.ts';
import { runCommand } from './exec.ts';
import { ASSETS_DIR } from './paths.ts';
import { debootstrapFilter, finishRuntime, installAgent, PRUNED, type RuntimeArtifact } from './runtime.ts';

const BUILDER_VERSION = 'runtime-python-2';

export interface PythonRuntimeOptions {
  suite: string;
  mirror: string;
  /** Debian packages besides minbase. */
  packages: readonly string[];
}

export const PYTHON_RUNTIME: PythonRuntimeOptions = {
  suite: 'bookworm',
  mirror: 'http://deb.debian.org/debian',
  // python3-pip: programs and the diagnostic program import pip; libmagic1: python-magic of
  // the SDK; libsecp256k1-1, curl, iputils-ping: as in aleph's runtime; nodejs, iproute2,
  // unzip, tini: the guest agent (as in the Node runtime).
  packages: ['python3', 'python3-pip', 'python3-venv', 'python3-setuptools', 'ca-certificates', 'libmagic1', 'libsecp256k1-1', 'curl', 'iputils-ping', 'nodejs', 'iproute2', 'unzip', 'tini'],
};

/** Where the runtime's Python packages live in the image (PYTHONPATH of every program, as in aleph's). */
export const PYTHON_LIBS_DIR = '/opt/aleph/libs';

const REQUIREMENTS = join(ASSETS_DIR, 'python/requirements.txt');
const ASGI_SERVE = join(ASSETS_DIR, 'python/asgi_serve.py');

/** The CA bundle pip trusts on this host (PIP_CERT, SSL_CERT_FILE, else Debian's). */
function hostCaBundle(): string {
  for (const candidate of [process.env.PIP_CERT, process.env.SSL_CERT_FILE, '/etc/ssl/certs/ca-certificates.crt']) {
    if (candidate && existsSync(candidate)) return candidate;
  }
  throw new Error('no CA bundle on this host for pip (install ca-certificates)');
}

export async function buildPythonRuntime(imagesDir: string, log: (line: string) => void, options: PythonRuntimeOptions = PYTHON_RUNTIME): Promise<RuntimeArtifact> {
  const agent = await bundleAgent();
  const init = await readFile(join(ASSETS_DIR, 'runtime-init.sh'));
  const requirements = await readFile(REQUIREMENTS);
  const asgiServe = await readFile(ASGI_SERVE);
  const busybox = await staticBusybox();
  const key = hashParts([BUILDER_VERSION, options.suite, options.mirror, options.packages.join(','), requirements, asgiServe, agent, init, busybox.sha256, ...PRUNED]);
  const artifact = await cachedArtifact(imagesDir, 'runtime-python', key, async (tmp) => {
    const root = join(tmp, 'rootfs');
    log(`debootstrap --variant=minbase ${options.suite} (+ ${options.packages.join(', ')})`);
    await runCommand('debootstrap', ['--variant=minbase', `--include=${options.packages.join(',')}`, options.suite, root, options.mirror], {
      onLine: debootstrapFilter(log),
    });
    // pip resolves PyPI's name with the host's resolvers (finishRuntime empties the file again).
    await copyFile('/etc/resolv.conf', join(root, 'etc/resolv.conf'));
    await copyFile(REQUIREMENTS, join(root, 'tmp/requirements.txt'));
    // The host's CA bundle, for this build only (a build machine may reach PyPI through a proxy
    // with its own CA): removed before packing, never part of the image.
    await copyFile(hostCaBundle(), join(root, 'tmp/host-ca.crt'));
    log(`pip install (${requirements.toString('utf8').split('\n').filter((l) => /^[A-Za-z]/.test(l)).length} packages pinned by hash) into ${PYTHON_LIBS_DIR}`);
    // --no-deps with a full pin list: exactly these versions, nothing resolved at build time;
    // --require-hashes: exactly these files; --only-binary: no build scripts from PyPI run here.
    await runCommand(
      '/usr/sbin/chroot',
      [root, '/usr/bin/python3', '-m', 'pip', 'install', '--no-deps', '--require-hashes', '--only-binary=:all:', '--no-cache-dir', '--disable-pip-version-check', '--no-input', '--progress-bar', 'off', '--cert', '/tmp/host-ca.crt', '--target', PYTHON_LIBS_DIR, '-r', '/tmp/requirements.txt'],
      { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root', LANG: 'C.UTF-8' }, onLine: (line) => /^(Successfully|ERROR)/.test(line) && log(line.slice(0, 300)) },
    );
    log('byte-compiling the packages');
    await runCommand('/usr/sbin/chroot', [root, '/usr/bin/python3', '-m', 'compileall', '-q', '-j', '0', PYTHON_LIBS_DIR], { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' } });
    const freeze = await runCommand('/usr/sbin/chroot', [root, '/usr/bin/python3', '-m', 'pip', 'list', '--path', PYTHON_LIBS_DIR, '--format', 'freeze', '--disable-pip-version-check'], {
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' },
    });
    const python = (await runCommand('/usr/sbin/chroot', [root, '/usr/bin/python3', '--version'])).trim();
    await rm(join(root, 'tmp/requirements.txt'), { force: true });
    await rm(join(root, 'tmp/host-ca.crt'), { force: true });
    await rm(join(root, 'root/.cache'), { recursive: true, force: true });
    await installAgent(root, agent, busybox.path, log);
    await copyFile(ASGI_SERVE, join(root, 'opt/aleph/asgi_serve.py'));
    await chmod(join(root, 'opt/aleph/asgi_serve.py'), 0o644);
    await finishRuntime(root, tmp, { ...options, python, packages_installed: freeze.trim().split('\n') }, log);
  });
  const path = join(artifact.dir, 'runtime.squashfs');
  return { ...artifact, path, sizeBytes: (await stat(path)).size };
}
