/**
 * The rotary embedding of a layer as data (what the backends' `rope` and `ropeRows` turn): the
 * angular speed of each rotated pair. Pair i of a head is its dimensions (i, i + n/2), n = the
 * rotated width (Hugging Face's rotate-half layout); dimensions past n pass unrotated (partial
 * rotary, Phi-4-mini). Scaling for long contexts (`rope_scaling`) only changes the speeds, so the
 * kernels never see it.
 */
import type { ModelConfig, RopeScaling } from './config.ts';

export interface Rotary {
  /** [n/2] radians per position of each rotated pair, slowest last. */
  readonly invFreq: Float64Array;
  /** Identifies the speeds (backends cache one cos/sin table per rotary). */
  readonly key: string;
}

const cache = new Map<string, Rotary>();
const perConfig = new WeakMap<ModelConfig, Array<Rotary | null>>();

/**
 * The rotary of layer `layer`, or `null` where the layer has none (SmolLM3's no-rope layers).
 * Sliding-window layers of Gemma 3 use `localRopeTheta` and no scaling.
 *
 * @example
 * const rotary = rotaryOf(config, 0); // rotary.invFreq[0] === 1
 */
export function rotaryOf(config: ModelConfig, layer: number): Rotary | null {
  // asked for every layer of every pass: worked out once per config and layer
  let layers = perConfig.get(config);
  if (!layers) perConfig.set(config, (layers = []));
  const known = layers[layer];
  if (known !== undefined) return known;
  return (layers[layer] = rotaryOfLayer(config, layer));
}

function rotaryOfLayer(config: ModelConfig, layer: number): Rotary | null {
  if (config.noRopeLayers?.includes(layer)) return null;
  const local = config.localRopeTheta !== undefined && config.layerAttention?.[layer] === 'sliding';
  const theta = local ? config.localRopeTheta! : config.ropeTheta;
  const scaling = local ? undefined : config.ropeScaling;
  const n = config.rotaryDim ?? config.headDim;
  const key = `${n}/${theta}/${scaling ? JSON.stringify(scaling) : ''}`;
  let rotary = cache.get(key);
  if (!rotary) {
    rotary = { invFreq: scaledFrequencies(n, theta, scaling), key };
    cache.set(key, rotary);
  }
  return rotary;
}

/**
 * The factor the attention logits are multiplied by after the rotation: `queryScale` (default
 * 1/√headDim) times longrope's attention factor squared (Hugging Face multiplies both cos and
 * sin by it, so every q·k by its square).
 *
 * @example
 * attentionScale({ ...config, headDim: 64 }); // 0.125
 */
export function attentionScale(config: ModelConfig): number {
  const base = config.queryScale ?? 1 / Math.sqrt(config.headDim);
  const s = config.ropeScaling;
  return s?.type === 'longrope' ? base * s.attentionFactor ** 2 : base;
}

/** The speeds of n/2 pairs: θ^(−2i/n), then stretched as `scaling` says. */
function scaledFrequencies(n: number, theta: number, scaling: RopeScaling | undefined): Float64Array {
  const half = n / 2;
  const inv = Float64Array.from({ length: half }, (_, i) => 1 / theta ** ((2 * i) / n));
  if (!scaling) return inv;
  switch (scaling.type) {
    case 'linear':
      return inv.map((f) => f / scaling.factor);
    case 'llama3': {
      // wavelengths longer than original/lowFreqFactor slow down by `factor`, shorter than
      // original/highFreqFactor stay, and those between blend the two linearly in original/wavelength
      const { factor, lowFreqFactor: low, highFreqFactor: high, originalMaxPositions: original } = scaling;
      return inv.map((f) => {
        const wavelength = (2 * Math.PI) / f;
        if (wavelength < original / high) return f;
        if (wavelength > original / low) return f / factor;
        const smooth = (original / wavelength - low) / (high - low);
        return (1 - smooth) * (f / factor) + smooth * f;
      });
    }
    case 'longrope':
      return inv.map((f, i) => f / scaling.shortFactor[i]!);
    case 'frequencyFactors':
      return inv.map((f, i) => f / scaling.factors[i]!);
  }
}
