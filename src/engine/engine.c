/*
 * engine.c - continuous-batching generation engine (see engine.h).
 *
 * One engine thread owns the model's forward state (struct fwd with
 * n_parallel sequence slots), the slots and the samplers.  Other threads only
 * touch the waiting queue and the cancel flags, under e->mu.  Per step:
 *
 *   1. admit queued requests into idle slots, choosing the idle slot whose
 *      cached tokens share the longest prefix with the prompt (prefix cache);
 *      then share_prefixes: prefilling slots copy longer prefixes other
 *      slots have computed, or wait a step for one being computed;
 *   2. build one batch: one token for every decoding sequence, then prompt
 *      chunks of prefilling sequences up to n_batch tokens in all;
 *   3. fwd_eval_batch: one pass over the weights for the whole batch;
 *   4. sample for every sequence whose last prompt token or decode token just
 *      ran, and stream the token's text through the UTF-8 assembler, the
 *      <think> splitter and the stop-string matcher to the callback.
 */
#include "engine.h"

#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "dtype.h"
#include "err.h"
#include "forward.h"
#include "gguf.h"
#include "model.h"
#include "reasoning.h"
#include "safetensors.h"
#include "stop.h"
#include "tokenizer.h"

#define ENGINE_MAX_FORCE 16 /* tokens of a forced close tag */
#define ENGINE_SHARE_MIN 16 /* prompt tokens another slot must be about to compute for a slot to wait a step */

struct request {
    uint64_t id;
    struct request *next;      /* queue link */
    engine_event_fn fn;
    void *user;
    int32_t *prompt;           /* [n_prompt] owned */
    int64_t n_prompt;
    int32_t max_tokens;
    int32_t n_logprobs;
    int32_t reasoning_budget;
    int ignore_eos;
    struct smp *smp;           /* owned */
    struct stop stop;
    struct rsn rsn;
    struct tok_stream ts;
    atomic_int cancel;
    /* progress (engine thread only) */
    int64_t n_gen, n_reasoning;
    int32_t force[ENGINE_MAX_FORCE];
    int n_force, i_force, forced;
    int finished, finish;
    int64_t cached;
    double t_submit, t_start, t_first;
    char *text_buf;            /* scratch for one piece after stop matching */
    size_t text_cap;
};

struct slot {
    struct request *req;       /* NULL when idle */
    int32_t *hist;             /* [n_ctx] tokens whose KV is cached (plus pending) */
    int64_t n_kv;              /* tokens of hist in the KV cache */
    int64_t n_hist;            /* tokens in hist (n_kv or n_kv + 1 pending sampled token) */
    int64_t n_prefilled;       /* prompt tokens in the cache */
    int32_t out_row;           /* logits row of this step, -1 none */
    int hold;                  /* prefilling, but waits this step for rows another slot computes */
    struct smp_result res;     /* this step's sample (engine thread's team) */
    int res_rc;                /* its status, res_err its message */
    char res_err[DC_ERR_LEN];
};

static void *engine_thread_main(void *arg);

struct engine {
    struct model *m;
    struct tok *tok;
    struct chat_template tmpl;
    struct smp_params defaults;
    struct fwd f;
    struct engine_params p;
    char model_id[256];
    int32_t eog[4];            /* end-of-generation ids (eos, end of turn), -1 unused */
    int32_t fim[3];            /* FIM begin, hole, end ids; -1 when absent */
    struct slot *slots;
    float *logits;             /* [n_batch][n_vocab] */
    struct fwd_tok *batch;     /* [n_batch] */
    char *piece;               /* decoder output scratch */
    size_t piece_cap;

    pthread_t thread;
    int thread_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct request *q_head, *q_tail;  /* waiting for a slot */
    int32_t n_queued;
    int closing;               /* no new requests */
    int stop_thread;           /* engine thread exits when idle */
    uint64_t next_id;
    struct engine_stats stats; /* under mu */
    double busy_window_start, busy_window_tokens;
};

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

void engine_params_default(struct engine_params *p) {
    memset(p, 0, sizeof(*p));
    p->n_parallel = 4;
    p->n_ctx = 0;
    p->n_batch = 512;
    p->n_chunk = 128;
    p->queue_max = 64;
}

static void request_free(struct request *r) {
    if (!r) return;
    smp_free(r->smp);
    free(r->prompt);
    free(r->text_buf);
    free(r);
}

/* ---- loading ------------------------------------------------------------- */

static const char *base_name(const char *path) {
    const char *s = strrchr(path, '/');
    if (s && s[1]) return s + 1;
    if (s) { /* trailing slash: take the component before it */
        const char *e = s;
        while (e > path && e[-1] == '/') e--;
        const char *b = e;
        while (b > path && b[-1] != '/') b--;
        return b;
    }
    return path;
}

