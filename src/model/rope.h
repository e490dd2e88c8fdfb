/*
 * rope.h - rotary position embedding tables (plain, linear, llama3, YaRN).
 *
 * rope_init computes, once at load, the inverse frequency of every rotated
 * pair and the attention factor YaRN multiplies cos/sin by, following the HF
 * transformers definitions (modeling_rope_utils: default, linear, llama3,
 * yarn).  rope_angles / rope_apply_cs rotate a head vector in place at a
 * position, with the pairing the weights were laid out for (adjacent pairs or
 * half split).
 */
#ifndef DC_ROPE_H
#define DC_ROPE_H

#include <stdint.h>

struct hparams;

#define ROPE_MAX_PAIRS 512

struct rope {
    int pairing;                     /* enum hp_rope_pairing */
    int64_t n_dims;                  /* rotated dims (even) */
    float inv_freq[ROPE_MAX_PAIRS];  /* radians per position, per pair */
    float attn_factor;               /* multiplies cos and sin (YaRN mscale), else 1 */
};

/* freq_factors: optional per-pair divisors (GGUF llama3 `rope_freqs.weight`),
 * NULL to derive the scaling from hp. */
int rope_init(struct rope *r, const struct hparams *hp, const float *freq_factors, char *err);

/* A rotation in two steps, so the many heads of a token share one set of
 * cos / sin: rope_angles fills cs[0..n_dims) with (cos, sin) x attn_factor of
 * each pair at pos (HF: angle = inv_freq * pos in float32); rope_apply_cs
 * rotates x[0..n_dims) of one head (x has the head's full width) with them. */
void rope_angles(const struct rope *r, int64_t pos, float *cs);
void rope_apply_cs(const struct rope *r, float *x, const float *cs);

#endif
