/*
 * main.c - `deepc COMMAND ...`: dispatches to the cmd_* functions.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cmd_serve.h"
#include "cmd_tokenize.h"

struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help;
};

static const struct command commands[] = {
    {"info", cmd_info, "info MODEL [--json]                 architecture, sizes, tensor types, KV bytes/token"},
    {"logits", cmd_logits, "logits MODEL --ids 1,2,3 --out FILE  float32 logits of every position"},
    {"run", cmd_run, "run MODEL -p PROMPT [-n N] [--temp T] [--seed S] [--json] [--think on|off]\n"
                     "        deepc run MODEL --ids 1,2,3 [-n N]   greedy continuation of token ids"},
    {"chat", cmd_chat, "chat MODEL [--think on|off] [--chat-template NAME]   multi-turn chat in the terminal"},
    {"quantize", cmd_quantize, "quantize SRC OUT.gguf --type F16|BF16|Q8_0|Q4_0|Q4_1|Q4_K|Q6_K|Q4_K_M"},
    {"perplexity", cmd_perplexity, "perplexity MODEL (-f TEXT | --ids 1,2,3) [--ctx 512] [--kl-base REF_MODEL]"},
    {"bench", cmd_bench, "bench MODEL [-p 512] [-n 128] [-t THREADS] [--ctx-depth N] [--membw | --membw-gbs GBS] [--json]\n"
                         "        deepc bench --membw [-t THREADS] [--json]   memory read bandwidth, GB/s"},
    {"tokenize", cmd_tokenize, "tokenize MODEL_OR_TOKENIZER [--json] [--plain] (-p TEXT | -f FILE)"},
    {"serve", cmd_serve, "serve MODEL [--host 127.0.0.1] [--port 8080] [--parallel N] [--api-key KEY] ...  HTTP API"},
};

static void usage(FILE *f) {
    fprintf(f, "usage: deepc COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) fprintf(f, "  deepc %s\n", commands[i].help);
    fprintf(f, "\nMODEL is a GGUF file or a Hugging Face checkpoint directory.\n");
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "deepc: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