/* Chat template text and a name hint from the model's own files. */
static void model_template_text(const struct model *m, const char **jinja, char *hint, size_t hint_cap,
                                struct json_object **tc_owner) {
    *jinja = NULL;
    *tc_owner = NULL;
    snprintf(hint, hint_cap, "%s", m->hp.arch_name);
    if (m->source == MODEL_SRC_GGUF) {
        const char *s;
        uint64_t len;
        if (gguf_get_str(m->gguf, "tokenizer.chat_template", &s, &len) == DC_OK) *jinja = s;
        if (gguf_get_str(m->gguf, "general.name", &s, &len) == DC_OK)
            snprintf(hint, hint_cap, "%s %s", m->hp.arch_name, s);
    } else {
        const char *tc = st_aux_json(m->st, "tokenizer_config.json");
        if (tc) {
            struct json_object *o = json_tokener_parse(tc), *v;
            if (o && json_object_object_get_ex(o, "chat_template", &v) && json_object_is_type(v, json_type_string)) {
                *jinja = json_object_get_string(v);
                *tc_owner = o;
            } else {
                json_object_put(o);
            }
        }
        const char *dir = st_dir(m->st);
        if (dir) snprintf(hint, hint_cap, "%s %s", m->hp.arch_name, base_name(dir));
    }
}

static int32_t find_special(const struct tok *t, const char *s) {
    if (!s) return -1;
    return tok_find(t, s, strlen(s));
}

int engine_open(struct engine **out, const char *model_path, const struct engine_params *pin, char *warn,
                char *err) {
    *out = NULL;
    if (warn) warn[0] = 0;
    struct engine_params p;
    if (pin) p = *pin;
    else engine_params_default(&p);
    if (p.n_parallel < 1 || p.n_parallel > 256)
        return dc_errf(err, DC_EINVAL, "parallel sequences %d out of range 1..256", p.n_parallel);
    if (p.queue_max < 0) p.queue_max = 0;
    if (p.n_batch < 1) p.n_batch = 512;
    if (p.n_chunk < 0) p.n_chunk = 0;
    kern_init();
    struct engine *e = calloc(1, sizeof(*e));
    if (!e) return dc_errf(err, DC_ENOMEM, "out of memory");
    pthread_mutex_init(&e->mu, NULL);
    pthread_cond_init(&e->cv, NULL);
    struct json_object *tc_owner = NULL;
    int rc;
    if ((rc = model_load(&e->m, model_path, err))) goto fail;
    if (p.repack && (rc = model_pack(e->m, err))) goto fail;
    if (e->m->source == MODEL_SRC_GGUF) rc = tok_load_gguf(&e->tok, e->m->gguf, err);
    else rc = tok_load_path(&e->tok, model_path, err);
    if (rc) goto fail;
    if (tok_n_vocab(e->tok) > e->m->hp.n_vocab) {
        rc = dc_errf(err, DC_EFORMAT, "tokenizer has %d tokens but the model only %lld rows", tok_n_vocab(e->tok),
                     (long long)e->m->hp.n_vocab);
        goto fail;
    }
    /* Template: the model's own text, else a name hint, else ChatML. */
    const char *jinja;
    char hint[256];
    model_template_text(e->m, &jinja, hint, sizeof(hint), &tc_owner);
    const char *bos_text = NULL;
    size_t bos_len = 0;
    char bos_buf[CHAT_BOS_MAX];
    if (tok_bos(e->tok) >= 0 && (bos_text = tok_piece(e->tok, tok_bos(e->tok), &bos_len)) && bos_len < CHAT_BOS_MAX) {
        memcpy(bos_buf, bos_text, bos_len);
        bos_buf[bos_len] = 0;
        bos_text = bos_buf;
    } else {
        bos_text = NULL;
    }
    if ((rc = chat_init(&e->tmpl, jinja, hint, p.chat_template, bos_text, warn, err))) goto fail;
    json_object_put(tc_owner);
    tc_owner = NULL;
    /* End of generation: EOS and the template's end-of-turn markers. */
    const struct chat_specials *sp = chat_specials(e->tmpl.id);
    e->eog[0] = tok_eos(e->tok);
    e->eog[1] = sp ? find_special(e->tok, sp->eot) : -1;
    e->eog[2] = sp ? find_special(e->tok, sp->eot_alt) : -1;
    e->eog[3] = -1;
    e->fim[0] = find_special(e->tok, "<｜fim▁begin｜>");
    e->fim[1] = find_special(e->tok, "<｜fim▁hole｜>");
    e->fim[2] = find_special(e->tok, "<｜fim▁end｜>");
    /* Sampling defaults: family, then the files' own settings. */
    smp_params_default(&e->defaults);
    smp_params_for_model(&e->defaults, hint);
    if (e->m->source == MODEL_SRC_GGUF) {
        if ((rc = smp_params_from_gguf(&e->defaults, e->m->gguf, err))) goto fail;
        const char *s;
        uint64_t len;
        if (gguf_get_str(e->m->gguf, "general.name", &s, &len) == DC_OK && len > 0 && len < sizeof(e->model_id))
            snprintf(e->model_id, sizeof(e->model_id), "%s", s);
    } else {
        const char *gc = st_aux_json(e->m->st, "generation_config.json");
        if (gc && (rc = smp_params_from_generation_config(&e->defaults, gc, err))) goto fail;
    }
    if (!e->model_id[0]) snprintf(e->model_id, sizeof(e->model_id), "%s", base_name(model_path));

    if (p.n_ctx <= 0) p.n_ctx = e->m->hp.n_ctx_train < 4096 ? e->m->hp.n_ctx_train : 4096;
    if (p.n_batch < p.n_parallel) p.n_batch = p.n_parallel; /* room for one decode token each */
    e->p = p;
    int kv_type;
    if ((rc = fwd_kv_type_parse(p.cache_type, &kv_type, err))) goto fail;
    if ((rc = fwd_init_kv(&e->f, e->m, p.n_ctx, p.n_batch, p.n_parallel, kv_type, err))) goto fail;
    e->slots = calloc((size_t)p.n_parallel, sizeof(*e->slots));
    e->logits = malloc((size_t)e->f.n_batch * (size_t)e->m->hp.n_vocab * sizeof(float));
    e->batch = calloc((size_t)e->f.n_batch, sizeof(*e->batch));
    e->piece_cap = tok_stream_max(e->tok) + 16;
    e->piece = malloc(e->piece_cap);
    if (!e->slots || !e->logits || !e->batch || !e->piece) {
        rc = dc_errf(err, DC_ENOMEM, "out of memory");
        goto fail;
    }
    for (int32_t i = 0; i < p.n_parallel; i++) {
        e->slots[i].hist = malloc((size_t)p.n_ctx * sizeof(int32_t));
        if (!e->slots[i].hist) {
            rc = dc_errf(err, DC_ENOMEM, "out of memory");
            goto fail;
        }
    }
    e->next_id = 1;
    e->busy_window_start = now_ms();
    if (pthread_create(&e->thread, NULL, engine_thread_main, e) != 0) {
        rc = dc_errf(err, DC_ENOMEM, "cannot start the engine thread");
        goto fail;
    }
    e->thread_started = 1;
    *out = e;
    return DC_OK;
fail:
    json_object_put(tc_owner);
    engine_close(e);
    return rc;
}

