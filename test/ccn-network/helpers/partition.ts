/**
 * Partitions between the chaos test's CCNs: one nftables table of the test's own
 * (`inet ccn_chaos_<pid>`), an output chain whose rules drop what one node sends to another's
 * address. The sender is recognised by the group owning the sending socket (see chaos-node.ts),
 * the receiver by its address. `drop(a, b)` kills the connections a opens to b (their SYN never
 * arrives) and leaves those b opens to a working (a's answers go to 127.0.0.1): a one-way
 * partition at the connection level (a cannot pull from or dial b; b still pulls from a).
 * `cut(a, b)` drops both directions: no new connection either way, and the established ones stall
 * (one side's data or acknowledgements never arrive).
 *
 * nft runs by its absolute path (findTool). The table is the test's alone: healing flushes its
 * chain, `remove()` deletes it (idempotent, also called from a process exit hook).
 */
import { execFileSync } from 'node:child_process';
import { findTool } from '@aleph-nodes/vmm';

export interface Endpoint {
  index: number;
  host: string;
  gid: number;
}

export class Partitions {
  readonly table = `ccn_chaos_${process.pid}`;
  readonly #nft: string;
  /** Directed cuts in force, as `from>to` indexes. */
  readonly #drops = new Set<string>();
  #created = false;
  /** Packets dropped by rules already flushed (flushing a chain drops its counters). */
  #droppedBefore = 0;

  constructor() {
    const nft = findTool('nft');
    if (!nft) throw new Error('nft is not installed');
    this.#nft = nft;
  }

  #run(args: string[], input?: string): string {
    return execFileSync(this.#nft, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
  }

  create(): void {
    this.#run(['-f', '-'], `table inet ${this.table} {\n  chain output {\n    type filter hook output priority 0; policy accept;\n  }\n}\n`);
    this.#created = true;
  }

  /** Packets the node `from` sends to `to`'s address are dropped. */
  drop(from: Endpoint, to: Endpoint): void {
    this.#run(['add', 'rule', 'inet', this.table, 'output', 'meta', 'skgid', String(from.gid), 'ip', 'daddr', to.host, 'counter', 'drop']);
    this.#drops.add(`${from.index}>${to.index}`);
  }

  /** Both directions. */
  cut(a: Endpoint, b: Endpoint): void {
    this.drop(a, b);
    this.drop(b, a);
  }

  /** Every rule removed: all nodes reach each other again. */
  heal(): void {
    if (!this.#created) return;
    this.#droppedBefore = this.dropped();
    this.#run(['flush', 'chain', 'inet', this.table, 'output']);
    this.#drops.clear();
  }

  /** The cuts in force, e.g. `0>2 2>0` (for the log). */
  describe(): string {
    return [...this.#drops].join(' ') || 'none';
  }

  /** Packets dropped so far by every rule, healed ones included (proof the partitions did something). */
  dropped(): number {
    if (!this.#created) return this.#droppedBefore;
    const text = this.#run(['list', 'chain', 'inet', this.table, 'output']);
    return this.#droppedBefore + [...text.matchAll(/counter packets (\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
  }

  exists(): boolean {
    try {
      this.#run(['list', 'table', 'inet', this.table]);
      return true;
    } catch {
      return false;
    }
  }

  remove(): void {
    try {
      this.#run(['delete', 'table', 'inet', this.table]);
    } catch {
      // Already gone.
    }
    this.#created = false;
  }
}
