/** `build-images`: the command line of the image build (called by setup scripts and tests). */
import { Command } from 'commander';
import { buildImages } from './images.ts';

export async function main(argv: string[]): Promise<number> {
  const program = new Command('build-images')
    .description('Build (or reuse cached) microVM guest images: kernel, initramfs, Node.js and Python runtimes, instance base image')
    .option('--dir <path>', 'build directory (default: $ALEPH_IMAGES_DIR or <repo>/.images)')
    .option('--prune', 'remove artifacts built from older inputs', false)
    .option('--no-instance', 'skip the instance base image (Debian + systemd + OpenSSH)')
    .option('--no-python', 'skip the Python runtime (Debian + CPython 3.11 + the aleph SDK, FastAPI, uvicorn)')
    .option('--json', 'print the image paths as JSON on stdout at the end', false);
  program.parse(argv);
  const opts = program.opts<{ dir?: string; prune: boolean; json: boolean; instance: boolean; python: boolean }>();
  const started = Date.now();
  try {
    const images = await buildImages({ dir: opts.dir, prune: opts.prune, instance: opts.instance, python: opts.python, progress: (line) => process.stderr.write(line + '\n') });
    process.stderr.write(`guest images ready in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    if (opts.json) process.stdout.write(JSON.stringify(images, null, 2) + '\n');
    return 0;
  } catch (err) {
    process.stderr.write(`build-images failed: ${(err as Error).message}\n`);
    return 1;
  }
}