void engine_drain(struct engine *e) {
    if (!e) return;
    pthread_mutex_lock(&e->mu);
    e->closing = 1;
    pthread_cond_broadcast(&e->cv);
    pthread_mutex_unlock(&e->mu);
}

void engine_close(struct engine *e) {
    if (!e) return;
    if (e->thread_started) {
        pthread_mutex_lock(&e->mu);
        e->closing = 1;
        e->stop_thread = 1;
        pthread_cond_broadcast(&e->cv);
        pthread_mutex_unlock(&e->mu);
        pthread_join(e->thread, NULL);
    }
    if (e->slots)
        for (int32_t i = 0; i < e->p.n_parallel; i++) free(e->slots[i].hist);
    free(e->slots);
    free(e->logits);
    free(e->batch);
    free(e->piece);
    fwd_free(&e->f);
    tok_free(e->tok);
    model_free(e->m);
    pthread_mutex_destroy(&e->mu);
    pthread_cond_destroy(&e->cv);
    free(e);
}

/* ---- facts --------------------------------------------------------------- */

const char *engine_model_id(const struct engine *e) { return e->model_id; }
int64_t engine_n_ctx(const struct engine *e) { return e->p.n_ctx; }
int32_t engine_n_vocab(const struct engine *e) { return (int32_t)e->m->hp.n_vocab; }
const char *engine_template_name(const struct engine *e) { return chat_name(e->tmpl.id); }
void engine_sampling_defaults(const struct engine *e, struct smp_params *p) { *p = e->defaults; }

void engine_get_stats(struct engine *e, struct engine_stats *s) {
    pthread_mutex_lock(&e->mu);
    *s = e->stats;
    s->queued = e->n_queued;
    pthread_mutex_unlock(&e->mu);
}

/* ---- submit -------------------------------------------------------------- */

/* Appends k ids to a growing array. */
static int append_ids(int32_t **ids, int64_t *n, int64_t *cap, const int32_t *src, size_t k, char *err) {
    if (*n + (int64_t)k > *cap) {
        int64_t nc = (*n + (int64_t)k) * 2 + 16;
        int32_t *ni = realloc(*ids, (size_t)nc * sizeof(int32_t));
        if (!ni) return dc_errf(err, DC_ENOMEM, "out of memory");
        *ids = ni;
        *cap = nc;
    }
    if (k) memcpy(*ids + *n, src, k * sizeof(int32_t));
    *n += (int64_t)k;
    return DC_OK;
}

