/**
 * Contribution groups: training documents that say the same thing (copies, near-duplicates and
 * paraphrases, from one contributor or several) form one group, and attribution credits a group
 * once, through its earliest member — so padding a datanet with rewordings of a fact earns
 * nothing, and restating someone else's fact later earns nothing either (decision 0013).
 *
 * Two documents say the same thing when the weighted Jaccard (Ruzicka) similarity of their words
 * reaches the threshold: Σ min(wₐ, w_b) / Σ max(wₐ, w_b) over their words, each word weighted by
 * its information content — the surprisal of its tokens under the base model. Template and
 * function words weigh ~0, so the words the base model could not predict (names, values, terms)
 * decide: "The capital of Zorvania is Quillmere." and "Quillmere is the capital city of
 * Zorvania." share both names; Zorvania's language, Quillmere's mayor and the capital of Zorvenia
 * share one name or none. Groups are the connected components of that relation: they do not
 * depend on the order documents are compared in. Candidate pairs are documents that share one of
 * their heaviest words.
 */

export interface GroupOptions {
  /** Similarity (0..1] at which two documents are one group. */
  threshold: number;
  /** Each document is compared with the documents sharing one of its this-many heaviest words. */
  keyWords?: number;
  /** Words in more documents than this are no key (they would pair everything). */
  maxKeyFrequency?: number;
}

export interface ContributionGroups {
  /** Per document: its group's representative (the earliest member), or -1 for a document with no words (held out). */
  representative: Int32Array;
  /** Members of each representative's group, earliest first (the representative itself first). */
  members: ReadonlyMap<number, readonly number[]>;
}

/** Bad grouping options. */
export class GroupOptionsError extends Error {
  override name = 'GroupOptionsError';
}

/**
 * Weighted Jaccard (Ruzicka) similarity of two weighted word sets.
 *
 * @example
 * similarity(new Map([['zorvania', 9], ['capital', 0.5]]), new Map([['zorvania', 8], ['language', 0.7]])); // 8 / 10.2
 */
export function similarity(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): number {
  let shared = 0, all = 0;
  for (const [w, x] of a) {
    const y = b.get(w) ?? 0;
    shared += Math.min(x, y);
    all += Math.max(x, y);
  }
  for (const [w, y] of b) if (!a.has(w)) all += y;
  return all > 0 ? shared / all : 0;
}

/**
 * Groups documents given as weighted word sets (empty: not indexed, in no group). `earlier(a, b)`
 * orders documents by when their contributions came (negative when a came first) and must be a
 * total order.
 *
 * @example
 * const groups = groupContributions(documentWords, (a, b) => order[a] - order[b], { threshold: 0.6 });
 */
export function groupContributions(documents: ReadonlyArray<ReadonlyMap<string, number>>, earlier: (a: number, b: number) => number, o: GroupOptions): ContributionGroups {
  const keyWords = o.keyWords ?? 4, maxFrequency = o.maxKeyFrequency ?? 256;
  if (!(o.threshold > 0 && o.threshold <= 1)) throw new GroupOptionsError(`threshold must be in (0, 1], got ${o.threshold}`);
  if (!Number.isInteger(keyWords) || keyWords < 1) throw new GroupOptionsError(`keyWords must be a positive integer, got ${keyWords}`);
  const n = documents.length;
  const postings = new Map<string, number[]>();
  documents.forEach((words, d) => {
    for (const w of words.keys()) {
      let p = postings.get(w);
      if (!p) postings.set(w, (p = []));
      p.push(d);
    }
  });
  const parent = Int32Array.from({ length: n }, (_, i) => i);
  const find = (x: number): number => {
    while (parent[x] !== x) x = parent[x] = parent[parent[x]!]!;
    return x;
  };
  const compared = new Set<number>();
  for (let d = 0; d < n; d++) {
    const keys = [...documents[d]!.entries()]
      .filter(([w, x]) => x > 0 && postings.get(w)!.length > 1 && postings.get(w)!.length <= maxFrequency)
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, keyWords);
    for (const [w] of keys) {
      for (const e of postings.get(w)!) {
        if (e === d) continue;
        const [a, b] = d < e ? [d, e] : [e, d];
        const key = a * n + b;
        if (compared.has(key)) continue;
        compared.add(key);
        if (find(a) !== find(b) && similarity(documents[a]!, documents[b]!) >= o.threshold) parent[find(a)] = find(b);
      }
    }
  }
  const byRoot = new Map<number, number[]>();
  const representative = new Int32Array(n).fill(-1);
  for (let d = 0; d < n; d++) {
    if (documents[d]!.size === 0) continue;
    const r = find(d);
    let m = byRoot.get(r);
    if (!m) byRoot.set(r, (m = []));
    m.push(d);
  }
  const members = new Map<number, number[]>();
  for (const m of byRoot.values()) {
    m.sort(earlier);
    members.set(m[0]!, m);
    for (const d of m) representative[d] = m[0]!;
  }
  return { representative, members };
}
