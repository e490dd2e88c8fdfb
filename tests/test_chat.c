/*
 * test_chat.c - chat templates against the real Jinja templates.
 *
 * tests/data/chat/expected.json holds, for each real template text in
 * tests/data/chat/templates/, the prompts that transformers'
 * apply_chat_template rendered for a set of conversations
 * (tools/make_chat_fixtures.py).  Here each template text goes through
 * chat_detect, the detected renderer renders the same conversations, and the
 * result must match byte for byte.
 */
#include <json-c/json.h>

#include "chat.h"
#include "err.h"
#include "test.h"

#define MAX_MSGS 16

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    if (s) s[n] = 0;
    fclose(f);
    return s;
}

static json_object *g_root;

static json_object *load_expected(void) {
    if (g_root) return g_root;
    char path[512];
    snprintf(path, sizeof path, "%s/chat/expected.json", t_data_dir());
    g_root = json_object_from_file(path);
    return g_root;
}

static const char *jstr(json_object *o, const char *key) {
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null)) return NULL;
    return json_object_get_string(v);
}

/* Converts one fixture conversation into chat_msg / chat_opts. */
static size_t conv_msgs(json_object *conv, struct chat_msg *m, struct chat_opts *o) {
    json_object *msgs, *v;
    json_object_object_get_ex(conv, "messages", &msgs);
    size_t n = json_object_array_length(msgs);
    if (n > MAX_MSGS) n = MAX_MSGS;
    for (size_t i = 0; i < n; i++) {
        json_object *jm = json_object_array_get_idx(msgs, i);
        const char *role = jstr(jm, "role");
        m[i].role = strcmp(role, "system") == 0 ? CHAT_ROLE_SYSTEM
                    : strcmp(role, "user") == 0 ? CHAT_ROLE_USER
                                                : CHAT_ROLE_ASSISTANT;
        m[i].content = jstr(jm, "content");
        m[i].reasoning_content = jstr(jm, "reasoning_content");
    }
    json_object_object_get_ex(conv, "add_generation_prompt", &v);
    o->add_generation_prompt = json_object_get_boolean(v);
    const char *th = jstr(conv, "thinking");
    o->thinking = strcmp(th, "on") == 0 ? CHAT_THINK_ON
                  : strcmp(th, "off") == 0 ? CHAT_THINK_OFF
                                           : CHAT_THINK_DEFAULT;
    return n;
}

/* Prints the first difference of two strings (byte offset and context). */
static void show_diff(const char *got, const char *want) {
    size_t i = 0;
    while (got[i] && got[i] == want[i]) i++;
    size_t from = i > 20 ? i - 20 : 0;
    printf("    first difference at byte %zu\n    got : \"%.60s\"\n    want: \"%.60s\"\n", i, got + from,
           want + from);
}

static void test_templates_match_jinja(void) {
    json_object *root = load_expected(), *tmpls, *convs, *exp;
    T_CHECK(root != NULL, "cannot read %s/chat/expected.json", t_data_dir());
    if (!root) return;
    json_object_object_get_ex(root, "templates", &tmpls);
    json_object_object_get_ex(root, "conversations", &convs);
    json_object_object_get_ex(root, "expected", &exp);
    printf("  reference: %s\n", jstr(root, "generator"));
    size_t n_conv = json_object_array_length(convs), n_ok = 0, n_all = 0;
    T_CHECK(n_conv >= 12, "only %zu conversations", n_conv);
    for (size_t ti = 0; ti < json_object_array_length(tmpls); ti++) {
        json_object *jt = json_object_array_get_idx(tmpls, ti);
        const char *name = jstr(jt, "name"), *file = jstr(jt, "file");
        const char *want_id = jstr(jt, "detect"), *bos = jstr(jt, "bos");
        char path[512], err[DC_ERR_LEN], warn[DC_ERR_LEN];
        snprintf(path, sizeof path, "%s/chat/templates/%s", t_data_dir(), file);
        char *text = read_file(path);
        T_CHECK(text != NULL, "cannot read %s", path);
        if (!text) continue;
        int id = chat_detect(text, NULL);
        printf("  %-26s %-26s detected as %s\n", name, file, chat_name(id));
        T_CHECK(id == chat_from_name(want_id), "%s: detected %s, want %s", name, chat_name(id), want_id);
        struct chat_template t;
        int rc = chat_init(&t, text, NULL, NULL, bos, warn, err);
        T_CHECK(rc == DC_OK && warn[0] == 0, "%s: chat_init rc %d warn '%s'", name, rc, warn);
        json_object *jexp;
        json_object_object_get_ex(exp, name, &jexp);
        for (size_t ci = 0; ci < n_conv; ci++) {
            struct chat_msg m[MAX_MSGS];
            struct chat_opts o;
            size_t n = conv_msgs(json_object_array_get_idx(convs, ci), m, &o);
            const char *want = json_object_get_string(json_object_array_get_idx(jexp, ci));
            char *got = NULL;
            size_t len = 0;
            rc = chat_render_alloc(&t, m, n, &o, &got, &len, err);
            n_all++;
            int same = rc == DC_OK && len == strlen(want) && strcmp(got, want) == 0;
            T_CHECK(same, "%s conversation %zu differs from the Jinja rendering (rc %d)", name, ci, rc);
            if (!same && got) show_diff(got, want);
            n_ok += same;
            free(got);
        }
        free(text);
    }
    printf("  %zu/%zu renderings equal to transformers' output\n", n_ok, n_all);
}

