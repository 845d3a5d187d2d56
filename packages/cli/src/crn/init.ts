/**
 * `crn init`: writes a configuration file and creates the node key, so that `crn start
 * --config FILE` and `crn register --config FILE` work without further flags.
 */
import { existsSync, mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { loadOrCreateKeyFile } from '@aleph-nodes/service';
import { EXIT } from '../common/exit-codes.ts';
import { printJson } from '../common/output.ts';

export interface InitOptions {
  dataDir: string;
  ccn: string;
  domain: string;
  host: string;
  port: number;
  configFile?: string | undefined;
  /** Addresses allowed to push allocations (the linked CCN's key). */
  allocationSigners: string[];
  force: boolean;
  json: boolean;
}

export function runInit(opts: InitOptions): number {
  const dataDir = resolve(opts.dataDir);
  const configFile = resolve(opts.configFile ?? join(dataDir, 'config.json'));
  if (existsSync(configFile) && !opts.force) {
    process.stderr.write(`crn init: ${configFile} exists; pass --force to overwrite it\n`);
    return EXIT.USAGE;
  }
  try {
    new URL(opts.ccn);
  } catch {
    process.stderr.write(`crn init: --ccn must be a URL, got ${opts.ccn}\n`);
    return EXIT.USAGE;
  }
  const badSigner = opts.allocationSigners.find((a) => !/^0x[0-9a-fA-F]{40}$/.test(a));
  if (badSigner !== undefined) {
    process.stderr.write(`crn init: --allocation-signer must be an 0x address, got ${badSigner}\n`);
    return EXIT.USAGE;
  }
  if (existsSync(dataDir) && !statSync(dataDir).isDirectory()) {
    process.stderr.write(`crn init: data dir ${dataDir} is not a directory\n`);
    return EXIT.USAGE;
  }
  // Every argument is checked above: exit 2 means nothing was written. From here on, a key
  // written means the command succeeded (exit 0).
  mkdirSync(dataDir, { recursive: true });
  const keyFile = join(dataDir, 'node.key');
  const { account, created } = loadOrCreateKeyFile(keyFile);
  const config = {
    host: opts.host,
    port: opts.port,
    dataDir,
    ccn: opts.ccn.replace(/\/+$/, ''),
    domain: opts.domain,
    keyFile,
    authorizedAllocationSigners: opts.allocationSigners,
  };
  mkdirSync(dirname(configFile), { recursive: true });
  const tmp = `${configFile}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o644 });
  renameSync(tmp, configFile);
  if (opts.json) printJson({ configFile, keyFile, address: account.address, keyCreated: created });
  else {
    process.stdout.write(`configuration written to ${configFile}\n`);
    process.stdout.write(`node key ${created ? 'created' : 'kept'} at ${keyFile} (address ${account.address})\n`);
    process.stdout.write(`next: crn register --config ${configFile}\n`);
  }
  return EXIT.OK;
}