/* Tokenizes text (flags: TOK_PARSE_SPECIAL for template text) and appends. */
static int append_tokens(const struct tok *t, const char *text, size_t len, int flags, int32_t **ids, int64_t *n,
                         int64_t *cap, char *err) {
    int32_t *tmp = NULL;
    size_t k = 0;
    int rc = tok_encode_alloc(t, text, len, flags, &tmp, &k, err);
    if (!rc) rc = append_ids(ids, n, cap, tmp, k, err);
    free(tmp);
    return rc;
}

int engine_submit(struct engine *e, const struct engine_request *req, engine_event_fn fn, void *user, uint64_t *id,
                  int64_t *prompt_tokens, char *err) {
    int rc;
    char *text = NULL;
    size_t text_len = 0;
    int32_t *ids = NULL;
    int64_t n = 0, cap = 0;
    struct request *r = calloc(1, sizeof(*r));
    if (!r) return dc_errf(err, DC_ENOMEM, "out of memory");
    struct chat_opts opts = {1, req->thinking};
    int opens_reasoning = 0;
    if (req->msgs && req->n_msgs > 0) {
        if ((rc = chat_render_alloc(&e->tmpl, req->msgs, req->n_msgs, &opts, &text, &text_len, err))) goto fail;
        /* Template text carries the special tokens; message content was
         * placed in it verbatim, so a user cannot smuggle control tokens only
         * if the template escapes them - DeepSeek's and ChatML's do not,
         * as in HF, which also parses specials in the rendered prompt. */
        if ((rc = append_tokens(e->tok, text, text_len, TOK_PARSE_SPECIAL, &ids, &n, &cap, err))) goto fail;
        opens_reasoning = chat_prompt_opens_reasoning(&e->tmpl, &opts);
    } else if (req->prompt) {
        if (req->suffix) {
            if (e->fim[0] < 0 || e->fim[1] < 0 || e->fim[2] < 0) {
                rc = dc_errf(err, DC_EUNSUPPORTED, "this model has no fill-in-the-middle tokens");
                goto fail;
            }
            if (tok_add_bos(e->tok) && tok_bos(e->tok) >= 0) {
                int32_t bos = tok_bos(e->tok);
                if ((rc = append_ids(&ids, &n, &cap, &bos, 1, err))) goto fail;
            }
            /* DeepSeek FIM: <fim_begin> prefix <fim_hole> suffix <fim_end> */
            const char *parts[2] = {req->prompt, req->suffix};
            for (int i = 0; i < 3; i++) {
                if ((rc = append_ids(&ids, &n, &cap, &e->fim[i], 1, err))) goto fail;
                if (i < 2 && (rc = append_tokens(e->tok, parts[i], strlen(parts[i]), 0, &ids, &n, &cap, err)))
                    goto fail;
            }
        } else {
            if (tok_add_bos(e->tok) && tok_bos(e->tok) >= 0) {
                int32_t bos = tok_bos(e->tok);
                if ((rc = append_ids(&ids, &n, &cap, &bos, 1, err))) goto fail;
            }
            if ((rc = append_tokens(e->tok, req->prompt, strlen(req->prompt), 0, &ids, &n, &cap, err))) goto fail;
        }
    } else {
        rc = dc_errf(err, DC_EINVAL, "request has neither messages nor a prompt");
        goto fail;
    }
    if (n < 1) {
        rc = dc_errf(err, DC_EINVAL, "the prompt is empty");
        goto fail;
    }
    if (req->max_prompt_tokens > 0 && n > req->max_prompt_tokens) {
        rc = dc_errf(err, DC_ERANGE, "prompt has %lld tokens, more than the limit of %lld", (long long)n,
                     (long long)req->max_prompt_tokens);
        goto fail;
    }
    if (n >= e->p.n_ctx) {
        rc = dc_errf(err, DC_ERANGE, "prompt has %lld tokens; the context holds %lld", (long long)n,
                     (long long)e->p.n_ctx);
        goto fail;
    }
    if ((rc = smp_create(&r->smp, (int32_t)e->m->hp.n_vocab, &req->sampling, err))) goto fail;
    if ((rc = stop_init(&r->stop, req->stop, req->n_stop, err))) goto fail;
    const struct chat_specials *sp = chat_specials(e->tmpl.id);
    struct rsn_config rc_cfg = {0};
    rc_cfg.open_tag = sp && sp->think_open ? sp->think_open : NULL;
    rc_cfg.close_tag = sp && sp->think_close ? sp->think_close : NULL;
    rc_cfg.start_in_reasoning = opens_reasoning;
    rc_cfg.budget = 0; /* the engine counts reasoning tokens itself */
    if ((rc = rsn_init(&r->rsn, &rc_cfg, err))) goto fail;
    tok_stream_init(&r->ts, 0);
    if (req->reasoning_budget > 0) {
        const char *close = rc_cfg.close_tag ? rc_cfg.close_tag : "</think>";
        int32_t *fids = NULL;
        size_t nf = 0;
        if ((rc = tok_encode_alloc(e->tok, close, strlen(close), TOK_PARSE_SPECIAL, &fids, &nf, err))) goto fail;
        if (nf == 0 || nf > ENGINE_MAX_FORCE) {
            free(fids);
            rc = dc_errf(err, DC_EUNSUPPORTED, "cannot encode the reasoning close tag");
            goto fail;
        }
        memcpy(r->force, fids, nf * sizeof(int32_t));
        r->n_force = (int)nf;
        free(fids);
    }
    r->text_cap = stop_out_bound(e->piece_cap + RSN_HOLD_MAX + RSN_TAG_MAX) + 64;
    r->text_buf = malloc(r->text_cap);
    if (!r->text_buf) {
        rc = dc_errf(err, DC_ENOMEM, "out of memory");
        goto fail;
    }
    r->fn = fn;
    r->user = user;
    r->prompt = ids;
    ids = NULL;
    r->n_prompt = n;
    r->max_tokens = req->max_tokens;
    r->n_logprobs = req->n_logprobs;
    r->reasoning_budget = req->reasoning_budget;
    r->ignore_eos = req->ignore_eos != 0;
    r->t_submit = now_ms();
    free(text);
    text = NULL;

    pthread_mutex_lock(&e->mu);
    if (e->closing) {
        pthread_mutex_unlock(&e->mu);
        rc = dc_errf(err, ENGINE_ECLOSED, "the server is shutting down");
        goto fail;
    }
    /* Room: n_parallel generating plus queue_max waiting. */
    if (e->stats.active + e->n_queued >= e->p.n_parallel + e->p.queue_max) {
        int32_t waiting = e->n_queued;
        pthread_mutex_unlock(&e->mu);
        rc = dc_errf(err, ENGINE_EBUSY, "too many requests waiting (%d); try again later", waiting);
        goto fail;
    }
    r->id = e->next_id++;
    if (e->q_tail) e->q_tail->next = r;
    else e->q_head = r;
    e->q_tail = r;
    e->n_queued++;
    if (id) *id = r->id;
    if (prompt_tokens) *prompt_tokens = n;
    pthread_cond_broadcast(&e->cv);
    pthread_mutex_unlock(&e->mu);
    return DC_OK;
fail:
    free(text);
    free(ids);
    request_free(r);
    return rc;
}

