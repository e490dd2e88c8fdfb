/*
 * cmd_perplexity.c - `deepc perplexity MODEL (-f TEXT | --ids 1,2,3) [--ctx 512] [--kl-base REF_MODEL]`
 *
 * Tokenizes the text with the model's own tokenizer and reports perplexity
 * (src/engine/perplexity.h); with --kl-base, also the mean and max KL
 * divergence of the model's next-token distributions from the reference
 * model's and how often both pick the same top token.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "deepc.h"
#include "err.h"
#include "perplexity.h"
#include "tokenizer.h"

static int g_tty;
static void show_progress(int64_t done, int64_t total) {
    if (g_tty) fprintf(stderr, "\rchunk %lld/%lld", (long long)done, (long long)total);
}

static char *read_file(const char *path, size_t *len) {
    FILE *f = !strcmp(path, "-") ? stdin : fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    size_t k;
    while (b && (k = fread(b + n, 1, cap - n, f)) > 0) {
        n += k;
        if (n == cap) {
            char *nb = realloc(b, cap *= 2);
            if (!nb) {
                free(b);
                b = NULL;
            }
            b = nb;
        }
    }
    if (f != stdin) fclose(f);
    *len = n;
    return b;
}

int cmd_perplexity(int argc, char **argv) {
    const char *path = NULL, *file = NULL, *ids_s = NULL, *ref_path = NULL;
    long n_ctx = 512;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-f") && i + 1 < argc) file = argv[++i];
        else if (!strcmp(argv[i], "--ids") && i + 1 < argc) ids_s = argv[++i];
        else if (!strcmp(argv[i], "--ctx") && i + 1 < argc) n_ctx = strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--kl-base") && i + 1 < argc) ref_path = argv[++i];
        else if (!path && argv[i][0] != '-') path = argv[i];
        else {
            fprintf(stderr, "deepc perplexity: unexpected argument '%s'\n", argv[i]);
            return 2;
        }
    }
    if (!path || (!file == !ids_s) || n_ctx < 2 || n_ctx > 1 << 20) {
        fprintf(stderr, "usage: deepc perplexity MODEL (-f TEXT | --ids 1,2,3) [--ctx 512] [--kl-base REF_MODEL]\n");
        return 2;
    }
    g_tty = isatty(2);
    char err[DC_ERR_LEN];
    struct dc_model *m = NULL, *ref = NULL;
    struct tok *t = NULL;
    int32_t *ids = NULL;
    int64_t n = 0;
    int32_t bos = -1;
    int rc = 1;
    if (dc_model_load(&m, path, err) || (ref_path && dc_model_load(&ref, ref_path, err))) {
        fprintf(stderr, "deepc: %s\n", err);
        goto done;
    }
    if (file) {
        size_t len;
        char *text = read_file(file, &len);
        if (!text) {
            fprintf(stderr, "deepc: cannot read %s\n", file);
            goto done;
        }
        size_t nn = 0;
        int e = tok_load_path(&t, path, err);
        if (!e) e = tok_encode_alloc(t, text, len, 0, &ids, &nn, err);
        free(text);
        if (e) {
            fprintf(stderr, "deepc: %s\n", err);
            goto done;
        }
        n = (int64_t)nn;
        if (tok_add_bos(t)) bos = tok_bos(t);
    } else if (cli_parse_ids(ids_s, &ids, &n)) {
        fprintf(stderr, "deepc perplexity: --ids must be a comma-separated list of token ids\n");
        goto done;
    }
    struct ppl_result r;
    int score_all = ids_s != NULL && n <= n_ctx;
    if (ppl_compute(m, ref, ids, n, n_ctx, score_all, bos, show_progress, &r, err)) {
        fprintf(stderr, "\ndeepc: %s\n", err);
        goto done;
    }
    if (g_tty) fprintf(stderr, "\r\033[K");
    printf("tokens %lld, scored %lld (context %ld)\n", (long long)n, (long long)r.n_scored, n_ctx);
    printf("perplexity %.4f +/- %.4f (mean NLL %.5f nats)\n", r.ppl, r.ppl * r.nll_stderr, r.nll);
    if (ref) {
        printf("reference perplexity %.4f; ratio %.4f\n", r.ref_ppl, r.ppl / r.ref_ppl);
        printf("KL divergence from reference: mean %.6f, max %.6f nats; same top token %.2f%%\n", r.kl_mean, r.kl_max,
               100.0 * r.top1_agree);
    }
    rc = 0;
done:
    free(ids);
    tok_free(t);
    dc_model_free(m);
    dc_model_free(ref);
    return rc;
}
