/*
 * cmd_gen.c - `deepc run` and `deepc chat`: text generation in the terminal.
 *
 * Both drive the engine (src/engine/engine.h) with one sequence slot.  The
 * answer streams to stdout; reasoning (<think>...</think>) goes to stderr for
 * `run` (dimmed when stderr is a terminal) and, in `chat`, streams dimmed and
 * then folds into a one-line "Thought for N s" summary once the answer
 * starts.  Ctrl-C in `chat` stops the current answer, not the program.
 */
#include <errno.h>
#include <json-c/json.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <utf8proc.h>

#include "cli.h"
#include "engine.h"
#include "err.h"

#define DIM "\033[2m"
#define RESET "\033[0m"

static double mono_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- one generation ------------------------------------------------------ */

struct gen {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
    int finish;
    struct engine_usage usage;
    char errmsg[DC_ERR_LEN];
    /* output */
    int json;                 /* collect instead of printing */
    int fold;                 /* chat: fold reasoning when content starts */
    int tty_err, tty_out;
    int in_reasoning_shown;   /* reasoning lines are on screen */
    int rows, col, width;     /* screen rows used by the shown reasoning */
    double t_reason0, t_reason1;
    char *reasoning, *content; /* collected (json mode, and chat history) */
    size_t n_reasoning, n_content, cap_reasoning, cap_content;
    int32_t *ids;
    size_t n_ids, cap_ids;
};

static void buf_add(char **b, size_t *n, size_t *cap, const char *s, size_t len) {
    if (*n + len + 1 > *cap) {
        size_t nc = (*n + len + 1) * 2;
        char *nb = realloc(*b, nc);
        if (!nb) return;
        *b = nb;
        *cap = nc;
    }
    memcpy(*b + *n, s, len);
    *n += len;
    (*b)[*n] = 0;
}

/* Tracks how many screen rows printed text occupies (for folding). */
static void count_rows(struct gen *g, const char *s, size_t len) {
    size_t i = 0;
    while (i < len) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(len - i), &cp);
        if (k <= 0) {
            i++;
            continue;
        }
        i += (size_t)k;
        if (cp == '\n') {
            g->rows++;
            g->col = 0;
            continue;
        }
        int w = utf8proc_charwidth(cp);
        if (w < 0) w = 0;
        if (g->col + w > g->width) {
            g->rows++;
            g->col = 0;
        }
        g->col += w;
    }
}

static void on_event(void *user, const struct engine_event *ev) {
    struct gen *g = user;
    switch (ev->kind) {
    case ENGINE_EV_REASONING:
        if (!g->t_reason0) g->t_reason0 = mono_s();
        g->t_reason1 = mono_s();
        buf_add(&g->reasoning, &g->n_reasoning, &g->cap_reasoning, ev->text, ev->len);
        if (g->json) break;
        if (g->fold) {
            if (g->tty_out) fputs(DIM, stdout);
            fwrite(ev->text, 1, ev->len, stdout);
            if (g->tty_out) fputs(RESET, stdout);
            fflush(stdout);
            g->in_reasoning_shown = 1;
            count_rows(g, ev->text, ev->len);
        } else {
            if (g->tty_err) fputs(DIM, stderr);
            fwrite(ev->text, 1, ev->len, stderr);
            if (g->tty_err) fputs(RESET, stderr);
            fflush(stderr);
        }
        break;
    case ENGINE_EV_CONTENT:
        buf_add(&g->content, &g->n_content, &g->cap_content, ev->text, ev->len);
        if (g->json) break;
        if (g->fold && g->in_reasoning_shown) {
            /* Fold: erase the reasoning shown so far, leave a summary line. */
            if (g->tty_out && g->rows < 200) printf("\r\033[%dA\033[J", g->rows);
            else printf("\n");
            printf("%s[Thought for %.0f s]%s\n", g->tty_out ? DIM : "", g->t_reason1 - g->t_reason0,
                   g->tty_out ? RESET : "");
            g->in_reasoning_shown = 0;
        } else if (!g->fold && g->n_reasoning && g->n_content == ev->len) {
            fputc('\n', stderr);
        }
        fwrite(ev->text, 1, ev->len, stdout);
        fflush(stdout);
        break;
    case ENGINE_EV_TOKEN:
        if (g->n_ids + 1 > g->cap_ids) {
            size_t nc = g->cap_ids * 2 + 64;
            int32_t *ni = realloc(g->ids, nc * sizeof(int32_t));
            if (!ni) break;
            g->ids = ni;
            g->cap_ids = nc;
        }
        g->ids[g->n_ids++] = ev->token;
        break;
    case ENGINE_EV_DONE:
        pthread_mutex_lock(&g->mu);
        g->done = 1;
        g->finish = ev->finish;
        g->usage = ev->usage;
        if (ev->text) snprintf(g->errmsg, sizeof(g->errmsg), "%.*s", (int)ev->len, ev->text);
        pthread_cond_signal(&g->cv);
        pthread_mutex_unlock(&g->mu);
        break;
    }
}

