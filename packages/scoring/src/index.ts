/** @aleph-nodes/scoring: node scores and reward distribution as pure functions of metrics. */
export * from './measurements.ts';
export * from './multiplier.ts';
export * from './percentile.ts';
export * from './performance.ts';
export * from './decentralization.ts';
export * from './scores.ts';
export * from './rewards.ts';
export * from './period.ts';
export * from './canonical.ts';