/* Fixed buffers: exact fit, one byte short (DC_ERANGE + truncated prefix),
 * and a size query with cap 0. */
static void test_render_buffer(void) {
    struct chat_template t;
    char err[DC_ERR_LEN];
    T_CHECK(chat_init(&t, NULL, NULL, "deepseek-r1", NULL, NULL, err) == DC_OK, "%s", err);
    struct chat_msg m[] = {{CHAT_ROLE_SYSTEM, "You are a helpful assistant.", NULL},
                           {CHAT_ROLE_USER, "Hi!", NULL}};
    struct chat_opts o = {1, CHAT_THINK_DEFAULT};
    /* spec/TOKENIZER.md 5.7 example C */
    const char *want = "<｜begin▁of▁sentence｜>You are a helpful assistant.<｜User｜>Hi!<｜Assistant｜><think>\n";
    size_t wl = strlen(want), len = 0;
    char buf[256];
    T_CHECK(chat_render(&t, m, 2, &o, NULL, 0, &len, err) == DC_ERANGE && len == wl, "size query %zu", len);
    T_CHECK(chat_render(&t, m, 2, &o, buf, wl + 1, &len, err) == DC_OK && strcmp(buf, want) == 0,
            "exact fit: '%s'", buf);
    T_CHECK(chat_render(&t, m, 2, &o, buf, wl, &len, err) == DC_ERANGE && len == wl &&
                strlen(buf) == wl - 1 && memcmp(buf, want, wl - 1) == 0,
            "one short: len %zu '%s'", len, buf);
    T_CHECK(chat_render(&t, m, 0, &o, buf, sizeof buf, &len, err) == DC_EINVAL, "n == 0 accepted");
    struct chat_msg bad = {CHAT_ROLE_USER, NULL, NULL};
    T_CHECK(chat_render(&t, &bad, 1, &o, buf, sizeof buf, &len, err) == DC_EINVAL, "NULL content accepted");
    bad.role = 7;
    bad.content = "x";
    T_CHECK(chat_render(&t, &bad, 1, &o, buf, sizeof buf, &len, err) == DC_EINVAL, "role 7 accepted");
}

