/**
 * The integration tests' kit (as Temporal's `packages/testing`): one node spawner, one
 * `eventually`, one small network. It lives under test/ rather than in a workspace package: it
 * depends on every package (cli included) and only the tests use it, and a package under
 * packages/ would be held to the production checks (structure, duplication) it is not made for.
 */
export { eventually, getJson } from '../helpers/eventually.ts';
export { freePort } from '../helpers/net.ts';
export { startNodeProcess, REPO_ROOT, type NodeKind, type NodeProcess, type NodeSettings, type StartNodeOptions } from './node-process.ts';
export { startNetwork, type NetworkCrn, type NetworkSpec, type TestNetwork } from './network.ts';
