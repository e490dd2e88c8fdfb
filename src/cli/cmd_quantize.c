/*
 * cmd_quantize.c - `deepc quantize SRC OUT.gguf --type TYPE` (src/model/quantize.h).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "err.h"
#include "quantize.h"

int cmd_quantize(int argc, char **argv) {
    const char *src = NULL, *dst = NULL, *type_s = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--type") && i + 1 < argc) type_s = argv[++i];
        else if (!src && argv[i][0] != '-') src = argv[i];
        else if (!dst && argv[i][0] != '-') dst = argv[i];
        else {
            fprintf(stderr, "deepc quantize: unexpected argument '%s'\n", argv[i]);
            return 2;
        }
    }
    if (!src || !dst || !type_s) {
        fprintf(stderr, "usage: deepc quantize SRC OUT.gguf --type F32|F16|BF16|Q8_0|Q4_0|Q4_1|Q4_K|Q6_K|Q4_K_M\n");
        return 2;
    }
    char err[DC_ERR_LEN] = "", warn[DC_ERR_LEN] = "";
    int rc = quant_run(src, dst, type_s, isatty(2), warn, err);
    if (warn[0]) fprintf(stderr, "deepc: warning: %s\n", warn);
    if (rc) {
        fprintf(stderr, "deepc: %s\n", err[0] ? err : dc_strerror(rc));
        return 1;
    }
    return 0;
}
