/**
 * Suffix arrays of integer texts by SA-IS (Nong, Zhang & Chan 2009: induced sorting of the
 * left-most S-type suffixes, recursing on the string of their names), and LCP arrays by Kasai's
 * algorithm. Written for typed arrays: no object per suffix, and the recursion's reduced string
 * and its suffix array live inside the output array, so sorting n tokens needs the text (4n
 * bytes) and the output (4n bytes), plus two bucket arrays of the alphabet's size per recursion
 * level (the reduced alphabets are at most n/2, n/4, … names). Suffix types are never stored:
 * they are recomputed by scans, and the induction passes carry what they need in sign bits.
 *
 * The sentinel is virtual: callers pass the text as it is, and the suffix array orders its n
 * suffixes as if a unique symbol smaller than every token followed the text (so a suffix that is
 * a prefix of another sorts first: `[1, 1]` → `[1, 0]`).
 */

/** A text or alphabet the suffix array cannot be built for. */
export class SuffixArrayError extends Error {
  override name = 'SuffixArrayError';
}

/** Largest text length: positions and the recursion's names must fit an int32. */
export const MAX_SUFFIX_ARRAY_LENGTH = 0x7fff_fffe;

/**
 * The suffix array of `text` over the alphabet [0, alphabetSize): the starting positions of its
 * suffixes in lexicographic order (virtual sentinel, see the module comment). Linear time.
 * `out`, when given, must hold at least `text.length` entries and is reused as the result (its
 * first `text.length` entries are returned as a view).
 *
 * @example
 * suffixArray(Int32Array.of(2, 1, 2, 1, 0), 3); // Int32Array [4, 3, 1, 2, 0]
 */
export function suffixArray(text: Int32Array, alphabetSize: number, out?: Int32Array): Int32Array {
  const n = text.length;
  if (!Number.isInteger(alphabetSize) || alphabetSize < 1 || alphabetSize > 0x7fff_ffff) {
    throw new SuffixArrayError(`alphabet size must be an integer in [1, 2^31 - 1], got ${alphabetSize}`);
  }
  if (n > MAX_SUFFIX_ARRAY_LENGTH) throw new SuffixArrayError(`text of ${n} tokens is longer than the maximum ${MAX_SUFFIX_ARRAY_LENGTH}`);
  for (let i = 0; i < n; i++) {
    const c = text[i]!;
    if (c < 0 || c >= alphabetSize) throw new SuffixArrayError(`token ${c} at position ${i} is outside the alphabet [0, ${alphabetSize})`);
  }
  if (out !== undefined && out.length < n) throw new SuffixArrayError(`output array holds ${out.length} entries, the text has ${n}`);
  const sa = out === undefined ? new Int32Array(n) : out.length === n ? out : out.subarray(0, n);
  sais(text, sa, n, alphabetSize);
  return sa;
}

/** Bucket starts (`end` false) or ends (`end` true) from the symbol counts. */
function buckets(counts: Int32Array, bkt: Int32Array, k: number, end: boolean): void {
  let sum = 0;
  if (end) {
    for (let c = 0; c < k; c++) {
      sum += counts[c]!;
      bkt[c] = sum;
    }
  } else {
    for (let c = 0; c < k; c++) {
      bkt[c] = sum;
      sum += counts[c]!;
    }
  }
}

/*
 * No type array: an entry's sign says whether its predecessor is still to be induced. The L pass
 * stores an L-type suffix p as ~p when p - 1 is S-type (t[p-1] < t[p]), so the S pass induces
 * from it; the S pass stores an S-type p as ~p when p - 1 is S-type too (t[p-1] ≤ t[p]). Both
 * tests read t[p - 1], next to the t[p] being read anyway. 0 marks an empty slot (suffix 0 has no
 * predecessor, so it never induces anything).
 */

/** L pass: left to right, inducing the L-type suffixes; `clear` empties each entry used. */
function induceL(t: Int32Array, sa: Int32Array, counts: Int32Array, bkt: Int32Array, n: number, k: number, clear: boolean): void {
  buckets(counts, bkt, k, false);
  // The virtual sentinel sorts first; its predecessor n-1 is L-type and comes first in its bucket.
  let c = t[n - 1]!;
  sa[bkt[c]!++] = n - 1 > 0 && t[n - 2]! < c ? ~(n - 1) : n - 1;
  for (let i = 0; i < n; i++) {
    const v = sa[i]!;
    if (v <= 0) continue;
    const p = v - 1;
    c = t[p]!;
    sa[bkt[c]!++] = p > 0 && t[p - 1]! < c ? ~p : p;
    if (clear) sa[i] = 0;
  }
}

/**
 * S pass: right to left, inducing the S-type suffixes from the entries marked by the L pass.
 * With `clear`, each entry used is emptied, so that only the LMS suffixes stay (positive);
 * without, each is decoded, leaving the final suffix array.
 */
function induceS(t: Int32Array, sa: Int32Array, counts: Int32Array, bkt: Int32Array, n: number, k: number, clear: boolean): void {
  buckets(counts, bkt, k, true);
  for (let i = n - 1; i >= 0; i--) {
    const v = sa[i]!;
    if (v >= 0) continue;
    const j = ~v;
    sa[i] = clear ? 0 : j;
    const p = j - 1;
    const c = t[p]!;
    sa[--bkt[c]!] = p > 0 && t[p - 1]! <= c ? ~p : p;
  }
}

