export { main as ccnMain } from './ccn/program.ts';
export { main as crnMain } from './crn/program.ts';
export { EXIT } from './common/exit-codes.ts';
// What the devnet and the tests share: a node daemon as a child process, signed publications to
// a CCN (messages, stored files, programs, the registry's node posts), free ports.
export { spawnChildNode, startChildNode, type ChildNode, type ChildNodeSpec, type SpawnedNode } from './common/child-node.ts';
export { CcnRequestError, publishMessage, uploadStoredFile } from './common/ccn-client.ts';
export { amendNode, createCoreNode, createResourceNode, linkResourceNode, unlinkResourceNode } from './common/registry-operations.ts';
export { buildSampleZip, buildZip, publishProgram, publishSampleProgram, storeFile, type ProgramSpec } from './devnet/sample-program.ts';
export { publishInstanceImage, publishRuntime } from './devnet/runtime.ts';
export { assertPortFree, pickFreePort } from './devnet/ports.ts';