static void gen_init(struct gen *g) {
    memset(g, 0, sizeof(*g));
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    g->tty_err = isatty(2);
    g->tty_out = isatty(1);
    g->width = 80;
    struct winsize ws;
    if (ioctl(1, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) g->width = ws.ws_col;
}

static void gen_free(struct gen *g) {
    free(g->reasoning);
    free(g->content);
    free(g->ids);
    pthread_mutex_destroy(&g->mu);
    pthread_cond_destroy(&g->cv);
}

static volatile sig_atomic_t g_interrupted;
static void on_sigint(int sig) {
    (void)sig;
    g_interrupted = 1;
}

/* Waits for DONE; a Ctrl-C (chat) cancels the request. */
static void gen_wait(struct gen *g, struct engine *e, uint64_t id) {
    int cancelled = 0;
    pthread_mutex_lock(&g->mu);
    while (!g->done) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&g->cv, &g->mu, &ts);
        if (g_interrupted && !cancelled) {
            cancelled = 1;
            pthread_mutex_unlock(&g->mu);
            engine_cancel(e, id);
            pthread_mutex_lock(&g->mu);
        }
    }
    pthread_mutex_unlock(&g->mu);
}

/* ---- options shared by run and chat --------------------------------------- */

struct gen_opts {
    const char *model, *prompt, *system, *tmpl, *cache_type;
    long n_predict;
    float temp;
    int has_temp;
    unsigned long long seed;
    int has_seed;
    int think;                /* enum chat_think */
    long budget;
    long ctx;
    int json;
    int repack;               /* --repack: weights copied into the packed layout at load */
};

static int parse_opts(int argc, char **argv, struct gen_opts *o, int chat) {
    memset(o, 0, sizeof(*o));
    o->n_predict = chat ? 2048 : 512;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!chat && !strcmp(a, "-p") && v) o->prompt = argv[++i];
        else if (!strcmp(a, "-n") && v) o->n_predict = strtol(argv[++i], NULL, 10);
        else if (!strcmp(a, "--temp") && v) o->temp = strtof(argv[++i], NULL), o->has_temp = 1;
        else if (!strcmp(a, "--seed") && v) o->seed = strtoull(argv[++i], NULL, 10), o->has_seed = 1;
        else if (!strcmp(a, "--system") && v) o->system = argv[++i];
        else if (!strcmp(a, "--chat-template") && v) o->tmpl = argv[++i];
        else if (!strcmp(a, "--ctx") && v) o->ctx = strtol(argv[++i], NULL, 10);
        else if (!strcmp(a, "--cache-type") && v) o->cache_type = argv[++i];
        else if (!strcmp(a, "--repack")) o->repack = 1;
        else if (!strcmp(a, "--reasoning-budget") && v) o->budget = strtol(argv[++i], NULL, 10);
        else if (!strcmp(a, "--think") && v) {
            const char *t = argv[++i];
            if (!strcmp(t, "on")) o->think = CHAT_THINK_ON;
            else if (!strcmp(t, "off")) o->think = CHAT_THINK_OFF;
            else return -1;
        } else if (!chat && !strcmp(a, "--json")) o->json = 1;
        else if (!o->model && a[0] != '-') o->model = a;
        else {
            fprintf(stderr, "deepc: unexpected argument '%s'\n", a);
            return -1;
        }
    }
    if (!o->model || o->n_predict < 0 || o->ctx < 0 || o->budget < 0 || (o->has_temp && !(o->temp >= 0)))
        return -1;
    return 0;
}

