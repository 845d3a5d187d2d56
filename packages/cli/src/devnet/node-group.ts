/**
 * Every node process the devnet started, from the moment it is spawned: a stop request during
 * start-up reaches the nodes still starting too. Stopping sends each node exactly one SIGTERM,
 * CRNs first (they stop their workloads while their CCN still answers), then CCNs, and waits for
 * every process to exit. Once stopping has begun, no new node may start.
 */
import { spawnChildNode, type ChildNode, type ChildNodeSpec, type SpawnedNode } from '../common/child-node.ts';

export class NodeGroup {
  readonly #nodes: { kind: ChildNodeSpec['kind']; node: SpawnedNode }[] = [];
  #stopping = false;

  get stopping(): boolean {
    return this.#stopping;
  }

  /** Spawns a node in its own process group and waits until it is ready. */
  async start(spec: Omit<ChildNodeSpec, 'ownProcessGroup'>): Promise<ChildNode> {
    if (this.#stopping) throw new Error(`not starting ${spec.label}: the devnet is stopping`);
    const node = spawnChildNode({ ...spec, ownProcessGroup: true });
    this.#nodes.push({ kind: spec.kind, node });
    return node.ready;
  }

  /** Each node's label and the promise of its exit. */
  exits(): [label: string, exited: Promise<number | null>][] {
    return this.#nodes.map((n) => [n.node.label, n.node.exited]);
  }

  /** Labels of the nodes whose process still runs. */
  running(): string[] {
    return this.#nodes.filter((n) => n.node.running).map((n) => n.node.label);
  }

  /**
   * CRNs, then CCNs; the nodes of one kind stop together. `graceMs`: how long a node may take
   * before SIGKILL (a CRN powering off VMs under software emulation needs a long one).
   */
  async stopAll(graceMs: { crn: number; ccn: number }): Promise<void> {
    this.#stopping = true;
    for (const kind of ['crn', 'ccn'] as const) {
      await Promise.all(this.#nodes.filter((n) => n.kind === kind).map((n) => n.node.stop(graceMs[kind])));
    }
  }
}
