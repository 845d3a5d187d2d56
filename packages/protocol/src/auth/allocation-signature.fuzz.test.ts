import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { fuzzRuns } from '@aleph-nodes/protocol/testing';
import { EthAccount } from '../crypto/eth.ts';
import { encodeHex, utf8 } from '../crypto/hex.ts';
import { sha256Hex } from '../crypto/sha256.ts';
import { ProtocolError } from '../errors.ts';
import { MemoryReplayGuard } from './allocation-replay.ts';
import { parseAllocationAuthorization, signAllocationRequest, verifyAllocationRequest, type AllocationSelf } from './allocation-signature.ts';

const NOW = 1_795_300_000;
const PATH = '/control/allocations';
const BODY = '{"persistent_vms":[],"instances":[]}';
const signer = EthAccount.generate();
const SELF: AllocationSelf = { nodeHash: 'a'.repeat(64), domain: 'crn-a.example.org' };

/** Runs `fn`; anything thrown must be a ProtocolError. */
const hexString = (minLength: number, maxLength: number): fc.Arbitrary<string> => fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength, maxLength });

function onlyProtocolErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ProtocolError, `not a ProtocolError: ${(err as Error)?.stack ?? String(err)}`);
  }
}

const header = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.tuple(fc.constantFrom('Aleph-EIP191-V1', 'aleph-eip191-v1', 'Bearer', ''), fc.string(), fc.string()).map(([s, a, b]) => `${s} sig=${a},payload=${b}`),
  fc.tuple(hexString(0, 200), fc.jsonValue()).map(([sig, payload]) => `Aleph-EIP191-V1 sig=0x${sig},payload=${encodeHex(utf8(JSON.stringify(payload)))}`),
);

/** Payloads near the real one: every field present or not, of the right type or not. */
const nearPayload = fc.record(
  {
    method: fc.oneof(fc.constant('POST'), fc.anything()),
    path: fc.oneof(fc.constant(PATH), fc.anything()),
    body_sha256: fc.oneof(fc.constant(sha256Hex(BODY)), fc.string()),
    iat: fc.oneof(fc.constant(NOW), fc.integer(), fc.double(), fc.anything()),
    node_hash: fc.oneof(fc.constant(SELF.nodeHash), fc.constant(null), hexString(64, 64), fc.anything()),
    url: fc.oneof(fc.constant('https://crn-a.example.org'), fc.string(), fc.webUrl(), fc.anything()),
  },
  { requiredKeys: [] },
);

describe('allocation Authorization (fuzz)', () => {
  it('the header parser throws only ProtocolErrors', () => {
    fc.assert(fc.property(header, (h) => onlyProtocolErrors(() => parseAllocationAuthorization(h))), { numRuns: fuzzRuns() });
  });

  it('the verifier throws only ProtocolErrors, whatever the header, body and request line', () => {
    fc.assert(
      fc.property(header, fc.string(), fc.string(), fc.boolean(), fc.option(fc.integer({ min: -1, max: 2 * 1024 * 1024 })), fc.uint8Array({ maxLength: 64 }), (authorization, method, path, hasQuery, contentLength, body) => {
        onlyProtocolErrors(() =>
          verifyAllocationRequest({ authorization, method, path, hasQuery, contentLength: contentLength ?? undefined, body }, { authorizedSigners: [signer.address], replay: new MemoryReplayGuard(), self: SELF, now: NOW }),
        );
      }),
      { numRuns: fuzzRuns() },
    );
  });

  it('signed near-valid payloads: only ProtocolErrors, and a payload that verifies names this node', () => {
    fc.assert(
      fc.property(nearPayload, fc.boolean(), (payload, allowUnbound) => {
        const json = JSON.stringify(payload);
        const authorization = `Aleph-EIP191-V1 sig=${signer.signPersonal(json)},payload=${encodeHex(utf8(json))}`;
        const body = utf8(BODY);
        let verified = false;
        onlyProtocolErrors(() => {
          verifyAllocationRequest(
            { authorization, method: 'POST', path: PATH, hasQuery: false, contentLength: body.length, body },
            { authorizedSigners: [signer.address], replay: new MemoryReplayGuard(), self: SELF, now: NOW, allowUnbound },
          );
          verified = true;
        });
        if (verified) {
          // What was signed (JSON drops undefined fields).
          const sent = JSON.parse(json) as Record<string, unknown>;
          const bound = 'node_hash' in sent || 'url' in sent;
          assert.ok(bound ? sent.node_hash === SELF.nodeHash : allowUnbound, json);
        }
      }),
      { numRuns: fuzzRuns() },
    );
  });

  it('a push signed for any other node never verifies here', () => {
    fc.assert(
      fc.property(hexString(64, 64), fc.webUrl(), (hash, url) => {
        fc.pre(hash.toLowerCase() !== SELF.nodeHash);
        const body = utf8(BODY);
        const authorization = signAllocationRequest(signer, { method: 'POST', path: PATH, body, iat: NOW, target: { nodeHash: hash, url } });
        assert.throws(
          () => verifyAllocationRequest({ authorization, method: 'POST', path: PATH, hasQuery: false, contentLength: body.length, body }, { authorizedSigners: [signer.address], replay: new MemoryReplayGuard(), self: SELF, now: NOW }),
          (err: unknown) => err instanceof ProtocolError && err.code === 'AUTH_MISMATCH',
        );
      }),
      { numRuns: fuzzRuns() },
    );
  });
});