static struct engine *open_engine(const struct gen_opts *o) {
    struct engine_params p;
    engine_params_default(&p);
    p.n_parallel = 1;
    p.queue_max = 0;
    p.chat_template = o->tmpl;
    p.cache_type = o->cache_type;
    p.repack = o->repack;
    if (o->ctx > 0) p.n_ctx = o->ctx;
    char err[DC_ERR_LEN], warn[DC_ERR_LEN];
    struct engine *e = NULL;
    if (engine_open(&e, o->model, &p, warn, err)) {
        fprintf(stderr, "deepc: %s\n", err);
        return NULL;
    }
    if (warn[0]) fprintf(stderr, "deepc: warning: %s\n", warn);
    return e;
}

static void fill_request(struct engine *e, const struct gen_opts *o, struct engine_request *rq) {
    memset(rq, 0, sizeof(*rq));
    engine_sampling_defaults(e, &rq->sampling);
    if (o->has_temp) rq->sampling.temperature = o->temp;
    rq->sampling.seed = o->has_seed ? o->seed : (uint64_t)time(NULL);
    rq->max_tokens = (int32_t)o->n_predict;
    rq->thinking = o->think;
    rq->reasoning_budget = (int32_t)o->budget;
    rq->n_logprobs = -1;
}

static const char *finish_name(int f) {
    switch (f) {
    case ENGINE_FINISH_STOP: return "stop";
    case ENGINE_FINISH_LENGTH: return "length";
    case ENGINE_FINISH_CANCELLED: return "cancelled";
    default: return "error";
    }
}

/* ---- deepc run ------------------------------------------------------------ */

int cmd_run(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--ids")) return cmd_run_ids(argc, argv);
    struct gen_opts o;
    if (parse_opts(argc, argv, &o, 0) || !o.prompt) {
        fprintf(stderr, "usage: deepc run MODEL -p PROMPT [-n N] [--temp T] [--seed S] [--json] [--system TEXT]\n"
                        "                 [--think on|off] [--reasoning-budget N] [--chat-template NAME] [--ctx N] [--cache-type f32|f16|bf16|q8] [--repack]\n"
                        "       deepc run MODEL --ids 1,2,3 [-n N]\n");
        return 2;
    }
    struct engine *e = open_engine(&o);
    if (!e) return 1;
    struct chat_msg msgs[2];
    size_t n = 0;
    if (o.system) msgs[n++] = (struct chat_msg){CHAT_ROLE_SYSTEM, o.system, NULL};
    msgs[n++] = (struct chat_msg){CHAT_ROLE_USER, o.prompt, NULL};
    struct engine_request rq;
    fill_request(e, &o, &rq);
    rq.msgs = msgs;
    rq.n_msgs = n;
    if (o.json) rq.n_logprobs = 0; /* token events carry the ids */
    struct gen g;
    gen_init(&g);
    g.json = o.json;
    char err[DC_ERR_LEN];
    uint64_t id;
    int64_t n_prompt;
    int rc = 1;
    double t0 = mono_s();
    if (engine_submit(e, &rq, on_event, &g, &id, &n_prompt, err)) {
        fprintf(stderr, "deepc: %s\n", err);
        goto done;
    }
    gen_wait(&g, e, id);
    double secs = mono_s() - t0;
    if (g.finish == ENGINE_FINISH_ERROR) {
        fprintf(stderr, "deepc: %s\n", g.errmsg);
        goto done;
    }
    if (o.json) {
        struct json_object *j = json_object_new_object(), *ids = json_object_new_array(), *u = json_object_new_object(),
                           *t = json_object_new_object();
        json_object_object_add(j, "model", json_object_new_string(engine_model_id(e)));
        json_object_object_add(j, "reasoning", json_object_new_string_len(g.reasoning ? g.reasoning : "",
                                                                            (int)g.n_reasoning));
        json_object_object_add(j, "content", json_object_new_string_len(g.content ? g.content : "", (int)g.n_content));
        for (size_t i = 0; i < g.n_ids; i++) json_object_array_add(ids, json_object_new_int(g.ids[i]));
        json_object_object_add(j, "token_ids", ids);
        json_object_object_add(j, "finish_reason", json_object_new_string(finish_name(g.finish)));
        json_object_object_add(u, "prompt_tokens", json_object_new_int64(g.usage.prompt_tokens));
        json_object_object_add(u, "completion_tokens", json_object_new_int64(g.usage.completion_tokens));
        json_object_object_add(u, "reasoning_tokens", json_object_new_int64(g.usage.reasoning_tokens));
        json_object_object_add(u, "total_tokens",
                               json_object_new_int64(g.usage.prompt_tokens + g.usage.completion_tokens));
        json_object_object_add(j, "usage", u);
        json_object_object_add(t, "prompt_ms", json_object_new_double(g.usage.prompt_ms));
        json_object_object_add(t, "generation_ms", json_object_new_double(g.usage.gen_ms));
        json_object_object_add(t, "total_s", json_object_new_double(secs));
        json_object_object_add(t, "generated_tokens_per_s",
                               json_object_new_double(g.usage.gen_ms > 0 ? (double)(g.usage.completion_tokens - 1) *
                                                                               1000.0 / g.usage.gen_ms
                                                                         : 0));
        json_object_object_add(j, "timings", t);
        printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(j);
    } else {
        printf("\n");
    }
    rc = 0;
done:
    engine_close(e);
    gen_free(&g);
    return rc;
}