void engine_cancel(struct engine *e, uint64_t id) {
    pthread_mutex_lock(&e->mu);
    for (struct request *r = e->q_head; r; r = r->next)
        if (r->id == id) atomic_store(&r->cancel, 1);
    for (int32_t i = 0; i < e->p.n_parallel; i++)
        if (e->slots[i].req && e->slots[i].req->id == id) atomic_store(&e->slots[i].req->cancel, 1);
    pthread_cond_broadcast(&e->cv);
    pthread_mutex_unlock(&e->mu);
}

/* ---- engine thread ------------------------------------------------------- */

static void emit_done(struct engine *e, struct request *r, int finish, const char *msg) {
    struct engine_event ev = {0};
    ev.kind = ENGINE_EV_DONE;
    ev.finish = finish;
    ev.text = msg;
    ev.len = msg ? strlen(msg) : 0;
    ev.usage.prompt_tokens = r->n_prompt;
    ev.usage.cached_tokens = r->cached;
    ev.usage.completion_tokens = r->n_gen;
    ev.usage.reasoning_tokens = r->n_reasoning;
    double t_end = now_ms();
    ev.usage.queue_ms = r->t_start > 0 ? r->t_start - r->t_submit : t_end - r->t_submit;
    ev.usage.prompt_ms = r->t_first > 0 ? r->t_first - r->t_start : 0;
    ev.usage.gen_ms = r->t_first > 0 ? t_end - r->t_first : 0;
    pthread_mutex_lock(&e->mu);
    if (finish == ENGINE_FINISH_CANCELLED) e->stats.requests_cancelled++;
    else e->stats.requests_done++;
    pthread_mutex_unlock(&e->mu);
    r->fn(r->user, &ev);
}

static void emit_text(struct request *r, int kind, const char *text, size_t len) {
    if (len == 0) return;
    struct engine_event ev = {0};
    ev.kind = kind;
    ev.text = text;
    ev.len = len;
    r->fn(r->user, &ev);
}

/* Reasoning splitter output: reasoning goes out directly, content through
 * the stop matcher. */
static void on_span(void *user, int kind, const char *text, size_t len) {
    struct request *r = user;
    if (r->finished) return;
    if (kind == RSN_REASONING) {
        emit_text(r, ENGINE_EV_REASONING, text, len);
        return;
    }
    /* Content can be long (a held run released at once): feed in pieces. */
    while (len > 0 && !r->finished) {
        size_t chunk = len < STOP_MAX_LEN ? len : STOP_MAX_LEN;
        size_t n_out = 0;
        int hit = stop_push(&r->stop, text, chunk, r->text_buf, &n_out);
        emit_text(r, ENGINE_EV_CONTENT, r->text_buf, n_out);
        if (hit) {
            r->finished = 1;
            r->finish = ENGINE_FINISH_STOP;
        }
        text += chunk;
        len -= chunk;
    }
}

