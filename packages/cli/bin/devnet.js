#!/usr/bin/env node
// Thin launcher: the sources are TypeScript, loaded through tsx's ESM hooks.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/devnet/program.ts');
// Every node has exited by the time main() returns; a set-up step cut short by Ctrl-C (an image
// build, a request) must not keep the process alive.
process.exit(await main(process.argv));
