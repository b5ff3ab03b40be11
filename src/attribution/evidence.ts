import { PPM } from './combine-scores.ts';

/** What a receipt states about how well its attribution is supported. */
export interface Evidence {
  /** Share (0..1) of the output's information content (the base model's surprisal of its words not taken from the prompt) found verbatim, word for word, in the training data. */
  coverage: number;
  /** How far the strongest influence stands above the null baseline of all examples' scores, in robust standard deviations. */
  influenceMargin: number;
  /** Share (0..1) of the output's information (base-model surprisal) the fine-tuning supplied: (Σ base − Σ tuned surprisal) / Σ base surprisal over its tokens, clamped. */
  adapterGain: number;
  /** The evidence the governance threshold is applied to (ppm): the stronger of the coverage and the influence confidence, times the adapter gain. */
  scorePpm: number;
  /** Under the threshold: no contribution is credited; the contributors' share goes to the datanets' pools. */
  abstained: boolean;
}

/**
 * Decides whether an attribution has the evidence to pay individual contributions. The fine-tuning
 * must have supplied the output's information (the adapter gain: what the base model alone could
 * not predict and the fine-tuned model could), and that information must be traced to training
 * data — found there verbatim (coverage) or standing out in the influence scores (a confidence
 * rising from 0 at a margin of `nullZ` to 1 at twice that). Evidence = max(coverage, confidence) ×
 * gain; under `evidenceThresholdPpm` the attribution abstains. Noise (tokens neither model would
 * produce) and what the base model says on its own have no gain, however their gradients or
 * words happen to line up with a training example.
 *
 * @example
 * decideEvidence({ coverage: 0.92, influenceMargin: 7.1, adapterGain: 0.8 }, { nullZ: 3, evidenceThresholdPpm: 300_000 }); // { scorePpm: 736000, abstained: false, … }
 */
export function decideEvidence(found: { coverage: number; influenceMargin: number; adapterGain: number }, p: { nullZ: number; evidenceThresholdPpm: number }): Evidence {
  const confidence = Math.min(1, Math.max(0, (found.influenceMargin - p.nullZ) / Math.max(p.nullZ, 1e-9)));
  const scorePpm = Math.round(PPM * Math.max(found.coverage, confidence) * Math.min(1, Math.max(0, found.adapterGain)));
  return { coverage: found.coverage, influenceMargin: found.influenceMargin, adapterGain: found.adapterGain, scorePpm, abstained: scorePpm < p.evidenceThresholdPpm };
}
