"""PyTorch + PEFT's figures for bench/gpu.ts: the same model, batch and adapter mix, on CUDA.

bench/gpu.ts runs this where `python3` has torch (with CUDA), transformers and peft, and prints
the ratios; it prints one JSON object on stdout:
  {"device": ..., "train_tokens_per_s": ..., "decode_tokens_per_s": {"1": ..., "100": ...}}

Training: rank-8 LoRA on all seven projections, AdamW, 8 sequences x 128 tokens per step, f32.
Decode: `requests` prompts of 16 random tokens, 32 greedy tokens each, all in one batch; with
several adapters each row names its own (PEFT's mixed-adapter batches, `adapter_names`).

Usage: python3 bench/gpu-pytorch.py MODEL_DIR REQUESTS ADAPTER_COUNTS(comma-separated)
"""
import json
import sys
import time

import torch
from peft import LoraConfig, get_peft_model
from transformers import LlamaForCausalLM

model_dir, requests, counts = sys.argv[1], int(sys.argv[2]), [int(c) for c in sys.argv[3].split(",")]
targets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
device = torch.device("cuda")
torch.manual_seed(0)


def lora_config():
    # init_lora_weights=False: random B as well, so every adapter changes the output
    return LoraConfig(r=8, lora_alpha=16, target_modules=targets, lora_dropout=0.0, init_lora_weights=False)


def timed(fn, reps):
    fn()  # warm-up (kernels chosen, memory allocated)
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2]


base = LlamaForCausalLM.from_pretrained(model_dir, torch_dtype=torch.float32).to(device)
vocab = base.config.vocab_size
model = get_peft_model(base, lora_config(), adapter_name="a0")

# ── LoRA training ──
model.train()
batch = torch.randint(0, vocab, (8, 128), device=device)
optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)


def train_step():
    loss = model(input_ids=batch, labels=batch).loss
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)


train_seconds = timed(train_step, 10)

# ── decode with 1, 100, … adapters ──
model.eval()
prompts = torch.randint(1, vocab, (requests, 16), device=device)
for i in range(1, max(counts)):
    model.add_adapter(f"a{i}", lora_config())
decode = {}
for count in counts:
    names = [f"a{i % count}" for i in range(requests)]

    def run():
        with torch.no_grad():
            kwargs = {"adapter_names": names} if count > 1 else {}
            if count == 1:
                model.set_adapter("a0")
            model.generate(input_ids=prompts, attention_mask=torch.ones_like(prompts), max_new_tokens=32, min_new_tokens=32, do_sample=False, pad_token_id=0, **kwargs)

    decode[str(count)] = requests * 32 / timed(run, 3)

print(json.dumps({"device": torch.cuda.get_device_name(0), "train_tokens_per_s": 8 * 128 / train_seconds, "decode_tokens_per_s": decode}))
