/**
 * The chaos test's faults, one after the other until the deadline, drawn from the seed:
 * - `kill`: `kill -9` of a running CCN, restarted on its data dir 1.5–5 s later (in the
 *   background: the next faults go on meanwhile, so kills overlap partitions);
 * - `partition`: the CCNs split in two groups (one or two against the rest), every pair across
 *   cut both ways for 5–12 s;
 * - `one-way`: one CCN's packets to another dropped for 6–10 s (see partition.ts).
 * The first three faults are one of each, in a random order. At least three CCNs stay up.
 */
import type { ChaosNode } from './chaos-node.ts';
import type { Partitions } from './partition.ts';

export type Fault = 'kill' | 'partition' | 'one-way';

export interface FaultLog {
  at: number;
  what: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class ChaosFaults {
  readonly log: FaultLog[] = [];
  readonly counts: Record<Fault, number> = { kill: 0, partition: 0, 'one-way': 0 };
  readonly #nodes: ChaosNode[];
  readonly #partitions: Partitions;
  readonly #random: () => number;
  readonly #t0 = Date.now();
  readonly #restarts = new Set<Promise<void>>();
  /** Nodes killed and not yet restarted. */
  readonly #down = new Set<number>();

  constructor(nodes: ChaosNode[], partitions: Partitions, random: () => number) {
    this.#nodes = nodes;
    this.#partitions = partitions;
    this.#random = random;
  }

  #note(what: string): void {
    this.log.push({ at: (Date.now() - this.#t0) / 1000, what });
  }

  #between(min: number, max: number): number {
    return min + this.#random() * (max - min);
  }

  #shuffled<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.#random() * (i + 1));
      [out[i], out[j]] = [out[j] as T, out[i] as T];
    }
    return out;
  }

  /** Runs faults until `deadline` (epoch ms); the last one ends before or shortly after it. */
  async run(deadline: number): Promise<void> {
    const first = this.#shuffled<Fault>(['kill', 'partition', 'one-way']);
    while (Date.now() < deadline) {
      const r = this.#random();
      const fault: Fault = first.shift() ?? (r < 0.4 ? 'kill' : r < 0.8 ? 'partition' : 'one-way');
      if (fault === 'kill') this.#kill();
      else if (fault === 'partition') await this.#split(Math.min(this.#between(5_000, 12_000), Math.max(1000, deadline - Date.now())));
      else await this.#oneWay(Math.min(this.#between(6_000, 10_000), Math.max(1000, deadline - Date.now())));
      await sleep(this.#between(500, 2_500));
    }
  }

  #kill(): void {
    const up = this.#nodes.filter((n) => n.running && !this.#down.has(n.index));
    if (up.length <= 3) return;
    const node = up[Math.floor(this.#random() * up.length)] as ChaosNode;
    const downFor = this.#between(1_500, 5_000);
    this.#down.add(node.index);
    this.counts.kill++;
    this.#note(`kill -9 ccn${node.index}, restart in ${(downFor / 1000).toFixed(1)} s`);
    const restart = (async () => {
      await node.kill();
      await sleep(downFor);
      await node.start();
      this.#down.delete(node.index);
      this.#note(`ccn${node.index} restarted`);
    })();
    this.#restarts.add(restart);
    void restart.finally(() => this.#restarts.delete(restart)).catch(() => undefined);
  }

  async #split(holdMs: number): Promise<void> {
    const order = this.#shuffled(this.#nodes);
    const minority = order.slice(0, this.#random() < 0.5 ? 1 : 2);
    const majority = order.slice(minority.length);
    for (const a of minority) for (const b of majority) this.#partitions.cut(a, b);
    this.counts.partition++;
    this.#note(`partition {${minority.map((n) => n.index).join(',')}} | {${majority.map((n) => n.index).join(',')}} for ${(holdMs / 1000).toFixed(1)} s`);
    await sleep(holdMs);
    this.#partitions.heal();
    this.#note('partition healed');
  }

  async #oneWay(holdMs: number): Promise<void> {
    const [a, b] = this.#shuffled(this.#nodes) as [ChaosNode, ChaosNode];
    this.#partitions.drop(a, b);
    this.counts['one-way']++;
    this.#note(`one-way: ccn${a.index} → ccn${b.index} dropped for ${(holdMs / 1000).toFixed(1)} s`);
    await sleep(holdMs);
    this.#partitions.heal();
    this.#note('one-way healed');
  }

  /** Waits for the restarts under way (a failed restart fails the test). */
  async settle(): Promise<void> {
    await Promise.all([...this.#restarts]);
  }
}
