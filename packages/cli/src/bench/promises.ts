/**
 * The bench's promises, read from one machine-readable file (`docs/promises.json`): the report
 * takes each figure's target from it by id, `--check` judges a run against it, and a test keeps
 * docs/SPECIFICATION.md stating the same limits. A figure no promise names has no target.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { UsageError } from '../common/fail.ts';
import type { Figure } from './report.ts';

export const DEFAULT_PROMISES_PATH = fileURLToPath(new URL('../../../../docs/promises.json', import.meta.url));

/** Scenario groups of `--only`; a promise names the group that measures its figure. */
export const GROUPS = ['ccn-ingest', 'ccn-files', 'ccn-network', 'crn-warm-path', 'crn-payments', 'cache', 'microvm', 'snapshot'] as const;

const bound = z
  .object({
    /** The limit applies to the figure's ratio (against its same-run baseline) or to its value. */
    on: z.enum(['ratio', 'value']),
    op: z.enum(['<=', '>=', '<', '>']),
    limit: z.number().finite(),
    /** Unit of a limit on a value (shown in the text). */
    unit: z.string().min(1).max(32).optional(),
  })
  .strict();

const promiseSchema = bound
  .extend({
    id: z.string().regex(/^[a-z0-9_]+(\.[A-Za-z0-9_]+)+$/).max(120),
    group: z.enum(GROUPS),
    /** What the promise is on, in words. */
    text: z.string().min(1).max(400),
    /** Another bound where the microVMs run under this accelerator. */
    accelerators: z.object({ tcg: bound.optional(), kvm: bound.optional() }).strict().optional(),
  })
  .strict();

export const promisesFileSchema = z
  .object({ $comment: z.string().max(2000).optional(), promises: z.array(promiseSchema).min(1).max(500) })
  .strict()
  .superRefine((file, ctx) => {
    const seen = new Set<string>();
    for (const p of file.promises) {
      if (seen.has(p.id)) ctx.addIssue({ code: 'custom', message: `promise ${p.id} is listed twice` });
      seen.add(p.id);
    }
  });

export type Bound = z.infer<typeof bound>;
export type BenchPromise = z.infer<typeof promiseSchema>;

/** Reads and validates a promises file; a missing or malformed file is a usage error (exit 2). */
export function loadPromises(path: string = DEFAULT_PROMISES_PATH): BenchPromise[] {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new UsageError(`cannot read the promises file ${path}: ${(err as Error).message}`);
  }
  const parsed = promisesFileSchema.safeParse(raw);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new UsageError(`invalid promises file ${path}: ${first ? `${first.path.join('.') || '(root)'}: ${first.message}` : 'schema mismatch'}`);
  }
  return parsed.data.promises;
}

/** `kvm` or `tcg` from the report's accelerator ("tcg (software emulation)"), else undefined. */
export function acceleratorKind(accelerator: string): 'kvm' | 'tcg' | undefined {
  const word = accelerator.split(' ')[0]?.toLowerCase();
  return word === 'kvm' || word === 'tcg' ? word : undefined;
}

/** The bound that applies under this accelerator. */
export function boundFor(p: BenchPromise, accelerator: string): { bound: Bound; accelerator?: 'kvm' | 'tcg' } {
  const kind = acceleratorKind(accelerator);
  const specific = kind ? p.accelerators?.[kind] : undefined;
  return specific && kind ? { bound: specific, accelerator: kind } : { bound: { on: p.on, op: p.op, limit: p.limit, ...(p.unit ? { unit: p.unit } : {}) } };
}

const OP_TEXT: Record<Bound['op'], string> = { '<=': '≤', '>=': '≥', '<': '<', '>': '>' };

export function boundText(b: Bound): string {
  return `${b.on} ${OP_TEXT[b.op]} ${b.limit}${b.on === 'value' && b.unit ? ` ${b.unit}` : ''}`;
}

/**
 * The canonical statement of a promise's limits, as docs/SPECIFICATION.md writes it: the bound,
 * then each accelerator's bound that differs, e.g. `value ≤ 10 MiB (TCG: value ≤ 40 MiB)`.
 */
export function promiseText(p: BenchPromise): string {
  const base = boundText({ on: p.on, op: p.op, limit: p.limit, ...(p.unit ? { unit: p.unit } : {}) });
  const extra = (['tcg', 'kvm'] as const)
    .map((k) => ({ k, b: p.accelerators?.[k] }))
    .filter((e): e is { k: 'tcg' | 'kvm'; b: Bound } => e.b !== undefined && boundText(e.b) !== base)
    .map((e) => `${e.k.toUpperCase()}: ${boundText(e.b)}`);
  return extra.length > 0 ? `${base} (${extra.join('; ')})` : base;
}

/** Whether `figure` keeps `b`: the measured quantity must exist and be finite. */
export function keeps(figure: Figure, b: Bound): boolean {
  const x = b.on === 'ratio' ? figure.ratio : figure.value;
  if (x === undefined || !Number.isFinite(x)) return false;
  switch (b.op) {
    case '<=':
      return x <= b.limit;
    case '>=':
      return x >= b.limit;
    case '<':
      return x < b.limit;
    case '>':
      return x > b.limit;
  }
}

/** Each figure's target from its promise (by id); figures no promise names carry none. */
export function applyPromises(figures: readonly Figure[], promises: readonly BenchPromise[], accelerator: string): Figure[] {
  const byId = new Map(promises.map((p) => [p.id, p]));
  return figures.map((f) => {
    const { target: _scenarioTarget, ...rest } = f;
    const p = byId.get(f.id);
    if (!p) return rest;
    const { bound: b, accelerator: kind } = boundFor(p, accelerator);
    return { ...rest, target: { text: `${boundText(b)}${kind ? ` (${kind.toUpperCase()})` : ''}`, met: keeps(f, b) } };
  });
}
