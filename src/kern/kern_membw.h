/*
 * kern_membw.h - the machine's memory read bandwidth, measured the way decode
 * reads weights: one long sequential stream per thread.
 *
 * kern_membw_measure allocates a buffer (e.g. 2 GiB, far larger than any
 * cache) on 2 MiB pages where the system gives them (the packed weights' pages),
 * touches every page once from the thread that will later read it, then
 * streams through it `passes` times with each reading loop the CPU can run,
 * in turn, the threads of the current OpenMP team splitting it into
 * contiguous parts, and reports the fastest pass of any loop in GB/s (1e9
 * bytes per second).  The fastest pass is the one least disturbed by other
 * load on a shared machine; the fastest loop is the one closest to what the
 * memory can deliver.
 *
 * The loops sum the buffer as uint64 words.  kern_membw_sum_ref is the
 * plain-C spec (gcc -O2 vectorizes it with 16-byte loads); the AVX2 and
 * AVX-512 loops read 32 and 64 bytes per load, and the AVX-512 loop runs a
 * second time with a software prefetch 2 KB ahead.  On AMD Zen 4, in its fast
 * memory phase the wide loops read ~15-25 % more than the plain one, in the
 * slow phase the AVX2 loop ~5 % more (docs/PERFORMANCE.md, log entry 47); on
 * an Intel Xeon with AMX the prefetching loop read ~5-8 % more than the others
 * (log entry 48).
 */
#ifndef DC_KERN_MEMBW_H
#define DC_KERN_MEMBW_H

#include <stddef.h>
#include <stdint.h>

/* Sum of p[0..n) modulo 2^64 (wraps).  p is borrowed, any alignment of 8.
 * The _avx2 / _avx512 / _avx512_pf variants give the same sum and may only be called when
 * kern_cpu_has() says the CPU runs them. */
uint64_t kern_membw_sum_ref(const uint64_t *p, size_t n);
uint64_t kern_membw_sum_avx2(const uint64_t *p, size_t n);
uint64_t kern_membw_sum_avx512(const uint64_t *p, size_t n);
uint64_t kern_membw_sum_avx512_pf(const uint64_t *p, size_t n);

struct kern_membw_result {
    double gbs;         /* fastest pass of any loop: bytes / seconds / 1e9 */
    double median_gbs;  /* median pass of the loop that made the fastest one */
    const char *reader; /* that loop: "ref", "avx2", "avx512" or "avx512pf" (static) */
    double touch_s;     /* seconds to allocate and write the buffer once */
    size_t bytes;       /* buffer size actually streamed (a multiple of 4 KiB) */
    int threads;        /* OpenMP threads that read it */
    int passes;         /* per loop */
    int readers;        /* loops run */
    uint64_t checksum;  /* the ref loop's sum (every loop's is checked against the pattern written) */
};

/* bytes: buffer size (>= 1 MiB, rounded down to 4 KiB); passes per loop: 1..1000.
 * Uses omp_get_max_threads() threads.  Returns 0, DC_EINVAL for bad sizes,
 * DC_ENOMEM when the buffer cannot be allocated, or DC_EFORMAT when a loop's
 * sum is not the pattern's (a broken variant). */
int kern_membw_measure(size_t bytes, int passes, struct kern_membw_result *r, char *err);

/* The sum kern_membw_measure's buffer of `bytes` (as rounded) must give. */
uint64_t kern_membw_expected_sum(size_t bytes);

#endif
