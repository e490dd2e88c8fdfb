/*
 * cmd_bench.c - `deepc bench`: model speed and the machine's read bandwidth.
 *
 *   deepc bench MODEL [-p 512] [-n 128] [-t THREADS] [--ctx-depth N] [--reps R] [--json]
 *                     [--membw | --membw-gbs GBS] [--membw-mib MIB] [--products]
 *   deepc bench --membw [-t THREADS] [--membw-mib MIB] [--json]
 *
 * Prompt processing: one batched pass over -p token ids (fixed pseudo-random
 * ids, the same every run).  Decode: -n single-token steps after an empty
 * cache, or after --ctx-depth N cached positions (filled once by prompt
 * processing N of the same ids: real computed keys and values; its time is
 * reported).  Reports tokens/s for both, the bytes of weights read per
 * decoded token (the model's active bytes: for MoE only the k chosen experts
 * of each MoE layer, and one embedding row) and the achieved decode GB/s =
 * bytes/token x tokens/s.  With a bandwidth (--membw-gbs, or --membw, which
 * measures it first with the same threads: kern_membw.h) it also prints the
 * decode's share of it.  The best of --reps repetitions is reported (least
 * disturbed by other load; --json also lists every repetition's decode
 * tokens/s, for medians).  --products then times the model's weight stream
 * alone (dc_model_time_products: every matrix times one token, back to back,
 * --reps passes): its GB/s per weight type, and its share of the bandwidth,
 * are the ceiling decode's products reach without the steps between them.
 * GB = 1e9 bytes.
 */
#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "deepc.h"
#include "kern_membw.h"

#define BENCH_USAGE                                                                                              \
    "usage: deepc bench MODEL [-p 512] [-n 128] [-t THREADS] [--ctx-depth N] [--reps R] [--json]\n"              \
    "                         [--membw | --membw-gbs GBS] [--membw-mib MIB] [--cache-type f32|f16|bf16|q8] [--repack]\n"            \
    "                         [--products]\n"                                                                         \
    "       deepc bench --membw [-t THREADS] [--membw-mib MIB] [--json]\n"

enum { BENCH_MEMBW_PASSES = 10, BENCH_MAX_REPS = 100 };

struct bench_opts {
    const char *path;   /* MODEL, NULL with --membw alone */
    const char *cache_type; /* KV cache element type (NULL: f32) */
    long n_prompt, n_gen, threads, depth, reps;
    int json;
    int repack;         /* dc_model_pack after loading */
    int products;       /* also time the weight stream alone */
    int membw;          /* measure the read bandwidth */
    long membw_mib;     /* its buffer, MiB */
    double membw_gbs;   /* given bandwidth (0: none) */
};

struct bench_result {
    double pp_tps, tg_tps;        /* best prompt / decode tokens per second */
    double tg_reps[BENCH_MAX_REPS]; /* decode tokens per second of each repetition [reps] */
    double fill_s;                /* seconds to fill --ctx-depth positions (0 if none) */
    double load_s;                /* seconds dc_model_load took (mapping, binding, packing) */
    double bytes_per_tok, gbs;    /* weight bytes per decoded token; achieved decode GB/s */
    struct dc_products prod;      /* --products (prod.reps == 0 without it) */
};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Whole-string decimal integer in [lo, hi]; 0 ok, -1 otherwise. */
static int parse_long(const char *s, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

/* Returns 0, or 2 (the exit code for a usage error) after printing why. */
static int bench_parse(int argc, char **argv, struct bench_opts *o) {
    *o = (struct bench_opts){.n_prompt = 512, .n_gen = 128, .reps = 3, .membw_mib = 2048};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;
        if (!strcmp(a, "-p") && v) bad = parse_long(argv[++i], 0, 1 << 20, &o->n_prompt);
        else if (!strcmp(a, "-n") && v) bad = parse_long(argv[++i], 0, 1 << 20, &o->n_gen);
        else if (!strcmp(a, "-t") && v) bad = parse_long(argv[++i], 1, 1024, &o->threads);
        else if (!strcmp(a, "--ctx-depth") && v) bad = parse_long(argv[++i], 0, 1 << 24, &o->depth);
        else if (!strcmp(a, "--reps") && v) bad = parse_long(argv[++i], 1, BENCH_MAX_REPS, &o->reps);
        else if (!strcmp(a, "--membw-mib") && v) bad = parse_long(argv[++i], 1, 1 << 20, &o->membw_mib);
        else if (!strcmp(a, "--membw-gbs") && v) {
            char *end;
            o->membw_gbs = strtod(argv[++i], &end);
            bad = end == v || *end || !isfinite(o->membw_gbs) || o->membw_gbs <= 0;
        } else if (!strcmp(a, "--cache-type") && v) o->cache_type = argv[++i];
        else if (!strcmp(a, "--membw")) o->membw = 1;
        else if (!strcmp(a, "--repack")) o->repack = 1;
        else if (!strcmp(a, "--products")) o->products = 1;
        else if (!strcmp(a, "--json")) o->json = 1;
        else if (!o->path && a[0] != '-') o->path = a;
        else {
            fprintf(stderr, "deepc bench: unexpected argument '%s'\n%s", a, BENCH_USAGE);
            return 2;
        }
        if (bad) {
            fprintf(stderr, "deepc bench: bad value '%s' for %s\n%s", argv[i], a, BENCH_USAGE);
            return 2;
        }
    }
    if (!o->path && !o->membw) {
        fprintf(stderr, "%s", BENCH_USAGE);
        return 2;
    }
    if (o->membw && o->membw_gbs > 0) {
        fprintf(stderr, "deepc bench: give either --membw (measure) or --membw-gbs (known value)\n");
        return 2;
    }
    return 0;
}

