import { Command, Option } from 'commander';
import { exportAdapterGguf, exportBaseGguf, type GgufExportDtype } from '../model/export-gguf.ts';
import { readModelDir } from '../model/model-dir.ts';
import { loadPeftAdapter } from '../model/peft.ts';

/** `openledger export-gguf`: a model folder (and optionally a PEFT adapter) to GGUF files llama.cpp loads. */
export function modelCommands(program: Command): void {
  program
    .command('export-gguf')
    .description('convert a Hugging Face model folder, and optionally a PEFT adapter for it, to GGUF for llama.cpp')
    .argument('<model-dir>', 'folder with config.json, tokenizer.json and safetensors weights')
    .requiredOption('--out <file>', 'GGUF file of the base model')
    .option('--adapter <peft-dir>', 'a PEFT LoRA folder trained on this base (e.g. from `openledger job adapter`)')
    .option('--adapter-out <file>', 'GGUF file of the adapter (required with --adapter)')
    .addOption(new Option('--dtype <type>', 'storage of the base model’s matrices (quantised types: rows that are not whole blocks fall back to Q8_0 or F16)').choices(['F32', 'F16', 'BF16', 'Q8_0', 'Q4_0', 'Q4_K', 'Q6_K']).default('F16'))
    .action(async (dir: string, o: { out: string; adapter?: string; adapterOut?: string; dtype: GgufExportDtype }) => {
      if (o.adapter && !o.adapterOut) throw new Error('--adapter-out is required with --adapter');
      const model = await readModelDir(dir);
      if (model.quantized && model.quantized.size > 0) throw new Error(`${dir} is already a quantised GGUF file`);
      const tokenizerJson = model.tokenizer.toJson();
      await exportBaseGguf({ config: model.config, tensors: model.tensors, tokenizerJson, dtype: o.dtype, path: o.out });
      console.log(`base model written to ${o.out} (${o.dtype})`);
      if (o.adapter && o.adapterOut) {
        await exportAdapterGguf({ config: model.config, adapter: await loadPeftAdapter(o.adapter, { config: model.config }), path: o.adapterOut });
        console.log(`adapter written to ${o.adapterOut}`);
      }
    });
}
