/*
 * kern_membw.h - the machine's memory read bandwidth, measured the way decode
 * reads weights: one long sequential stream per thread.
 *
 * kern_membw_measure allocates a buffer (e.g. 2 GiB, far larger than any
 * cache), touches every page once from the thread that will later read it,
 * then streams through it `passes` times, the threads of the current OpenMP
 * team splitting it into contiguous parts, and reports the fastest pass in
 * GB/s (1e9 bytes per second).  The fastest pass is the one least disturbed
 * by other load on a shared machine.
 *
 * The streaming kernel sums the buffer as uint64 words.  kern_membw_sum_ref is
 * the plain-C spec; gcc -O2 vectorizes it (SSE2, 16-byte loads), which keeps
 * the load units far ahead of DRAM, so no per-ISA variant is needed
 * (docs/PERFORMANCE.md, "Machine and method", has the comparison with
 * AVX2/AVX-512 loops).
 */
#ifndef DC_KERN_MEMBW_H
#define DC_KERN_MEMBW_H

#include <stddef.h>
#include <stdint.h>

/* Sum of p[0..n) modulo 2^64 (wraps).  p is borrowed, any alignment of 8. */
uint64_t kern_membw_sum_ref(const uint64_t *p, size_t n);

struct kern_membw_result {
    double gbs;        /* fastest pass: bytes / seconds / 1e9 */
    double median_gbs; /* median pass */
    double touch_s;    /* seconds to allocate and write the buffer once */
    size_t bytes;      /* buffer size actually streamed (a multiple of 4 KiB) */
    int threads;       /* OpenMP threads that read it */
    int passes;
    uint64_t checksum; /* the kernel's sum, to check it against the pattern written */
};

/* bytes: buffer size (>= 1 MiB, rounded down to 4 KiB); passes: 1..1000.
 * Uses omp_get_max_threads() threads.  Returns 0, DC_EINVAL for bad sizes or
 * DC_ENOMEM when the buffer cannot be allocated. */
int kern_membw_measure(size_t bytes, int passes, struct kern_membw_result *r, char *err);

/* The sum kern_membw_measure's buffer of `bytes` (as rounded) must give. */
uint64_t kern_membw_expected_sum(size_t bytes);

#endif