static int bench_membw(const struct bench_opts *o, struct kern_membw_result *r) {
    char err[DC_ERR_LEN];
    if (kern_membw_measure((size_t)o->membw_mib << 20, BENCH_MEMBW_PASSES, r, err)) {
        fprintf(stderr, "deepc: %s\n", err);
        return 1;
    }
    return 0;
}

/* Evaluates ids one pass at a time; prints the error.  0 ok, 1 failed. */
static int bench_eval(struct dc_session *s, const int32_t *ids, int64_t n) {
    char err[DC_ERR_LEN];
    if (dc_session_eval(s, ids, n, NULL, err)) {
        fprintf(stderr, "deepc: %s\n", err);
        return 1;
    }
    return 0;
}

/* Prompt passes at an empty cache first (they overwrite positions from 0);
 * then the cache is filled to depth once, and every decode repetition drops
 * back to it (dc_session_truncate keeps the first `depth` positions). */
static int bench_run(struct dc_session *s, const int32_t *ids, const struct bench_opts *o, struct bench_result *r) {
    for (long rep = 0; rep < o->reps && o->n_prompt > 0; rep++) {
        dc_session_truncate(s, 0);
        double t0 = now_s();
        if (bench_eval(s, ids, o->n_prompt)) return 1;
        double tps = (double)o->n_prompt / (now_s() - t0);
        if (tps > r->pp_tps) r->pp_tps = tps;
    }
    if (o->n_gen == 0) return 0;
    dc_session_truncate(s, 0);
    if (o->depth > 0) {
        double t0 = now_s();
        if (bench_eval(s, ids, o->depth)) return 1;
        r->fill_s = now_s() - t0;
    }
    for (long rep = 0; rep < o->reps; rep++) {
        dc_session_truncate(s, o->depth);
        double t0 = now_s();
        for (long i = 0; i < o->n_gen; i++)
            if (bench_eval(s, &ids[o->depth + i], 1)) return 1;
        double tps = (double)o->n_gen / (now_s() - t0);
        r->tg_reps[rep] = tps;
        if (tps > r->tg_tps) r->tg_tps = tps;
    }
    return 0;
}

static struct json_object *bench_products_json(const struct dc_products *p, double bw) {
    struct json_object *j = json_object_new_object();
    json_object_object_add(j, "n_mats", json_object_new_int64(p->n_mats));
    json_object_object_add(j, "bytes", json_object_new_double((double)p->bytes));
    json_object_object_add(j, "passes", json_object_new_int(p->reps));
    json_object_object_add(j, "best_s", json_object_new_double(p->best_s));
    json_object_object_add(j, "median_s", json_object_new_double(p->median_s));
    json_object_object_add(j, "gbs", json_object_new_double((double)p->bytes / p->best_s / 1e9));
    if (bw > 0)
        json_object_object_add(j, "bw_pct", json_object_new_double(100.0 * (double)p->bytes / p->best_s / 1e9 / bw));
    struct json_object *ts = json_object_new_array();
    for (int i = 0; i < p->n_types; i++) {
        struct json_object *t = json_object_new_object();
        json_object_object_add(t, "type", json_object_new_string(p->types[i].type_name));
        json_object_object_add(t, "n_mats", json_object_new_int64(p->types[i].n_mats));
        json_object_object_add(t, "bytes", json_object_new_double((double)p->types[i].bytes));
        json_object_object_add(t, "s", json_object_new_double(p->types[i].s));
        json_object_array_add(ts, t);
    }
    json_object_object_add(j, "types", ts);
    return j;
}

