// The C reference for `tessera bench gemm`: the same OpenBLAS sgemm, the same sizes,
// the same method (2 warm-up calls, then the median of >= 5 calls and >= 0.5 s).
// Build and run: scripts/compare_sgemm.sh
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 2;
    openblas_set_num_threads(threads);
    printf("size      ms/call   GFLOP/s   (C, threads: %d)\n", threads);
    for (int i = 2; i < argc; i++) {
        int n = atoi(argv[i]);
        float *a = aligned_alloc(64, sizeof(float) * n * n);
        float *b = aligned_alloc(64, sizeof(float) * n * n);
        float *c = aligned_alloc(64, sizeof(float) * n * n);
        srand(n);
        for (long j = 0; j < (long)n * n; j++) {
            a[j] = 2.0f * rand() / RAND_MAX - 1.0f;
            b[j] = 2.0f * rand() / RAND_MAX - 1.0f;
            c[j] = 0.0f;
        }
        for (int w = 0; w < 2; w++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        double samples[10000], total = 0;
        int count = 0;
        while ((count < 5 || total < 0.5) && count < 10000) {
            double start = now();
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
            samples[count] = now() - start;
            total += samples[count++];
        }
        qsort(samples, count, sizeof(double), compare);
        double seconds = samples[count / 2];
        printf("%-8d %9.3f %9.1f\n", n, seconds * 1e3, 2.0 * n * n * n / seconds / 1e9);
        free(a); free(b); free(c);
    }
    return 0;
}
