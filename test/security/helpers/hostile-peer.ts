/**
 * A hostile libp2p peer for attack tests: a js-libp2p node of its own (TCP, noise, yamux,
 * gossipsub with StrictSign, like any CCN) that joins the message topic of a real CCN and
 * publishes whatever bytes the test wants, bypassing every check a CCN would make.
 */
import '../../../packages/ccn/src/p2p/es2024.ts';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { gossipsub, type GossipSub } from '@libp2p/gossipsub';
import { identify } from '@libp2p/identify';
import type { Libp2p } from '@libp2p/interface';
import { tcp } from '@libp2p/tcp';
import { multiaddr } from '@multiformats/multiaddr';
import { createLibp2p } from 'libp2p';

export interface HostilePeer {
  peerId: string;
  node: Libp2p<{ identify: unknown; pubsub: GossipSub }>;
  /** Dials `address` (a CCN's /ip4/.../tcp/.../p2p/<id>) and joins `topic`. */
  join(address: string, topic: string): Promise<void>;
  /** Publishes raw bytes; resolves with the number of peers gossipsub sent them to. */
  publish(topic: string, data: Uint8Array): Promise<number>;
  /** True while a connection to `peerId` is open. */
  connectedTo(peerId: string): boolean;
  stop(): Promise<void>;
}

export async function startHostilePeer(): Promise<HostilePeer> {
  const node = (await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: {
      identify: identify(),
      // It publishes to anyone subscribed, whatever their opinion of it.
      pubsub: gossipsub({ allowPublishToZeroTopicPeers: true, floodPublish: true, ignoreDuplicatePublishError: true, fallbackToFloodsub: false }),
    },
  })) as unknown as HostilePeer['node'];
  return {
    peerId: node.peerId.toString(),
    node,
    async join(address, topic) {
      node.services.pubsub.subscribe(topic);
      await node.dial(multiaddr(address));
    },
    async publish(topic, data) {
      const { recipients } = await node.services.pubsub.publish(topic, data);
      return recipients.length;
    },
    connectedTo(peerId) {
      return node.getConnections().some((c) => c.remotePeer.toString() === peerId);
    },
    async stop() {
      await node.stop();
    },
  };
}
