/*
 * quantize.h - re-encodes a model into a GGUF file of another weight type.
 *
 * SRC is a GGUF file (every key is copied, every tensor re-encoded) or a
 * Hugging Face checkpoint directory of a dense llama/qwen2 model (keys are
 * written the way llama.cpp's converter writes them: architecture keys from
 * config.json, tokenizer keys from tokenizer.json, llama q/k rows permuted to
 * the interleaved RoPE layout, rope_freqs for llama3 scaling) or of a
 * deepseek2 model (DeepseekV2/V3, BF16 or FP8 with block scales: deepseek2.*
 * keys and llama.cpp's MLA tensor layout, kv_b_proj split into attn_k_b /
 * attn_v_b, experts stacked, MTP layers left out).  TYPE is F32,
 * F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K (= Q4_K_S), Q6_K or the mixed preset
 * Q4_K_M.  See quantize.c for the per-tensor rules.  The output appears only
 * when complete (written to OUT.part, then renamed).
 */
#ifndef DC_QUANTIZE_H
#define DC_QUANTIZE_H

/* show_progress: draw a progress bar and a summary on stderr.  warn and err
 * are DC_ERR_LEN buffers; warn gets "" or a warning (e.g. no tokenizer). */
int quant_run(const char *src, const char *dst, const char *type, int show_progress, char *warn, char *err);

#endif
