/**
 * GGUF LoRA adapters read as the engine's adapters: a Phi-3 adapter whose fused pairs share one A
 * (as llama.cpp's converter writes one trained by Python PEFT) reads exactly as the same adapter
 * in PEFT form; files that are not adapters for this base are refused by name.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ModelConfig } from './config.ts';
import { gguf, parseGguf, serializeGguf, type GgufTensorInput } from './gguf.ts';
import { GgufModelError, ggufLoraAdapter } from './import-gguf.ts';
import { parsePeftAdapter } from './peft.ts';
import { serializeSafetensors } from './safetensors.ts';
import type { TensorMap } from './tensor-map.ts';

const phi: ModelConfig = {
  architecture: 'phi3', vocabSize: 50, hiddenSize: 8, intermediateSize: 12, numLayers: 2, numHeads: 2, numKvHeads: 1, headDim: 4,
  rmsNormEps: 1e-5, ropeTheta: 10000, maxPositions: 64, tieEmbeddings: false, attentionBias: false,
};
const ramp = (n: number, seed: number) => new Float32Array(n).map((_, i) => Math.sin(seed * 100 + i));

test("a Phi-3 GGUF adapter with one A per fused matrix reads as the same adapter as its PEFT form", () => {
  const r = 2, d = 8, qkv = 16, f = 12;
  const peft: TensorMap = new Map(), ggufTensors: GgufTensorInput[] = [];
  for (let l = 0; l < 2; l++) {
    for (const [module, name, out, seed] of [['self_attn.qkv_proj', 'attn_qkv', qkv, 10], ['mlp.gate_up_proj', 'ffn_up', 2 * f, 20], ['self_attn.o_proj', 'attn_output', d, 30]] as const) {
      const inDim = module === 'self_attn.o_proj' ? 8 : d;
      const a = ramp(r * inDim, seed + l), b = ramp(out * r, seed + 5 + l);
      peft.set(`base_model.model.model.layers.${l}.${module}.lora_A.weight`, { shape: [r, inDim], data: a });
      peft.set(`base_model.model.model.layers.${l}.${module}.lora_B.weight`, { shape: [out, r], data: b });
      ggufTensors.push({ name: `blk.${l}.${name}.weight.lora_a`, shape: [r, inDim], type: 'F32', data: a }, { name: `blk.${l}.${name}.weight.lora_b`, shape: [out, r], type: 'F32', data: b });
    }
  }
  const metadata = new Map([['general.architecture', gguf.str('phi3')], ['general.type', gguf.str('adapter')], ['adapter.type', gguf.str('lora')], ['adapter.lora.alpha', gguf.f32(6)]]);
  const bytes = serializeGguf({ metadata, tensors: ggufTensors });
  const fromGguf = ggufLoraAdapter(parseGguf(bytes), bytes, phi);
  const fromPeft = parsePeftAdapter({ 'adapter_config.json': JSON.stringify({ r, lora_alpha: 6 }), 'adapter_model.safetensors': serializeSafetensors(peft) }, { config: phi });
  assert.deepEqual(fromGguf.layers, fromPeft.layers);
  assert.deepEqual([fromGguf.config.r, fromGguf.config.alpha, fromGguf.config.targetModules], [2, 6, fromPeft.config.targetModules]);

  const llama = serializeGguf({ metadata: new Map([...metadata, ['general.architecture', gguf.str('llama')]]), tensors: ggufTensors.slice(0, 2) });
  assert.throws(() => ggufLoraAdapter(parseGguf(llama), llama, phi), (e: Error) => e instanceof GgufModelError && /for "llama", the base model is "phi3"/.test(e.message));
  // a tensor named after an object property is a name like any other: refused by name
  const odd = serializeGguf({ metadata, tensors: [{ name: 'blk.0.constructor.weight.lora_a', shape: [2, 8], type: 'F32', data: ramp(16, 1) }, { name: 'blk.0.constructor.weight.lora_b', shape: [8, 2], type: 'F32', data: ramp(16, 2) }] });
  assert.throws(() => ggufLoraAdapter(parseGguf(odd), odd, phi), (e: Error) => e instanceof GgufModelError && /"constructor" is not a projection/.test(e.message));
  const base = serializeGguf({ metadata: new Map([['general.architecture', gguf.str('phi3')], ['general.type', gguf.str('model')]]), tensors: [] });
  assert.throws(() => ggufLoraAdapter(parseGguf(base), base, phi), /not a LoRA adapter/);
});