/* Ends a request: flushes held text, sends DONE, frees it, idles the slot. */
static void finish_request(struct engine *e, struct slot *s, int finish, const char *msg) {
    struct request *r = s->req;
    if (finish != ENGINE_FINISH_CANCELLED && finish != ENGINE_FINISH_ERROR) {
        char tail[8];
        size_t k = tok_stream_flush(&r->ts, tail);
        if (k && !r->finished) rsn_push(&r->rsn, tail, k, on_span, r);
        if (!r->finished) rsn_finish(&r->rsn, on_span, r);
        if (!r->finished) {
            size_t k2 = stop_flush(&r->stop, r->text_buf);
            emit_text(r, ENGINE_EV_CONTENT, r->text_buf, k2);
        }
    }
    /* The slot is free before DONE goes out, so a client that submits again
     * as soon as it hears DONE finds it idle.  The cache keeps exactly the
     * evaluated tokens for reuse. */
    s->n_hist = s->n_kv;
    pthread_mutex_lock(&e->mu);
    s->req = NULL;
    e->stats.active--;
    pthread_mutex_unlock(&e->mu);
    emit_done(e, r, finish, msg);
    request_free(r);
}

static int is_eog(const struct engine *e, int32_t tk) {
    for (int i = 0; i < 4; i++)
        if (e->eog[i] >= 0 && e->eog[i] == tk) return 1;
    return 0;
}

/* Handles a token chosen for slot s (sampled or forced). */
static void take_token(struct engine *e, struct slot *s, int32_t tk, const struct smp_result *res) {
    struct request *r = s->req;
    if (r->t_first == 0) r->t_first = now_ms();
    smp_accept(r->smp, tk);
    if (!r->ignore_eos && is_eog(e, tk)) {
        r->n_gen++;
        finish_request(e, s, ENGINE_FINISH_STOP, NULL);
        return;
    }
    r->n_gen++;
    if (rsn_in_reasoning(&r->rsn)) r->n_reasoning++;
    if (r->n_logprobs >= 0 && res) {
        struct engine_top top[SMP_MAX_LOGPROBS];
        struct engine_event ev = {0};
        ev.kind = ENGINE_EV_TOKEN;
        ev.token = tk;
        ev.token_bytes = tok_piece(e->tok, tk, &ev.token_len);
        ev.logprob = res->logprob;
        ev.n_top = res->n_top;
        for (int i = 0; i < res->n_top; i++) {
            top[i].id = res->top[i].id;
            top[i].logprob = res->top[i].logprob;
            top[i].bytes = tok_piece(e->tok, res->top[i].id, &top[i].len);
        }
        ev.top = top;
        r->fn(r->user, &ev);
    }
    size_t len = 0;
    char err[DC_ERR_LEN];
    if (tok_stream_push(e->tok, &r->ts, tk, e->piece, e->piece_cap, &len, err) == DC_OK && len)
        rsn_push(&r->rsn, e->piece, len, on_span, r);
    else if (len == 0)
        rsn_push(&r->rsn, "", 0, on_span, r); /* a piece that completed nothing still counts for the budget */
    s->hist[s->n_hist++] = tk;
    pthread_mutex_lock(&e->mu);
    e->stats.generated_tokens++;
    e->busy_window_tokens += 1;
    pthread_mutex_unlock(&e->mu);
    if (r->finished) {
        finish_request(e, s, r->finish, NULL);
        return;
    }
    if (r->max_tokens > 0 && r->n_gen >= r->max_tokens) {
        finish_request(e, s, ENGINE_FINISH_LENGTH, NULL);
        return;
    }
    if (s->n_hist >= e->p.n_ctx) {
        finish_request(e, s, ENGINE_FINISH_LENGTH, NULL);
        return;
    }
    if (r->n_force && !r->forced && r->n_reasoning >= r->reasoning_budget && rsn_in_reasoning(&r->rsn)) {
        r->forced = 1;
        r->i_force = 0;
    }
}

/* Longest common prefix of a slot's cached tokens and a prompt; at most
 * n_prompt - 1 so at least one prompt token runs and yields logits. */
static int64_t common_prefix(const struct slot *s, const struct request *r) {
    int64_t n = s->n_kv < r->n_prompt - 1 ? s->n_kv : r->n_prompt - 1, i = 0;
    while (i < n && s->hist[i] == r->prompt[i]) i++;
    return i;
}

/* Moves queued requests into idle slots (under e->mu).  The slot is the
 * idle one whose own cache shares the longest prefix with the prompt (ties:
 * the one caching least, so longer conversations stay cached); longer
 * prefixes held by other slots are copied in by share_prefixes(). */
