/*
 * cmd_tokenize.c - `deepc tokenize MODEL_OR_TOKENIZER [--json] [--plain]
 * (-p TEXT | -f FILE)`.
 *
 * MODEL_OR_TOKENIZER is a GGUF file, a tokenizer.json, or a Hugging Face
 * model directory (tokenizer.json + tokenizer_config.json).  Prints the ids
 * on one line separated by spaces (--json: {"ids": [...]}).  No BOS is
 * added.  Added tokens (<｜User｜>, <|im_start|>, <think>) in the text are
 * matched as Hugging Face does, unless --plain makes the text plain text.
 * FILE "-" reads standard input.  Errors go to stderr with exit code 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_tokenize.h"
#include "err.h"
#include "tokenizer.h"

#define TOKENIZE_MAX_INPUT ((size_t)256 << 20) /* bytes read from -f */

static int usage(void) {
    fprintf(stderr, "usage: deepc tokenize MODEL_OR_TOKENIZER [--json] [--plain] (-p TEXT | -f FILE)\n");
    return 1;
}

/* Reads a whole file ("-" = stdin) into a malloc'ed buffer. */
static int read_input(const char *path, char **buf, size_t *len) {
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f) return -1;
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    while (b) {
        if (n == cap) {
            if (cap >= TOKENIZE_MAX_INPUT) {
                free(b);
                b = NULL;
                break;
            }
            char *g = realloc(b, cap * 2);
            if (!g) {
                free(b);
                b = NULL;
                break;
            }
            b = g;
            cap *= 2;
        }
        size_t got = fread(b + n, 1, cap - n, f);
        if (got == 0) break;
        n += got;
    }
    int bad = ferror(f);
    if (f != stdin) fclose(f);
    if (!b || bad) {
        free(b);
        return -1;
    }
    *buf = b;
    *len = n;
    return 0;
}

int cmd_tokenize(int argc, char **argv) {
    const char *model = NULL, *text = NULL, *file = NULL;
    int json = 0, plain = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) json = 1;
        else if (!strcmp(argv[i], "--plain")) plain = 1;
        else if (!strcmp(argv[i], "-p") && i + 1 < argc) text = argv[++i];
        else if (!strcmp(argv[i], "-f") && i + 1 < argc) file = argv[++i];
        else if (argv[i][0] == '-' && argv[i][1]) return usage();
        else if (!model) model = argv[i];
        else return usage();
    }
    if (!model || (!text) == (!file)) return usage();

    char err[DC_ERR_LEN] = "";
    char *buf = NULL;
    size_t len = 0;
    if (file) {
        if (read_input(file, &buf, &len)) {
            fprintf(stderr, "deepc tokenize: cannot read %s\n", file);
            return 1;
        }
    } else {
        len = strlen(text);
    }
    struct tok *t = NULL;
    int32_t *ids = NULL;
    size_t n = 0;
    int rc = tok_load_path(&t, model, err);
    if (rc == DC_OK)
        rc = tok_encode_alloc(t, file ? buf : text, len, plain ? 0 : TOK_PARSE_SPECIAL, &ids, &n, err);
    if (rc != DC_OK) {
        fprintf(stderr, "deepc tokenize: %s\n", err);
        free(buf);
        tok_free(t);
        return 1;
    }
    if (json) fputs("{\"ids\": [", stdout);
    for (size_t i = 0; i < n; i++) printf("%s%d", i ? (json ? ", " : " ") : "", (int)ids[i]);
    fputs(json ? "]}\n" : "\n", stdout);
    free(ids);
    free(buf);
    tok_free(t);
    if (fflush(stdout) != 0) {
        fprintf(stderr, "deepc tokenize: write error\n");
        return 1;
    }
    return 0;
}
