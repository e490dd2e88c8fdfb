/*
 * cli.h - the deepc command-line program: one cmd_* entry point per command.
 * Each takes the arguments after the command name (argv[0] is the command)
 * and returns the process exit code.
 */
#ifndef DC_CLI_H
#define DC_CLI_H

#include <stdint.h>

int cmd_info(int argc, char **argv);
int cmd_logits(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_run_ids(int argc, char **argv); /* deepc run MODEL --ids ... */
int cmd_chat(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_perplexity(int argc, char **argv);
int cmd_bench(int argc, char **argv);

/* Parses "1,2,3" into a new array (caller frees); -1 on a malformed list. */
int cli_parse_ids(const char *s, int32_t **ids, int64_t *n);
/* Resident set size of this process in bytes (from /proc/self/statm), 0 if unknown. */
uint64_t cli_rss_bytes(void);

#endif