static void admit(struct engine *e) {
    while (e->q_head) {
        struct request *r = e->q_head;
        if (atomic_load(&r->cancel)) { /* cancelled while waiting */
            e->q_head = r->next;
            if (!e->q_head) e->q_tail = NULL;
            e->n_queued--;
            pthread_mutex_unlock(&e->mu);
            r->t_start = now_ms();
            emit_done(e, r, ENGINE_FINISH_CANCELLED, NULL);
            request_free(r);
            pthread_mutex_lock(&e->mu);
            continue;
        }
        int32_t best = -1;
        int64_t best_lcp = -1;
        for (int32_t i = 0; i < e->p.n_parallel; i++) {
            if (e->slots[i].req) continue;
            int64_t lcp = common_prefix(&e->slots[i], r);
            if (lcp > best_lcp || (lcp == best_lcp && e->slots[i].n_kv < e->slots[best].n_kv)) {
                best_lcp = lcp;
                best = i;
            }
        }
        if (best < 0) return;
        e->q_head = r->next;
        if (!e->q_head) e->q_tail = NULL;
        e->n_queued--;
        r->next = NULL;
        struct slot *s = &e->slots[best];
        s->req = r;
        r->cached = best_lcp;
        r->t_start = now_ms();
        fwd_seq_truncate(&e->f, best, best_lcp);
        s->n_kv = best_lcp;
        s->n_prefilled = best_lcp;
        memcpy(s->hist + best_lcp, r->prompt + best_lcp, (size_t)(r->n_prompt - best_lcp) * sizeof(int32_t));
        s->n_hist = r->n_prompt;
        e->stats.active++;
        e->stats.prompt_tokens += (uint64_t)r->n_prompt;
        e->stats.cached_tokens += (uint64_t)best_lcp;
    }
}

/* Tokens two prompts share from the start, at most n_max. */
static int64_t prompts_common(const struct request *a, const struct request *b, int64_t n_max) {
    int64_t n = a->n_prompt < n_max ? a->n_prompt : n_max, i = 0;
    while (i < n && a->prompt[i] == b->prompt[i]) i++;
    return i;
}

/* Prefix sharing between slots, before each step's batch is built.  A slot
 * still prefilling takes, by copy, the KV rows of the longest prefix of its
 * prompt another slot (idle or busy) has already computed - the same system
 * prompt, a conversation forked from the same turn.  The copy is exact: a
 * token's KV depends only on its sequence's earlier tokens, never on the
 * batch it ran in.  Prompts admitted together that share a prefix nobody has
 * computed yet would each compute it; instead only the first of them (lowest
 * slot) runs it, and the others (if that saves them ENGINE_SHARE_MIN tokens
 * or more) hold for a step and then copy it.
 * Engine thread only (the slots' progress fields are its own). */
static void share_prefixes(struct engine *e) {
    const int32_t P = e->p.n_parallel;
    for (int32_t i = 0; i < P; i++) {
        struct slot *s = &e->slots[i];
        s->hold = 0;
        if (!s->req || s->n_prefilled >= s->req->n_prompt) continue;
        struct request *r = s->req;
        int32_t donor = -1;
        int64_t best = s->n_prefilled;
        for (int32_t j = 0; j < P; j++) {
            if (j == i) continue;
            int64_t lcp = common_prefix(&e->slots[j], r);
            if (lcp > best) {
                best = lcp;
                donor = j;
            }
        }
        /* the donor's n_kv rows are all in its cache, so the copy cannot fail */
        if (donor >= 0 && fwd_seq_copy(&e->f, donor, i, best) == DC_OK) {
            r->cached += best - s->n_prefilled;
            pthread_mutex_lock(&e->mu);
            e->stats.cached_tokens += (uint64_t)(best - s->n_prefilled);
            pthread_mutex_unlock(&e->mu);
            s->n_kv = s->n_prefilled = best;
        }
        /* wait if an earlier slot computes more of this prompt in this step */
        for (int32_t j = 0; j < i && !s->hold; j++) {
            const struct slot *d = &e->slots[j];
            if (!d->req || d->n_prefilled >= d->req->n_prompt) continue;
            int64_t shared = prompts_common(r, d->req, r->n_prompt - 1);
            s->hold = shared - s->n_prefilled >= ENGINE_SHARE_MIN && d->n_prefilled < shared;
        }
    }
}