static void bench_products_print(const struct dc_products *p, double bw) {
    const double gbs = (double)p->bytes / p->best_s / 1e9;
    printf("products %lld matrices x 1 token, back to back: %.1f MB, best %.3f ms (%.2f GB/s", (long long)p->n_mats,
           (double)p->bytes / 1e6, p->best_s * 1e3, gbs);
    if (bw > 0) printf(" = %.1f%% of %.2f GB/s", 100.0 * gbs / bw, bw);
    printf("), median %.3f ms of %d pass%s\n", p->median_s * 1e3, p->reps, p->reps == 1 ? "" : "es");
    for (int i = 0; i < p->n_types; i++)
        printf("        %-7s %6lld %-8s %9.1f MB %9.3f ms %8.2f GB/s\n", p->types[i].type_name,
               (long long)p->types[i].n_mats, p->types[i].n_mats == 1 ? "matrix" : "matrices",
               (double)p->types[i].bytes / 1e6, p->types[i].s * 1e3,
               p->types[i].s > 0 ? (double)p->types[i].bytes / p->types[i].s / 1e9 : 0.0);
}

static void bench_print(const struct bench_opts *o, const struct dc_model_info *mi, int nt,
                        const struct bench_result *r, double bw, const struct kern_membw_result *mr) {
    double share = bw > 0 ? 100.0 * r->gbs / bw : 0;
    if (o->json) {
        struct json_object *j = json_object_new_object();
        json_object_object_add(j, "model", json_object_new_string(o->path));
        json_object_object_add(j, "threads", json_object_new_int(nt));
        json_object_object_add(j, "n_prompt", json_object_new_int64(o->n_prompt));
        json_object_object_add(j, "n_gen", json_object_new_int64(o->n_gen));
        json_object_object_add(j, "ctx_depth", json_object_new_int64(o->depth));
        json_object_object_add(j, "ctx_fill_s", json_object_new_double(r->fill_s));
        json_object_object_add(j, "prompt_tps", json_object_new_double(r->pp_tps));
        json_object_object_add(j, "decode_tps", json_object_new_double(r->tg_tps));
        struct json_object *all = json_object_new_array();
        for (long i = 0; i < (o->n_gen > 0 ? o->reps : 0); i++)
            json_object_array_add(all, json_object_new_double(r->tg_reps[i]));
        json_object_object_add(j, "decode_tps_reps", all);
        json_object_object_add(j, "weight_bytes_per_token", json_object_new_double(r->bytes_per_tok));
        json_object_object_add(j, "weight_bytes_total", json_object_new_double((double)mi->weight_bytes));
        json_object_object_add(j, "decode_gbs", json_object_new_double(r->gbs));
        if (bw > 0) {
            json_object_object_add(j, "membw_gbs", json_object_new_double(bw));
            json_object_object_add(j, "membw_source", json_object_new_string(mr ? "measured" : "given"));
            json_object_object_add(j, "decode_bw_pct", json_object_new_double(share));
        }
        json_object_object_add(j, "kernels", json_object_new_string(mi->kernels));
        json_object_object_add(j, "load_s", json_object_new_double(r->load_s));
        json_object_object_add(j, "packed_bytes", json_object_new_double((double)mi->packed_bytes));
        json_object_object_add(j, "cache_type", json_object_new_string(o->cache_type ? o->cache_type : "f32"));
        if (r->prod.reps > 0) json_object_object_add(j, "products", bench_products_json(&r->prod, bw));
        printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
        json_object_put(j);
        return;
    }
    printf("model %s, %d threads, kernels %s, %s KV cache\n", o->path, nt, mi->kernels,
           o->cache_type ? o->cache_type : "f32");
    if (mi->packed_bytes > 0)
        printf("load    %.2f s, %.1f MB of weights packed for the kernels (--repack)\n", r->load_s,
               (double)mi->packed_bytes / 1e6);
    else
        printf("load    %.2f s, weights used in place from the mapped file\n", r->load_s);
    if (mr) printf("read bandwidth %.2f GB/s (%.0f MiB buffer, best of %d passes)\n", bw, (double)mr->bytes / 1048576.0,
                   mr->passes);
    printf("prompt  %ld tokens: %.2f tokens/s\n", o->n_prompt, r->pp_tps);
    if (o->depth > 0 && o->n_gen > 0)
        printf("cache   %ld positions filled in %.1f s (%.1f tokens/s)\n", o->depth, r->fill_s,
               (double)o->depth / r->fill_s);
    printf("decode  %ld tokens at depth %ld: %.2f tokens/s, %.1f MB of weights/token, %.2f GB/s", o->n_gen, o->depth,
           r->tg_tps, r->bytes_per_tok / 1e6, r->gbs);
    if (bw > 0) printf(" = %.1f%% of %.2f GB/s", share, bw);
    printf("\n");
    if (mi->n_expert > 0)
        printf("        (MoE: %lld of %lld experts per token; all weights %.1f MB)\n", (long long)mi->n_expert_used,
               (long long)mi->n_expert, (double)mi->weight_bytes / 1e6);
    if (r->prod.reps > 0) bench_products_print(&r->prod, bw);
}

