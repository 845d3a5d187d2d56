/**
 * Cost-estimation contents are message contents plus `estimated_size_mib` on the code, runtime,
 * data and immutable volumes of a program, the volumes of an instance and a STORE (pyaleph's
 * CostEstimation*Content). Removing those fields gives a content the message schemas validate.
 */
import type { CostMessageType } from '@aleph-nodes/protocol';

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function strip(v: unknown): unknown {
  if (!isRecord(v) || !Object.hasOwn(v, 'estimated_size_mib')) return v;
  const { estimated_size_mib: _dropped, ...rest } = v;
  return rest;
}

/** A shallow copy of `content` without the estimate fields (anything else is left for the schema to judge). */
export function withoutEstimates(type: CostMessageType, content: unknown): unknown {
  if (!isRecord(content)) return content;
  if (type === 'STORE') return strip(content);
  const out: Record<string, unknown> = { ...content };
  if (Array.isArray(content['volumes'])) out['volumes'] = content['volumes'].map(strip);
  if (type === 'PROGRAM') {
    for (const key of ['code', 'runtime', 'data']) if (Object.hasOwn(content, key)) out[key] = strip(content[key]);
  }
  return out;
}
