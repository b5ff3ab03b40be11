import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideEvidence } from './evidence.ts';

const p = { nullZ: 3, evidenceThresholdPpm: 400_000 };

describe('decideEvidence', () => {
  it('pays an answer whose information the fine-tuning supplied and the data holds verbatim', () => {
    const e = decideEvidence({ coverage: 0.95, influenceMargin: 2, adapterGain: 0.9 }, p);
    assert.equal(e.scorePpm, 855_000);
    assert.equal(e.abstained, false);
  });

  it('counts influence that stands out when nothing is verbatim: from 0 at nullZ to 1 at twice it', () => {
    assert.equal(decideEvidence({ coverage: 0, influenceMargin: 3, adapterGain: 1 }, p).scorePpm, 0);
    assert.equal(decideEvidence({ coverage: 0, influenceMargin: 4.5, adapterGain: 1 }, p).scorePpm, 500_000);
    assert.equal(decideEvidence({ coverage: 0.2, influenceMargin: 40, adapterGain: 0.8 }, p).scorePpm, 800_000);
  });

  it('abstains on what the fine-tuning did not supply (noise, the base model on its own), however it lines up', () => {
    for (const adapterGain of [0, -0.3]) {
      const e = decideEvidence({ coverage: 1, influenceMargin: 50, adapterGain }, p);
      assert.equal(e.scorePpm, 0);
      assert.equal(e.abstained, true);
    }
    assert.equal(decideEvidence({ coverage: 0.3, influenceMargin: 1, adapterGain: 1 }, p).abstained, true);
  });
});
