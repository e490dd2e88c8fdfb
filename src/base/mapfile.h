/*
 * mapfile.h - read-only memory mapping of a whole file.
 *
 * Weights are used in place from the mapping and never copied.  The mapping is
 * private and read-only; pages are faulted in as kernels touch them, so the
 * resident size after load is what has been touched.
 */
#ifndef DC_MAPFILE_H
#define DC_MAPFILE_H

#include <stddef.h>
#include <stdint.h>

struct mapfile {
    const uint8_t *data; /* NULL for an empty file */
    size_t size;         /* bytes */
};

/* Maps `path` read-only.  Returns DC_OK or DC_EIO with a message in err.
 * Release with mapfile_close(). */
int mapfile_open(struct mapfile *m, const char *path, char *err);

/* Unmaps; safe on a zeroed struct and idempotent. */
void mapfile_close(struct mapfile *m);

#endif
