/* dtype.c - type ids, block geometry and names (see dtype.h). */
#include "dtype.h"

#include <strings.h>

struct dtype_info {
    int type;
    const char *name;
    int64_t block_elems;
    int64_t block_bytes;
    int supported; /* deepc computes with it as a weight */
};

/* Block geometry: ggml's ggml-common.h static_asserts, spec/MODEL.md 10.2. */
static const struct dtype_info dtype_infos[] = {
    {DT_F32, "F32", 1, 4, 1},
    {DT_F16, "F16", 1, 2, 1},
    {DT_Q4_0, "Q4_0", 32, 18, 1},
    {DT_Q4_1, "Q4_1", 32, 20, 1},
    {DT_Q5_0, "Q5_0", 32, 22, 0},
    {DT_Q5_1, "Q5_1", 32, 24, 0},
    {DT_Q8_0, "Q8_0", 32, 34, 1},
    {DT_Q8_1, "Q8_1", 32, 36, 0},
    {DT_Q2_K, "Q2_K", 256, 84, 0},
    {DT_Q3_K, "Q3_K", 256, 110, 0},
    {DT_Q4_K, "Q4_K", 256, 144, 1},
    {DT_Q5_K, "Q5_K", 256, 176, 1},
    {DT_Q6_K, "Q6_K", 256, 210, 1},
    {DT_Q8_K, "Q8_K", 256, 292, 0},
    {DT_I8, "I8", 1, 1, 0},
    {DT_I16, "I16", 1, 2, 0},
    {DT_I32, "I32", 1, 4, 0},
    {DT_I64, "I64", 1, 8, 0},
    {DT_F64, "F64", 1, 8, 0},
    {DT_BF16, "BF16", 1, 2, 1},
    {DT_F8_E4M3, "F8_E4M3", 1, 1, 0},
};

static const struct dtype_info *dtype_info_(int type) {
    for (size_t i = 0; i < sizeof(dtype_infos) / sizeof(dtype_infos[0]); i++)
        if (dtype_infos[i].type == type) return &dtype_infos[i];
    return NULL;
}

int64_t dtype_block_elems(int type) {
    const struct dtype_info *d = dtype_info_(type);
    return d ? d->block_elems : 0;
}

int64_t dtype_block_bytes(int type) {
    const struct dtype_info *d = dtype_info_(type);
    return d ? d->block_bytes : 0;
}

const char *dtype_name(int type) {
    const struct dtype_info *d = dtype_info_(type);
    return d ? d->name : "?";
}

int dtype_from_name(const char *name) {
    for (size_t i = 0; i < sizeof(dtype_infos) / sizeof(dtype_infos[0]); i++)
        if (strcasecmp(dtype_infos[i].name, name) == 0) return dtype_infos[i].type;
    return -1;
}

int dtype_is_supported(int type) {
    const struct dtype_info *d = dtype_info_(type);
    return d ? d->supported : 0;
}

int64_t dtype_row_bytes(int type, int64_t n) {
    const struct dtype_info *d = dtype_info_(type);
    if (!d || n < 0 || n % d->block_elems) return -1;
    return n / d->block_elems * d->block_bytes;
}
