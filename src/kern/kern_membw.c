/*
 * kern_membw.c - read bandwidth probe (see kern_membw.h).
 */
#include "kern_membw.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "err.h"
#include "kern.h"

uint64_t kern_membw_sum_ref(const uint64_t *p, size_t n) {
    /* Four independent sums: no single add chain limits the loop, and gcc
     * -O2 turns the body into 16-byte vector loads and adds. */
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += p[i];
        s1 += p[i + 1];
        s2 += p[i + 2];
        s3 += p[i + 3];
    }
    for (; i < n; i++) s0 += p[i];
    return s0 + s1 + s2 + s3;
}

uint64_t kern_membw_expected_sum(size_t bytes) {
    /* word i holds i: sum = n (n - 1) / 2 modulo 2^64; halve the even factor first */
    uint64_t n = (uint64_t)(bytes / 4096 * 4096 / 8);
    return n % 2 == 0 ? (n / 2) * (n - 1) : n * ((n - 1) / 2);
}

static int membw_cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The loops the CPU can run, ref first. */
struct membw_reader {
    const char *name;
    uint64_t (*sum)(const uint64_t *, size_t);
};

int kern_membw_measure(size_t bytes, int passes, struct kern_membw_result *r, char *err) {
    memset(r, 0, sizeof(*r));
    if (bytes < ((size_t)1 << 20) || passes < 1 || passes > 1000)
        return dc_errf(err, DC_EINVAL, "membw: buffer of %zu bytes (min 1 MiB) or %d passes (1..1000)", bytes,
                       passes);
    bytes = bytes / 4096 * 4096;
    const size_t n = bytes / 8;
    struct membw_reader rd[4] = {{"ref", kern_membw_sum_ref}};
    int nr = 1;
    if (kern_cpu_has(KERN_ISA_AVX2)) rd[nr++] = (struct membw_reader){"avx2", kern_membw_sum_avx2};
    if (kern_cpu_has(KERN_ISA_AVX512)) {
        rd[nr++] = (struct membw_reader){"avx512", kern_membw_sum_avx512};
        rd[nr++] = (struct membw_reader){"avx512pf", kern_membw_sum_avx512_pf};
    }
    /* Anonymous pages, 2 MiB-aligned and advised huge, as the packed weights
     * are (log entry 47: in the fast phase 4 KiB pages read ~5-10 % less). */
    const size_t huge = (size_t)2 << 20, mbytes = bytes + huge;
    double t0 = omp_get_wtime();
    uint8_t *map = mmap(NULL, mbytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED) return dc_errf(err, DC_ENOMEM, "membw: cannot map %zu bytes", bytes);
    uint64_t *buf = (uint64_t *)(map + ((huge - (uintptr_t)map % huge) % huge));
    madvise(buf, bytes, MADV_HUGEPAGE); /* advice only: 4 KiB pages if refused */
    double *times = malloc((size_t)passes * (size_t)nr * sizeof(*times));
    if (!times) {
        munmap(map, mbytes);
        return dc_errf(err, DC_ENOMEM, "out of memory");
    }
    /* First touch by the same static split the reads use, so each thread's
     * part is faulted in (and placed) by the thread that reads it.  Distinct
     * values, so no page can be shared or compressed away. */
#pragma omp parallel
    {
        size_t nth = (size_t)omp_get_num_threads(), ith = (size_t)omp_get_thread_num();
        size_t lo = n / 8 * ith / nth * 8, hi = ith + 1 == nth ? n : n / 8 * (ith + 1) / nth * 8;
        for (size_t i = lo; i < hi; i++) buf[i] = i;
    }
    r->touch_s = omp_get_wtime() - t0;
    uint64_t sums[4] = {0};
    int nth_used = 1;
    /* the loops in turn within each round, so a change of phase meets them all */
    for (int p = 0; p < passes; p++)
        for (int k = 0; k < nr; k++) {
            uint64_t s = 0;
            double t1 = omp_get_wtime();
#pragma omp parallel reduction(+ : s)
            {
                size_t nth = (size_t)omp_get_num_threads(), ith = (size_t)omp_get_thread_num();
                size_t lo = n / 8 * ith / nth * 8, hi = ith + 1 == nth ? n : n / 8 * (ith + 1) / nth * 8;
                s += rd[k].sum(buf + lo, hi - lo);
                if (ith == 0) nth_used = (int)nth;
            }
            times[k * passes + p] = omp_get_wtime() - t1;
            sums[k] = s;
        }
    munmap(map, mbytes);
    const uint64_t want = kern_membw_expected_sum(bytes);
    int best = 0;
    for (int k = 0; k < nr; k++) {
        if (sums[k] != want) {
            free(times);
            return dc_errf(err, DC_EFORMAT, "membw: the %s loop summed the buffer wrong", rd[k].name);
        }
        qsort(times + k * passes, (size_t)passes, sizeof(*times), membw_cmp);
        if (times[k * passes] < times[best * passes]) best = k;
    }
    r->gbs = (double)bytes / times[best * passes] / 1e9;
    r->median_gbs = (double)bytes / times[best * passes + passes / 2] / 1e9;
    r->reader = rd[best].name;
    r->bytes = bytes;
    r->threads = nth_used;
    r->passes = passes;
    r->readers = nr;
    r->checksum = sums[0];
    free(times);
    return DC_OK;
}