static void bench_print_membw(const struct bench_opts *o, const struct kern_membw_result *r) {
    if (o->json) {
        struct json_object *j = json_object_new_object();
        json_object_object_add(j, "membw_gbs", json_object_new_double(r->gbs));
        json_object_object_add(j, "membw_median_gbs", json_object_new_double(r->median_gbs));
        json_object_object_add(j, "threads", json_object_new_int(r->threads));
        json_object_object_add(j, "buffer_bytes", json_object_new_int64((int64_t)r->bytes));
        json_object_object_add(j, "passes", json_object_new_int(r->passes));
        json_object_object_add(j, "readers", json_object_new_int(r->readers));
        json_object_object_add(j, "reader", json_object_new_string(r->reader));
        json_object_object_add(j, "touch_s", json_object_new_double(r->touch_s));
        printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
        json_object_put(j);
        return;
    }
    printf("read bandwidth: %.2f GB/s best, %.2f GB/s median of %d passes over %.0f MiB, %d thread%s (%s loop, fastest "
           "of %d)\n",
           r->gbs, r->median_gbs, r->passes, (double)r->bytes / 1048576.0, r->threads, r->threads == 1 ? "" : "s",
           r->reader, r->readers);
}

static int bench_model(const struct bench_opts *o, int nt, double bw, const struct kern_membw_result *mr) {
    char err[DC_ERR_LEN];
    struct dc_model *m = NULL;
    struct dc_session *s = NULL;
    int32_t *ids = NULL;
    int rc = 1;
    const double t_load = now_s();
    if (dc_model_load(&m, o->path, err)) {
        fprintf(stderr, "deepc: %s\n", err);
        return 1;
    }
    if (o->repack && dc_model_pack(m, err)) {
        fprintf(stderr, "deepc: %s\n", err);
        dc_model_free(m);
        return 1;
    }
    const double load_s = now_s() - t_load;
    struct dc_model_info mi;
    dc_model_get_info(m, &mi);
    int64_t n_ctx = (o->depth > o->n_prompt ? o->depth : o->n_prompt) + o->n_gen + 1;
    if (dc_session_create_kv(&s, m, n_ctx, 512, o->cache_type, err)) {
        fprintf(stderr, "deepc: %s\n", err);
        goto done;
    }
    ids = malloc((size_t)n_ctx * sizeof(*ids));
    if (!ids) goto done;
    unsigned long long st = 0x9e3779b97f4a7c15ULL;
    for (int64_t i = 0; i < n_ctx; i++) {
        st ^= st << 13;
        st ^= st >> 7;
        st ^= st << 17;
        ids[i] = (int32_t)(st % (unsigned long long)mi.n_vocab);
    }
    struct bench_result r = {0};
    r.load_s = load_s;
    if (bench_run(s, ids, o, &r)) goto done;
    /* Weights one decoded token reads (spec/MODEL.md 7): every bound weight
     * once, except all but one row of an untied embedding table and, for MoE
     * models, the routed experts the token does not choose (k of E per MoE
     * layer are read).  A tied head reads the whole embedding matrix.  The KV
     * cache reads (growing with depth) are not counted. */
    r.bytes_per_tok = (double)(mi.active_bytes_per_token ? mi.active_bytes_per_token : mi.weight_bytes);
    r.gbs = r.bytes_per_tok * r.tg_tps / 1e9;
    if (o->products && dc_model_time_products(m, (int)o->reps, &r.prod, err)) {
        fprintf(stderr, "deepc: %s\n", err);
        goto done;
    }
    bench_print(o, &mi, nt, &r, bw, mr);
    rc = 0;
done:
    free(ids);
    dc_session_free(s);
    dc_model_free(m);
    return rc;
}

int cmd_bench(int argc, char **argv) {
    struct bench_opts o;
    int rc = bench_parse(argc, argv, &o);
    if (rc) return rc;
    if (o.threads > 0) omp_set_num_threads((int)o.threads);
    int nt = o.threads > 0 ? (int)o.threads : omp_get_max_threads();
    struct kern_membw_result mr;
    double bw = o.membw_gbs;
    if (o.membw) {
        if (bench_membw(&o, &mr)) return 1;
        bw = mr.gbs;
        if (!o.path) {
            bench_print_membw(&o, &mr);
            return 0;
        }
    }
    return bench_model(&o, nt, bw, o.membw ? &mr : NULL);
}