static void test_names_and_fallback(void) {
    struct chat_template t;
    char err[DC_ERR_LEN], warn[DC_ERR_LEN];
    T_CHECK(chat_from_name("DeepSeek-R1") == CHAT_TMPL_DEEPSEEK_R1, "case-insensitive name");
    T_CHECK(chat_from_name("deepseek-r1-distill-llama") == CHAT_TMPL_DEEPSEEK_R1_DISTILL, "alias");
    T_CHECK(chat_from_name("qwen2.5") == CHAT_TMPL_QWEN2, "alias qwen2.5");
    T_CHECK(chat_from_name("vicuna") == CHAT_TMPL_UNKNOWN, "unknown name");
    for (int id = 0; id < CHAT_TMPL_COUNT; id++)
        T_CHECK(chat_from_name(chat_name(id)) == id, "round trip of %s", chat_name(id));
    T_CHECK(chat_init(&t, NULL, NULL, "vicuna", NULL, warn, err) == DC_EINVAL, "unknown override accepted");

    /* An unknown template text: ChatML and a warning that says so. */
    const char *mistral = "{{ bos_token }}{% for message in messages %}[INST] {{ message['content'] }} [/INST]"
                          "{% endfor %}";
    T_CHECK(chat_detect(mistral, NULL) == CHAT_TMPL_UNKNOWN, "mistral text recognised");
    T_CHECK(chat_init(&t, mistral, NULL, NULL, NULL, warn, err) == DC_OK && t.id == CHAT_TMPL_CHATML, "fallback");
    T_CHECK(strstr(warn, "ChatML") != NULL, "warning '%s'", warn);
    printf("  unknown template -> %s, warning: %s\n", chat_name(t.id), warn);

    /* No text: the architecture hint decides, with a warning. */
    T_CHECK(chat_detect(NULL, "deepseek2 DeepSeek-R1-Distill-Qwen-7B") == CHAT_TMPL_DEEPSEEK_R1_DISTILL, "hint");
    T_CHECK(chat_detect("", "deepseek2 DeepSeek R1") == CHAT_TMPL_DEEPSEEK_R1, "hint r1");
    T_CHECK(chat_detect(NULL, "deepseek2") == CHAT_TMPL_DEEPSEEK_V3, "hint v3");
    T_CHECK(chat_detect(NULL, "llama SmolLM2 135M") == CHAT_TMPL_SMOLLM2, "hint smollm");
    T_CHECK(chat_init(&t, NULL, "qwen3", NULL, NULL, warn, err) == DC_OK && t.id == CHAT_TMPL_QWEN3 &&
                warn[0] != 0,
            "hint init: %s / '%s'", chat_name(t.id), warn);
    /* The text wins over the hint. */
    T_CHECK(chat_detect("<|im_start|>{{x}}<|im_end|>", "deepseek") == CHAT_TMPL_CHATML, "text over hint");
    /* Llama-3.1's dated template is a different format: not claimed. */
    T_CHECK(chat_detect("<|start_header_id|>Cutting Knowledge Date<|eot_id|>", NULL) == CHAT_TMPL_UNKNOWN,
            "llama 3.1 claimed");
    char longbos[CHAT_BOS_MAX + 1];
    memset(longbos, 'b', CHAT_BOS_MAX);
    longbos[CHAT_BOS_MAX] = 0;
    T_CHECK(chat_init(&t, NULL, NULL, "llama3", longbos, NULL, err) == DC_EINVAL, "long bos accepted");
}

static void test_specials_and_reasoning_start(void) {
    struct chat_template t;
    char err[DC_ERR_LEN];
    const struct chat_specials *s = chat_specials(CHAT_TMPL_DEEPSEEK_R1);
    T_CHECK(s && strcmp(s->eot, "<｜end▁of▁sentence｜>") == 0 && strcmp(s->think_close, "</think>") == 0,
            "r1 specials");
    T_CHECK(strcmp(chat_specials(CHAT_TMPL_LLAMA3)->eot, "<|eot_id|>") == 0, "llama3 eot");
    T_CHECK(strcmp(chat_specials(CHAT_TMPL_QWEN3)->eot, "<|im_end|>") == 0, "qwen3 eot");
    T_CHECK(chat_specials(CHAT_TMPL_DEEPSEEK_V3)->think_open == NULL, "v3 has no think block");
    T_CHECK(chat_specials(CHAT_TMPL_COUNT) == NULL && chat_specials(-1) == NULL, "invalid id");
    struct chat_opts on = {1, CHAT_THINK_ON}, off = {1, CHAT_THINK_OFF}, def = {1, CHAT_THINK_DEFAULT},
                     nogen = {0, CHAT_THINK_DEFAULT};
    chat_init(&t, NULL, NULL, "deepseek-r1", NULL, NULL, err);
    T_CHECK(chat_prompt_opens_reasoning(&t, &def) && chat_prompt_opens_reasoning(&t, &on), "r1 opens");
    T_CHECK(!chat_prompt_opens_reasoning(&t, &off) && !chat_prompt_opens_reasoning(&t, &nogen), "r1 closed");
    chat_init(&t, NULL, NULL, "deepseek-r1-legacy", NULL, NULL, err);
    T_CHECK(!chat_prompt_opens_reasoning(&t, &def) && chat_prompt_opens_reasoning(&t, &on), "legacy");
    chat_init(&t, NULL, NULL, "qwen3", NULL, NULL, err);
    T_CHECK(!chat_prompt_opens_reasoning(&t, &on), "qwen3 lets the model open the block");
    chat_init(&t, NULL, NULL, "deepseek-v3", NULL, NULL, err);
    T_CHECK(!chat_prompt_opens_reasoning(&t, &on), "v3");
}

int main(void) {
    T_BEGIN("test_chat");
    T_RUN(test_templates_match_jinja);
    T_RUN(test_render_buffer);
    T_RUN(test_names_and_fallback);
    T_RUN(test_specials_and_reasoning_start);
    if (g_root) json_object_put(g_root);
    return T_END();
}
