/*
 * cmd_tokenize.h - `deepc tokenize`: print the token ids of a text.
 */
#ifndef DC_CMD_TOKENIZE_H
#define DC_CMD_TOKENIZE_H

/* argv[0] is "tokenize"; returns the process exit code (0 ok, 1 error). */
int cmd_tokenize(int argc, char **argv);

#endif