/** SA-IS proper on t[0, n) over [0, k), writing into sa[0, n). Types are recomputed by scans. */
function sais(t: Int32Array, sa: Int32Array, n: number, k: number): void {
  if (n === 0) return;
  if (n === 1) {
    sa[0] = 0;
    return;
  }
  const counts = new Int32Array(k);
  for (let i = 0; i < n; i++) counts[t[i]!]!++;
  const bkt = new Int32Array(k);

  // Stage 1: sort the LMS substrings by inducing from their unsorted positions. Types from a
  // right-to-left scan: the last suffix is greater than the sentinel's, so L-type.
  sa.fill(0, 0, n);
  buckets(counts, bkt, k, true);
  let n1 = 0;
  for (let i = n - 2, next = t[n - 1]!, nextS = false; i >= 0; i--) {
    const c = t[i]!;
    const s: boolean = c < next || (c === next && nextS);
    if (!s && nextS) {
      sa[--bkt[next]!] = i + 1;
      n1++;
    }
    next = c;
    nextS = s;
  }
  induceL(t, sa, counts, bkt, n, k, true);
  induceS(t, sa, counts, bkt, n, k, true);

  // Only the LMS suffixes are left, in sorted order of their LMS substrings: compact them.
  for (let i = 0, j = 0; i < n; i++) {
    const v = sa[i]!;
    if (v > 0) sa[j++] = v;
  }

  // Each LMS substring's length (to the next LMS position, or n + 1 for the last, which ends
  // with the sentinel), at sa[n1 + (p >> 1)]: LMS positions are ≥ 2 apart, so that is unique.
  sa.fill(-1, n1, n);
  for (let i = n - 2, next = t[n - 1]!, nextS = false, end = n; i >= 0; i--) {
    const c = t[i]!;
    const s: boolean = c < next || (c === next && nextS);
    if (!s && nextS) {
      sa[n1 + ((i + 1) >> 1)] = end - i;
      end = i + 1;
    }
    next = c;
    nextS = s;
  }
  // Name them: equal symbols over equal lengths (both ending at an LMS position, so with equal
  // types) share a name; a substring that reaches the sentinel is unique.
  let names = 0;
  for (let i = 0, prev = -1, prevLen = 0; i < n1; i++) {
    const p = sa[i]!;
    const len = sa[n1 + (p >> 1)]!;
    let differ = true;
    if (len === prevLen && p + len <= n && prev + len <= n) {
      let d = 0;
      while (d < len && t[p + d] === t[prev + d]) d++;
      differ = d < len;
    }
    if (differ) {
      names++;
      prev = p;
      prevLen = len;
    }
    sa[n1 + (p >> 1)] = names - 1;
  }
  // Gather the names in text order into the tail: the reduced string s1 = sa[n - n1, n).
  for (let i = n - 1, j = n; i >= n1; i--) {
    const v = sa[i]!;
    if (v >= 0) sa[--j] = v;
  }

  // Stage 2: the suffix array of the reduced string (recursing while names repeat).
  const s1 = sa.subarray(n - n1, n);
  const sa1 = sa.subarray(0, n1);
  if (names < n1) {
    sais(s1, sa1, n1, names);
  } else {
    for (let i = 0; i < n1; i++) sa1[s1[i]!] = i;
  }

  // Stage 3: the LMS suffixes in sorted order, placed at their buckets' ends, induce the rest.
  for (let i = n - 2, next = t[n - 1]!, nextS = false, j = n1; i >= 0; i--) {
    const c = t[i]!;
    const s: boolean = c < next || (c === next && nextS);
    if (!s && nextS) s1[--j] = i + 1;
    next = c;
    nextS = s;
  }
  for (let i = 0; i < n1; i++) sa1[i] = s1[sa1[i]!]!;
  sa.fill(0, n1, n);
  buckets(counts, bkt, k, true);
  for (let i = n1 - 1; i >= 0; i--) {
    const p = sa[i]!;
    sa[i] = 0;
    sa[--bkt[t[p]!]!] = p;
  }
  induceL(t, sa, counts, bkt, n, k, false);
  induceS(t, sa, counts, bkt, n, k, false);
}

/**
 * Kasai's LCP array: `lcp[i]` is the length of the longest common prefix of the suffixes at
 * `sa[i - 1]` and `sa[i]` (`lcp[0]` is 0). Linear time, one extra int32 per position.
 *
 * @example
 * const text = Int32Array.of(2, 1, 2, 1, 0);
 * lcpArray(text, suffixArray(text, 3)); // Int32Array [0, 0, 1, 0, 2]
 */
export function lcpArray(text: Int32Array, sa: Int32Array): Int32Array {
  const n = text.length;
  if (sa.length !== n) throw new SuffixArrayError(`suffix array has ${sa.length} entries, the text ${n}`);
  const rank = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const p = sa[i]!;
    if (p < 0 || p >= n) throw new SuffixArrayError(`suffix array entry ${p} at ${i} is outside the text`);
    rank[p] = i;
  }
  const lcp = new Int32Array(n);
  let h = 0;
  for (let i = 0; i < n; i++) {
    const r = rank[i]!;
    if (r === 0) {
      h = 0;
      continue;
    }
    const j = sa[r - 1]!;
    while (i + h < n && j + h < n && text[i + h] === text[j + h]) h++;
    lcp[r] = h;
    if (h > 0) h--;
  }
  return lcp;
}
