/*
 * rope.c - RoPE frequency tables and rotation (see rope.h).
 *
 * Formulas are those of HF transformers modeling_rope_utils.py:
 *   default: inv_freq[i] = theta^(-2i/d)
 *   linear:  inv_freq / factor
 *   llama3:  per-wavelength blend of inv_freq and inv_freq/factor between
 *            old_ctx/high_freq_factor and old_ctx/low_freq_factor
 *   yarn:    ramp between interpolated (inv_freq/factor) and extrapolated
 *            inv_freq over the correction range [low, high] derived from
 *            beta_fast/beta_slow, plus attention_factor = 0.1 ln(factor) + 1
 *            (or the mscale/mscale_all_dim ratio) on cos and sin.
 */
#include "rope.h"

#include <math.h>

#include "err.h"
#include "hparams.h"

static double yarn_get_mscale(double scale, double mscale) {
    if (scale <= 1.0) return 1.0;
    return 0.1 * mscale * log(scale) + 1.0;
}

/* Dimension index at which `n_rot` full rotations happen over max_pos. */
static double yarn_correction_dim(double n_rot, double dim, double base, double max_pos) {
    return dim * log(max_pos / (n_rot * 2.0 * M_PI)) / (2.0 * log(base));
}

int rope_init(struct rope *r, const struct hparams *hp, const float *freq_factors, char *err) {
    const int64_t d = hp->rope_dim;
    const int64_t half = d / 2;
    if (half > ROPE_MAX_PAIRS) return dc_errf(err, DC_EUNSUPPORTED, "rope: %lld rotated dims is too many", (long long)d);
    r->pairing = hp->rope_pairing;
    r->n_dims = d;
    r->attn_factor = 1.0f;
    const double base = hp->rope_theta;
    for (int64_t i = 0; i < half; i++) {
        /* HF: 1 / base ** (arange(0, d, 2).float() / d), in float32. */
        float expo = (float)(2 * i) / (float)d;
        double inv = 1.0 / (double)powf((float)base, expo);
        r->inv_freq[i] = (float)inv;
    }
    const double factor = hp->rope_factor;
    switch (hp->rope_scaling) {
    case HP_ROPE_SCALING_NONE:
        break;
    case HP_ROPE_SCALING_LINEAR:
        for (int64_t i = 0; i < half; i++) r->inv_freq[i] = (float)((double)r->inv_freq[i] / factor);
        break;
    case HP_ROPE_SCALING_LLAMA3: {
        const double old_ctx = (double)hp->rope_orig_ctx;
        const double lo = hp->rope_low_freq_factor, hi = hp->rope_high_freq_factor;
        const double low_wavelen = old_ctx / lo, high_wavelen = old_ctx / hi;
        for (int64_t i = 0; i < half; i++) {
            double f = (double)r->inv_freq[i];
            double wavelen = 2.0 * M_PI / f;
            double out;
            if (wavelen < high_wavelen) {
                out = f;
            } else if (wavelen > low_wavelen) {
                out = f / factor;
            } else {
                double smooth = (old_ctx / wavelen - lo) / (hi - lo);
                out = (1.0 - smooth) * f / factor + smooth * f;
            }
            r->inv_freq[i] = (float)out;
        }
        break;
    }
    case HP_ROPE_SCALING_YARN: {
        const double max_pos = (double)hp->rope_orig_ctx;
        double low = yarn_correction_dim(hp->yarn_beta_fast, (double)d, base, max_pos);
        double high = yarn_correction_dim(hp->yarn_beta_slow, (double)d, base, max_pos);
        if (hp->yarn_truncate) {
            low = floor(low);
            high = ceil(high);
        }
        if (low < 0) low = 0;
        if (high > (double)(d - 1)) high = (double)(d - 1);
        if (low == high) high += 0.001; /* avoid a zero-width ramp */
        for (int64_t i = 0; i < half; i++) {
            double ramp = ((double)i - low) / (high - low);
            if (ramp < 0) ramp = 0;
            if (ramp > 1) ramp = 1;
            double extrap_w = 1.0 - ramp; /* weight of the unscaled frequency */
            double f = (double)r->inv_freq[i];
            r->inv_freq[i] = (float)(f / factor * (1.0 - extrap_w) + f * extrap_w);
        }
        double af;
        if (hp->yarn_attn_factor > 0.0f) {
            af = hp->yarn_attn_factor;
        } else if (hp->yarn_mscale > 0.0f && hp->yarn_mscale_all_dim > 0.0f) {
            af = yarn_get_mscale(factor, hp->yarn_mscale) / yarn_get_mscale(factor, hp->yarn_mscale_all_dim);
        } else {
            af = yarn_get_mscale(factor, 1.0);
        }
        r->attn_factor = (float)af;
        break;
    }
    default:
        return dc_errf(err, DC_EUNSUPPORTED, "rope: unknown scaling type %d", hp->rope_scaling);
    }
    if (freq_factors) {
        for (int64_t i = 0; i < half; i++) {
            if (!(freq_factors[i] > 0.0f) || !isfinite(freq_factors[i]))
                return dc_errf(err, DC_EFORMAT, "rope: rope_freqs[%lld] = %g is not a positive number",
                               (long long)i, (double)freq_factors[i]);
            r->inv_freq[i] = r->inv_freq[i] / freq_factors[i];
        }
    }
    return DC_OK;
}

void rope_angles(const struct rope *r, int64_t pos, float *cs) {
    const int64_t half = r->n_dims / 2;
    for (int64_t i = 0; i < half; i++) {
        /* HF: freqs = inv_freq * position in float32, then cos/sin. */
        const float ang = (float)pos * r->inv_freq[i];
        cs[2 * i] = cosf(ang) * r->attn_factor;
        cs[2 * i + 1] = sinf(ang) * r->attn_factor;
    }
}

void rope_apply_cs(const struct rope *r, float *x, const float *cs) {
    const int64_t half = r->n_dims / 2;
    for (int64_t i = 0; i < half; i++) {
        const float c = cs[2 * i], s = cs[2 * i + 1];
        int64_t a, b;
        if (r->pairing == HP_ROPE_ADJACENT) {
            a = 2 * i;
            b = 2 * i + 1;
        } else {
            a = i;
            b = i + half;
        }
        float x0 = x[a], x1 = x[b];
        x[a] = x0 * c - x1 * s;
        x[b] = x0 * s + x1 * c;
    }
}
