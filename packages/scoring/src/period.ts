/**
 * A node's score over a reward period, from the score posts published for (parts of) it. Each
 * post covers `[from_date, to_date)`; a node's period score is the mean of its scores weighted by
 * how much of the reward period each post covers. A node absent from a post scores 0 for that
 * post's time (it was not measured, or not found). Posts of one sender for the same period are
 * counted once (the latest by time, then item hash). Pure, so anyone with the same posts gets the
 * same numbers.
 */

export interface ScoreEntry {
  node_id: string;
  total_score: number;
  decentralization: number;
}

export interface PeriodScoresPost {
  itemHash: string;
  sender: string;
  /** The post's time (only orders duplicates). */
  time: number;
  from: number;
  to: number;
  ccn: readonly ScoreEntry[];
  crn: readonly ScoreEntry[];
}

export interface NodePeriodScore {
  score: number;
  decentralization: number;
}

export interface PeriodScores {
  ccn: Map<string, NodePeriodScore>;
  crn: Map<string, NodePeriodScore>;
  /** Seconds of the reward period covered by score posts (overlaps counted per post). */
  coveredSeconds: number;
  /** Item hashes of the posts used, in order. */
  posts: string[];
}

/** Keeps one post per (sender, from, to): the latest. */
function latestPerPeriod(posts: readonly PeriodScoresPost[]): PeriodScoresPost[] {
  const byKey = new Map<string, PeriodScoresPost>();
  for (const p of posts) {
    const key = `${p.sender.toLowerCase()} ${p.from} ${p.to}`;
    const prev = byKey.get(key);
    if (!prev || p.time > prev.time || (p.time === prev.time && p.itemHash > prev.itemHash)) byKey.set(key, p);
  }
  return [...byKey.values()].sort((a, b) => a.from - b.from || a.to - b.to || (a.itemHash < b.itemHash ? -1 : 1));
}

export function periodScores(posts: readonly PeriodScoresPost[], from: number, to: number): PeriodScores {
  const used = latestPerPeriod(posts).filter((p) => p.to > from && p.from < to && p.to > p.from);
  const weights = used.map((p) => Math.min(p.to, to) - Math.max(p.from, from));
  const total = weights.reduce((s, w) => s + w, 0);
  const average = (kind: 'ccn' | 'crn'): Map<string, NodePeriodScore> => {
    const sums = new Map<string, { score: number; decentralization: number }>();
    used.forEach((p, i) => {
      const w = weights[i] as number;
      for (const e of p[kind]) {
        const s = sums.get(e.node_id) ?? { score: 0, decentralization: 0 };
        s.score += w * e.total_score;
        s.decentralization += w * e.decentralization;
        sums.set(e.node_id, s);
      }
    });
    const out = new Map<string, NodePeriodScore>();
    for (const id of [...sums.keys()].sort()) {
      const s = sums.get(id) as { score: number; decentralization: number };
      out.set(id, { score: total > 0 ? s.score / total : 0, decentralization: total > 0 ? s.decentralization / total : 0 });
    }
    return out;
  };
  return { ccn: average('ccn'), crn: average('crn'), coveredSeconds: total, posts: used.map((p) => p.itemHash) };
}
