/** Commander wiring of `ccn oracle balance|credits|flow` (the work is in oracle.ts). */
import type { Command } from 'commander';
import { checkBalanceArgs, checkCreditsArgs, checkFlowArgs } from './oracle-args.ts';
import { runOracle, type OracleOptions } from './oracle.ts';

interface Flags {
  keyFile: string;
  ccn: string;
  json?: boolean;
  timeout: string;
}

function withCommonOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--key-file <file>', "the oracle's key (0x-hex secp256k1; the devnet's is in its state file, oracle.key_file)")
    .option('--ccn <url>', 'the CCN to publish to', 'http://127.0.0.1:4024')
    .option('--timeout <seconds>', 'how long to wait for the CCN to process the post', '60')
    .option('--json', 'machine-readable output');
}

function options(flags: Flags): OracleOptions {
  return { keyFile: flags.keyFile, ccn: flags.ccn, json: flags.json === true, timeout: flags.timeout };
}

export function addOracleCommands(program: Command, result: { code: number }): void {
  const oracle = program
    .command('oracle')
    .description("act as the network's oracle (dev and test networks): publish signed balance, credit and flow posts and wait until the CCN has applied them; exit 0 done, 1 refused or unreachable, 2 usage");

  withCommonOptions(
    oracle
      .command('balance')
      .description("set ADDRESS's ALEPH balance (absolute, not a delta) with a balances-update post; the key must be in the CCN's balanceIndexers")
      .argument('<address>', 'the account (0x address)')
      .argument('<amount>', 'ALEPH, a non-negative decimal (e.g. 1000 or 12.5)'),
  ).action(async (address: string, amount: string, flags: Flags) => {
    result.code = await runOracle('balance', checkBalanceArgs(address, amount), options(flags));
  });

  withCommonOptions(
    oracle
      .command('credits')
      .description("give ADDRESS AMOUNT credits with an aleph_credit_distribution post (channel ALEPH_CREDIT); the key must be in the CCN's creditOracles")
      .argument('<address>', 'the account (0x address)')
      .argument('<amount>', 'credits, a whole number ≥ 1')
      .option('--expires <date>', 'when the credits expire: ISO 8601 or unix seconds (default: never)'),
  ).action(async (address: string, amount: string, flags: Flags & { expires?: string }) => {
    result.code = await runOracle('credits', checkCreditsArgs(address, amount, flags.expires), options(flags));
  });

  withCommonOptions(
    oracle
      .command('flow')
      .description("set the pay-as-you-go flow from SENDER to RECEIVER (a CRN's reward address) with an aleph-flows-update post; 0 ends it; the key must be in the CCN's flowOracles")
      .argument('<sender>', 'the paying account (0x address)')
      .argument('<receiver>', "the receiving CRN's reward address (0x address)")
      .argument('<aleph-per-hour>', 'the rate in ALEPH per hour, a non-negative decimal'),
  ).action(async (sender: string, receiver: string, rate: string, flags: Flags) => {
    result.code = await runOracle('flow', checkFlowArgs(sender, receiver, rate), options(flags));
  });
}