/* ---- deepc chat ----------------------------------------------------------- */

struct turn {
    int role;
    char *content;
};

static int save_history(const char *path, const struct turn *h, size_t n) {
    struct json_object *arr = json_object_new_array();
    for (size_t i = 0; i < n; i++) {
        struct json_object *m = json_object_new_object();
        json_object_object_add(m, "role", json_object_new_string(h[i].role == CHAT_ROLE_USER   ? "user"
                                                                 : h[i].role == CHAT_ROLE_SYSTEM ? "system"
                                                                                                 : "assistant"));
        json_object_object_add(m, "content", json_object_new_string(h[i].content));
        json_object_array_add(arr, m);
    }
    int rc = json_object_to_file_ext(path, arr, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
    json_object_put(arr);
    return rc;
}

/* Touches every page of the model file with a progress bar, so a large
 * model loads visibly (and the first answer is not slowed by page faults). */
static void warm_pages(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return; /* a directory: nothing to show */
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (size < (64L << 20) || !isatty(2)) {
        fclose(f);
        return;
    }
    static char buf[1 << 20];
    long done = 0;
    size_t k;
    int last = -1;
    while ((k = fread(buf, 1, sizeof(buf), f)) > 0) {
        done += (long)k;
        int pct = (int)(done * 100 / size);
        if (pct != last) {
            int bars = pct * 30 / 100;
            fprintf(stderr, "\rloading [%.*s%*s] %3d%%", bars, "##############################", 30 - bars, "",
                    pct);
            last = pct;
        }
    }
    fprintf(stderr, "\r\033[K");
    fclose(f);
}

int cmd_chat(int argc, char **argv) {
    struct gen_opts o;
    if (parse_opts(argc, argv, &o, 1)) {
        fprintf(stderr, "usage: deepc chat MODEL [--think on|off] [--system TEXT] [--temp T] [--seed S] [-n N]\n"
                        "                  [--reasoning-budget N] [--chat-template NAME] [--ctx N] [--cache-type f32|f16|bf16|q8]\n"
                        "                  [--repack]\n");
        return 2;
    }
    warm_pages(o.model);
    struct engine *e = open_engine(&o);
    if (!e) return 1;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, NULL);
    int tty = isatty(0) && isatty(1);
    printf("deepc chat - %s (template %s). /think on|off, /reset, /save FILE, /quit; Ctrl-C stops an answer.\n",
           engine_model_id(e), engine_template_name(e));
    struct turn *hist = NULL;
    size_t n_hist = 0, cap_hist = 0;
    if (o.system) {
        hist = malloc(sizeof(*hist));
        hist[0] = (struct turn){CHAT_ROLE_SYSTEM, strdup(o.system)};
        n_hist = cap_hist = 1;
    }
    char *line = NULL;
    size_t line_cap = 0;
    for (;;) {
        if (tty) printf("\033[1m>>> \033[0m");
        else printf(">>> ");
        fflush(stdout);
        g_interrupted = 0;
        errno = 0;
        ssize_t k = getline(&line, &line_cap, stdin);
        if (k < 0) {
            if (errno == EINTR && g_interrupted) {
                clearerr(stdin);
                printf("\n");
                continue;
            }
            printf("\n");
            break;
        }
        while (k > 0 && (line[k - 1] == '\n' || line[k - 1] == '\r')) line[--k] = 0;
        if (k == 0) continue;
        if (!strcmp(line, "/quit") || !strcmp(line, "/exit")) break;
        if (!strcmp(line, "/think on") || !strcmp(line, "/think off")) {
            o.think = line[8] == 'n' ? CHAT_THINK_ON : CHAT_THINK_OFF;
            printf("thinking %s\n", o.think == CHAT_THINK_ON ? "on" : "off");
            continue;
        }
        if (!strcmp(line, "/reset")) {
            for (size_t i = 0; i < n_hist; i++) free(hist[i].content);
            n_hist = 0;
            if (o.system) hist[n_hist++] = (struct turn){CHAT_ROLE_SYSTEM, strdup(o.system)};
            printf("conversation cleared\n");
            continue;
        }
        if (!strncmp(line, "/save ", 6)) {
            if (save_history(line + 6, hist, n_hist)) printf("cannot write %s\n", line + 6);
            else printf("saved %zu messages to %s\n", n_hist, line + 6);
            continue;
        }
        if (line[0] == '/') {
            printf("commands: /think on|off, /reset, /save FILE, /quit\n");
            continue;
        }
        if (n_hist + 2 > cap_hist) {
            cap_hist = cap_hist * 2 + 8;
            struct turn *nh = realloc(hist, cap_hist * sizeof(*hist));
            if (!nh) break;
            hist = nh;
        }
        hist[n_hist++] = (struct turn){CHAT_ROLE_USER, strdup(line)};
        struct chat_msg *msgs = calloc(n_hist, sizeof(*msgs));
        for (size_t i = 0; i < n_hist; i++) msgs[i] = (struct chat_msg){hist[i].role, hist[i].content, NULL};
        struct engine_request rq;
        fill_request(e, &o, &rq);
        rq.msgs = msgs;
        rq.n_msgs = n_hist;
        struct gen g;
        gen_init(&g);
        g.fold = 1;
        char err[DC_ERR_LEN];
        uint64_t id;
        int64_t n_prompt;
        if (engine_submit(e, &rq, on_event, &g, &id, &n_prompt, err)) {
            printf("error: %s\n", err);
            free(hist[--n_hist].content);
        } else {
            gen_wait(&g, e, id);
            if (g.in_reasoning_shown) printf("\n");
            if (g.finish == ENGINE_FINISH_CANCELLED) printf("%s[stopped]%s", tty ? DIM : "", tty ? RESET : "");
            double tps = g.usage.gen_ms > 0 ? (double)g.usage.completion_tokens * 1000.0 / g.usage.gen_ms : 0;
            printf("\n%s(%lld tokens, %.1f tokens/s)%s\n", tty ? DIM : "", (long long)g.usage.completion_tokens, tps,
                   tty ? RESET : "");
            /* History keeps the answer only; earlier reasoning is dropped, as
             * the R1 templates do. */
            hist[n_hist++] = (struct turn){CHAT_ROLE_ASSISTANT, strdup(g.content ? g.content : "")};
        }
        free(msgs);
        gen_free(&g);
    }
    free(line);
    for (size_t i = 0; i < n_hist; i++) free(hist[i].content);
    free(hist);
    engine_close(e);
    return 0;
}
