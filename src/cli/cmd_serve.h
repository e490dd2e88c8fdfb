/*
 * cmd_serve.h - `deepc serve`: the DeepSeek / OpenAI compatible HTTP server.
 */
#ifndef DC_CMD_SERVE_H
#define DC_CMD_SERVE_H

/* argv[0] is "serve"; returns the process exit code (0 after a clean
 * SIGTERM/SIGINT drain, 1 on a load or bind error, 2 on bad arguments). */
int cmd_serve(int argc, char **argv);

#endif