static void *engine_thread_main(void *arg) {
    struct engine *e = arg;
    /* The forward pass's OpenMP team size is this thread's setting. */
    if (e->p.n_threads > 0) omp_set_num_threads(e->p.n_threads);
    const int64_t V = e->m->hp.n_vocab;
    char err[DC_ERR_LEN];
    for (;;) {
        pthread_mutex_lock(&e->mu);
        admit(e);
        int active = 0;
        for (int32_t i = 0; i < e->p.n_parallel; i++) active += e->slots[i].req != NULL;
        while (!active && !e->q_head && !e->stop_thread) {
            pthread_cond_wait(&e->cv, &e->mu);
            admit(e);
            for (int32_t i = 0; i < e->p.n_parallel; i++) active += e->slots[i].req != NULL;
        }
        if (!active && !e->q_head && e->stop_thread) {
            pthread_mutex_unlock(&e->mu);
            break;
        }
        pthread_mutex_unlock(&e->mu);

        /* Cancellations. */
        for (int32_t i = 0; i < e->p.n_parallel; i++) {
            struct slot *s = &e->slots[i];
            if (s->req && atomic_load(&s->req->cancel)) finish_request(e, s, ENGINE_FINISH_CANCELLED, NULL);
        }

        share_prefixes(e);
        /* Build the batch: decode tokens first, then prompt chunks. */
        int64_t n = 0, n_out = 0;
        for (int32_t i = 0; i < e->p.n_parallel; i++) {
            struct slot *s = &e->slots[i];
            s->out_row = -1;
            if (!s->req || s->n_prefilled < s->req->n_prompt) continue;
            /* Decoding: the pending sampled token hist[n_kv] runs now. */
            e->batch[n] = (struct fwd_tok){s->hist[s->n_kv], i, s->n_kv, (int32_t)n_out};
            s->out_row = (int32_t)n_out++;
            n++;
        }
        /* While sequences decode, a pass takes at most n_chunk prompt tokens:
         * the decoders' next token waits for one pass, whose time grows
         * with its tokens once the matrix work is compute-bound. */
        const int64_t cap = n > 0 && e->p.n_chunk > 0 && n + e->p.n_chunk < e->f.n_batch ? n + e->p.n_chunk
                                                                                          : e->f.n_batch;
        for (int32_t i = 0; i < e->p.n_parallel && n < cap; i++) {
            struct slot *s = &e->slots[i];
            if (!s->req || s->n_prefilled >= s->req->n_prompt || s->hold) continue;
            int64_t left = s->req->n_prompt - s->n_prefilled, room = cap - n;
            int64_t k = left < room ? left : room;
            for (int64_t j = 0; j < k; j++) {
                int64_t pos = s->n_prefilled + j;
                int last = pos == s->req->n_prompt - 1;
                e->batch[n++] = (struct fwd_tok){s->hist[pos], i, pos, last ? (int32_t)n_out : -1};
                if (last) s->out_row = (int32_t)n_out++;
            }
            s->n_prefilled += k;
        }
        if (n == 0) continue;
        int rc = fwd_eval_batch(&e->f, e->batch, n, e->logits, err);
        pthread_mutex_lock(&e->mu);
        e->stats.steps++;
        pthread_mutex_unlock(&e->mu);
        if (rc) { /* cannot happen with a consistent batch; fail every request in it */
            for (int32_t i = 0; i < e->p.n_parallel; i++)
                if (e->slots[i].req) finish_request(e, &e->slots[i], ENGINE_FINISH_ERROR, err);
            continue;
        }
        for (int64_t j = 0; j < n; j++) {
            struct slot *s = &e->slots[e->batch[j].seq];
            if (e->batch[j].pos + 1 > s->n_kv) s->n_kv = e->batch[j].pos + 1;
        }
        /* Sample: each request's sampler (state, RNG) is its own, so the
         * team samples the sequences side by side (a full-vocabulary pass
         * each); then the tokens are taken, in slot order, by this thread. */
        int n_smp = 0;
        for (int32_t i = 0; i < e->p.n_parallel; i++) {
            const struct slot *s = &e->slots[i];
            n_smp += s->req && s->out_row >= 0 && !(s->req->forced && s->req->i_force < s->req->n_force);
        }
#pragma omp parallel for schedule(dynamic, 1) if (n_smp > 1)
        for (int32_t i = 0; i < e->p.n_parallel; i++) {
            struct slot *s = &e->slots[i];
            if (!s->req || s->out_row < 0 || (s->req->forced && s->req->i_force < s->req->n_force)) continue;
            s->res_rc = smp_sample(s->req->smp, e->logits + (size_t)s->out_row * (size_t)V, &s->res, s->res_err);
        }
        for (int32_t i = 0; i < e->p.n_parallel; i++) {
            struct slot *s = &e->slots[i];
            if (!s->req || s->out_row < 0) continue;
            struct request *r = s->req;
            if (r->forced && r->i_force < r->n_force) {
                take_token(e, s, r->force[r->i_force++], NULL);
                continue;
            }
            if (s->res_rc) {
                finish_request(e, s, ENGINE_FINISH_ERROR, s->res_err);
                continue;
            }
            take_token(e, s, s->res.id, &s->res);
        }
        /* Throughput over a sliding minute. */
        pthread_mutex_lock(&e->mu);
        double t = now_ms();
        if (t - e->busy_window_start > 60000.0) {
            e->busy_window_start = t - 1000.0;
            e->busy_window_tokens = 0;
        }
        double win = t - e->busy_window_start;
        e->stats.gen_tokens_per_s = win > 0 ? e->busy_window_tokens * 1000.0 / win : 0;
        pthread_mutex_unlock(&e->mu);
    }
    return NULL;
}
