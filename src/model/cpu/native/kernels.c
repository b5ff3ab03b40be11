/*
 * The engine's native CPU kernels (an optional Node-API addon, built at install by
 * `scripts/build-kernels.ts` with the host's compiler for the host's CPU). They compute exactly
 * what the WebAssembly kernels compute, on the same heap (the engine's shared WebAssembly memory:
 * every operand is a byte offset into it, bounds-checked here), with the vector width and integer
 * dot products the CPU has (AVX2 + FMA: 8-wide f32 FMAs, 32-byte int8 dot products; any other CPU:
 * portable C the compiler vectorises).
 *
 *   gemm     C[m×n] (+)= alpha·op(A)·op(B), f32, rows [r0, r1) and columns [c0, c1) of C:
 *            nn A[m×k]·B[k×n]; nt A[m×k]·B[n×k]ᵀ; tn A[k×m]ᵀ·B[k×n]. Packed panels of A
 *            (MR rows) and B (NR columns) in cache blocks (MC × KC, KC × NC), a 6×16 register
 *            tile (12 accumulators of 8). An nt product of a few rows (decode: DECODE_MAX_ROWS_F32)
 *            streams W's rows where they lie instead (nothing to amortise packing over): up to 7
 *            rows as dot products, 8…32 rows as Cᵀ = W·Aᵀ, six rows of W broadcast against Aᵀ packed
 *            in 16-column panels (decode_f32_wide).
 *            Where the machine has OpenBLAS (Debian's libopenblas0-pthread), the other products go to
 *            its cblas_sgemm, one thread per call (OPENLEDGER_BLAS=off: never).
 *   decodeQ  C (+)= alpha·A·Wᵀ, W [n, k] in Q8_0 or Q4_0 blocks (ggml layout), A rows rounded to
 *            8-bit blocks of 32 (d = max|x|/127, q = round-half-even(x·127/max), as llama.cpp
 *            and the WebAssembly kernels do), each weight block an exact integer dot product:
 *            one row against W's rows in pairs (qdot), 2–16 rows against eight of W's rows side by
 *            side, each block transposed (qrows_x8).
 *   loraPrefetch  a hint: the factors a coming loraRows reads, pulled into cache by the wide f32
 *            decode kernel while it computes the projection's base product.
 *   loraRows y[i] += scale_i·Bᵀᵀ_i·(A_i·x[i]), A_i [r, in], Bᵀ_i [r, out]: a batch's rows in one
 *            call, each with its adapter or none, the factors in half precision (served adapters:
 *            half the bytes a step reads).
 *   gated    the gated MLP's activation act(gate)·up and its backward, act(x) = x·sigmoid(k·(x + c·x³))
 *            (SiLU, tanh-GELU), e^x by a polynomial accurate to f32's rounding.
 *   attention causal (optionally sliding-window) grouped-query flash attention and its backward:
 *            flash-attention.ts's tiles, products (through the same gemm paths) and order, with
 *            the softmax rows 8 wide; never S×S. pagedAttention: decode's rows against the paged
 *            KV cache, keys and values read where the block tables put them (every block checked first).
 *
 * Shapes are written beside the loops; "f32x8" is one AVX2 register of 8 floats.
 */
#include <node_api.h>
#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>
#define OL_AVX2 1
#else
#define OL_AVX2 0
#endif

#define MR 6
#define NR 16
#define KC 256
#define MC 144
#define NC 2048
/* An nt product of at most this many rows of A takes the streaming decode path (the engine's
 * F32_DECODE_MAX_ROWS). Up to DECODE_MAX_ROWS_F32_DOT rows it is dot products; beyond, with AVX2,
 * decode_f32_wide, which beats OpenBLAS's sgemm there (one thread, GFLOP/s, OpenBLAS → wide:
 * m = 16 on 1536×576 39 → 51, on Qwen2.5-0.5B's 4864×896 from memory 21 → 35, m = 32 32 → 42,
 * m = 8 15 → 19). Without AVX2, dot products run to DECODE_MAX_ROWS_F32_BLAS rows where OpenBLAS
 * is there (from 8 rows on its sgemm was faster than the dot products: m = 16 24.1 vs 39.5). */
#define DECODE_MAX_ROWS_F32 32
#define DECODE_MAX_ROWS_F32_BLAS 7
#define DECODE_MAX_ROWS_F32_DOT 7
#define QBLOCK 32
/* The 8-bit decode kernels prefetch the rows of W this many tiles ahead: a quantised row of a small
 * model is only a few cache lines, too short for the hardware prefetcher to ramp up (Q8_0 decode of
 * SmolLM2's shapes from memory: 3.5 GB/s without, 2.3× faster with; f32 rows, 2.3 KB, gain nothing). */
#ifndef PREFETCH_TILES
#define PREFETCH_TILES 2
#endif

static inline int imin(int a, int b) { return a < b ? a : b; }

/* ---------- LoRA factors pulled into cache while the base product computes (loraPrefetch) ---------- */

/* The byte ranges of the factors the coming loraRows will read. The wide f32 decode kernel touches them
 * one cache line at a time between its steps: the base product is bound by arithmetic and the factors'
 * reads by memory, so the reads overlap the arithmetic instead of following it (16 sequences over 16
 * adapters: a step reads every adapter's factors, 157 MB on SmolLM2's shapes). A hint only: no result
 * depends on it, and a prefetch never faults, whatever the address. */
#define AHEAD_SPANS 64
typedef struct {
  const char *from[AHEAD_SPANS], *to[AHEAD_SPANS];
  int count, next;        /* spans, and the next one to start */
  const char *line, *end; /* the current span's next line and its end */
} Ahead;

/* the plan's lines not yet prefetched */
static long ahead_lines(const Ahead *a) {
  long lines = a->line < a->end ? (a->end - a->line + 63) / 64 : 0;
  for (int i = a->next; i < a->count; i++) lines += (a->to[i] - a->from[i] + 63) / 64;
  return lines;
}

/* how many steps of a kernel with `steps` in all go between two touches, so that the plan's lines
 * spread over the whole kernel: at least one every 16 steps, at most one every 6 (a step: 12 FMAs of
 * the wide f32 kernel). Faster, the touches slowed the base product as much as they saved (SmolLM2's
 * shapes, 16 sequences over 16 adapters, one thread: a line every 2 steps took loraRows 18.5 → 9.6 ms
 * a step but the products 78.0 → 85.7; every 6: loraRows 24.1 → 11.3, products 97.6 → 94.4, on a
 * slower stretch of the machine; unused without AVX2, which has no wide kernel) */
static __attribute__((unused)) int ahead_every(const Ahead *a, double steps) {
  const long lines = ahead_lines(a);
  const double every = lines > 0 ? steps / lines : 16;
  return every < 6 ? 6 : every > 16 ? 16 : (int)every;
}

/* no plan: nothing left to prefetch */
static void ahead_clear(Ahead *a) {
  a->count = a->next = 0;
  a->line = a->end = NULL;
}

/* prefetches the plan's next cache line, if any is left */
static inline void ahead_touch(Ahead *a) {
  if (a->line >= a->end) {
    if (a->next >= a->count) return;
    a->line = a->from[a->next], a->end = a->to[a->next++];
  }
  __builtin_prefetch(a->line, 0, 3);
  a->line += 64;
}

/* ---------- per-thread scratch: packed panels, rounded activations ---------- */

typedef struct {
  float *apack;   /* MC × KC, MR-row panels */
  float *bpack;   /* KC × NC, NR-column panels */
  int8_t *qa;     /* rounded activations */
  float *da;      /* their block scales */
  float *sa;      /* their block sums Σq (Q4_0's offset of 8) */
  size_t qcap;    /* elements qa holds */
  float *at;      /* Aᵀ in 16-column panels (decode_f32_wide) */
  size_t atcap;   /* floats `at` holds */
  Ahead ahead;    /* the factors a coming loraRows reads (loraPrefetch) */
} Scratch;

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void scratch_free(void *p) {
  Scratch *s = p;
  free(s->apack);
  free(s->bpack);
  free(s->qa);
  free(s->da);
  free(s->sa);
  free(s->at);
  free(s);
}

/* No destructor on the key: a thread-exit destructor would run after Node has unloaded the addon
 * from a worker that is going away (its code unmapped: a crash). Each thread's scratch is freed by
 * its environment's cleanup hook instead (scratch_release, registered at load on that thread). */
static void scratch_key_create(void) { pthread_key_create(&scratch_key, NULL); }

/* this thread's scratch if it has made one, else NULL (nothing allocated) */
static Scratch *scratch_if_any(void) {
  pthread_once(&scratch_once, scratch_key_create);
  return pthread_getspecific(scratch_key);
}

/* frees this thread's scratch, if it has one: the cleanup hook of the Node environment (main thread
 * or worker) that loaded the addon, run on that thread when the environment is torn down */
static void scratch_release(void *unused) {
  (void)unused;
  Scratch *s = scratch_if_any();
  if (!s) return;
  pthread_setspecific(scratch_key, NULL);
  scratch_free(s);
}

static Scratch *scratch(void) {
  Scratch *s = scratch_if_any();
  if (s) return s;
  s = calloc(1, sizeof *s);
  if (!s) return NULL;
  s->apack = aligned_alloc(64, sizeof(float) * MC * KC);
  s->bpack = aligned_alloc(64, sizeof(float) * NC * KC);
  if (!s->apack || !s->bpack) { scratch_free(s); return NULL; }
  pthread_setspecific(scratch_key, s);
  return s;
}

/* room for `floats` of transposed A */
static __attribute__((unused)) int scratch_at(Scratch *s, size_t floats) {
  if (s->atcap >= floats) return 1;
  free(s->at);
  s->at = aligned_alloc(64, (floats * sizeof(float) + 63) / 64 * 64);
  s->atcap = s->at ? floats : 0;
  return s->atcap != 0;
}

static int scratch_quant(Scratch *s, size_t elements) {
  if (s->qcap >= elements) return 1;
  free(s->qa);
  free(s->da);
  free(s->sa);
  s->qa = aligned_alloc(64, (elements + 63) / 64 * 64);
  s->da = malloc(sizeof(float) * (elements / QBLOCK + 1));
  s->sa = malloc(sizeof(float) * (elements / QBLOCK + 1));
  s->qcap = s->qa && s->da && s->sa ? elements : 0;
  return s->qcap != 0;
}

/* ---------- f32 GEMM ---------- */

/* A(i, p) = A[i·esA + p·psA]; packs rows [0, mc) × steps [0, kc) into MR-row panels: dst[panel][p][MR]. */
static void pack_a(float *restrict dst, const float *restrict A, long esA, long psA, int mc, int kc) {
  for (int i0 = 0; i0 < mc; i0 += MR, dst += MR * kc) {
    int rows = imin(MR, mc - i0);
    const float *a = A + i0 * esA;
    if (psA == 1) {
      for (int i = 0; i < rows; i++)
        for (int p = 0; p < kc; p++) dst[p * MR + i] = a[i * esA + p];
    } else {
      for (int p = 0; p < kc; p++)
        for (int i = 0; i < rows; i++) dst[p * MR + i] = a[i * esA + p * psA];
    }
    for (int i = rows; i < MR; i++)
      for (int p = 0; p < kc; p++) dst[p * MR + i] = 0;
  }
}

/* B(p, j) = B[p·psB + j·esB]; packs steps [0, kc) × columns [0, nc) into NR-column panels: dst[panel][p][NR]. */
static void pack_b(float *restrict dst, const float *restrict B, long esB, long psB, int kc, int nc) {
  for (int j0 = 0; j0 < nc; j0 += NR, dst += NR * kc) {
    int cols = imin(NR, nc - j0);
    const float *b = B + j0 * esB;
    if (esB == 1) {
      for (int p = 0; p < kc; p++) {
        memcpy(dst + p * NR, b + p * psB, sizeof(float) * cols);
        for (int j = cols; j < NR; j++) dst[p * NR + j] = 0;
      }
    } else {
      for (int j = 0; j < cols; j++)
        for (int p = 0; p < kc; p++) dst[p * NR + j] = b[j * esB + p * psB];
      for (int j = cols; j < NR; j++)
        for (int p = 0; p < kc; p++) dst[p * NR + j] = 0;
    }
  }
}

/* C[mr×nr] at C (row stride ldc) = alpha·Ap·Bp (+ C when beta): Ap [kc][MR], Bp [kc][NR]. */
static void micro_tile(int kc, const float *restrict Ap, const float *restrict Bp, float *restrict C, long ldc,
                       float alpha, int beta, int mr, int nr) {
#if OL_AVX2
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
#pragma GCC unroll 4
  for (int p = 0; p < kc; p++, Ap += MR, Bp += NR) {
    __m256 b0 = _mm256_load_ps(Bp), b1 = _mm256_load_ps(Bp + 8), a;
    a = _mm256_broadcast_ss(Ap + 0); c00 = _mm256_fmadd_ps(a, b0, c00); c01 = _mm256_fmadd_ps(a, b1, c01);
    a = _mm256_broadcast_ss(Ap + 1); c10 = _mm256_fmadd_ps(a, b0, c10); c11 = _mm256_fmadd_ps(a, b1, c11);
    a = _mm256_broadcast_ss(Ap + 2); c20 = _mm256_fmadd_ps(a, b0, c20); c21 = _mm256_fmadd_ps(a, b1, c21);
    a = _mm256_broadcast_ss(Ap + 3); c30 = _mm256_fmadd_ps(a, b0, c30); c31 = _mm256_fmadd_ps(a, b1, c31);
    a = _mm256_broadcast_ss(Ap + 4); c40 = _mm256_fmadd_ps(a, b0, c40); c41 = _mm256_fmadd_ps(a, b1, c41);
    a = _mm256_broadcast_ss(Ap + 5); c50 = _mm256_fmadd_ps(a, b0, c50); c51 = _mm256_fmadd_ps(a, b1, c51);
  }
  __m256 acc[MR][2] = { { c00, c01 }, { c10, c11 }, { c20, c21 }, { c30, c31 }, { c40, c41 }, { c50, c51 } };
  __m256 va = _mm256_set1_ps(alpha);
  if (mr == MR && nr == NR) {
    for (int i = 0; i < MR; i++) {
      float *c = C + i * ldc;
      for (int h = 0; h < 2; h++) {
        __m256 v = beta ? _mm256_fmadd_ps(va, acc[i][h], _mm256_loadu_ps(c + 8 * h)) : _mm256_mul_ps(va, acc[i][h]);
        _mm256_storeu_ps(c + 8 * h, v);
      }
    }
    return;
  }
  float tile[MR * NR] __attribute__((aligned(32)));
  for (int i = 0; i < MR; i++) { _mm256_store_ps(tile + i * NR, acc[i][0]); _mm256_store_ps(tile + i * NR + 8, acc[i][1]); }
#else
  float tile[MR * NR] = { 0 };
  for (int p = 0; p < kc; p++, Ap += MR, Bp += NR)
    for (int i = 0; i < MR; i++)
      for (int j = 0; j < NR; j++) tile[i * NR + j] += Ap[i] * Bp[j];
#endif
  for (int i = 0; i < mr; i++)
    for (int j = 0; j < nr; j++) {
      float v = alpha * tile[i * NR + j];
      C[i * ldc + j] = beta ? v + C[i * ldc + j] : v;
    }
}

/* rows [r0, r1), columns [c0, c1) of C += products of the blocked panels (see the file comment). */
static void gemm_packed(Scratch *s, float *C, const float *A, const float *B, int m, int k, int n, int layout,
                        int accumulate, float alpha, int r0, int r1, int c0, int c1) {
  /* element strides: A's row i / step p; B's column j / step p */
  long esA = layout == 2 ? 1 : k, psA = layout == 2 ? m : 1;
  long esB = layout == 1 ? k : 1, psB = layout == 1 ? 1 : n;
  for (int jc = c0; jc < c1; jc += NC) {
    int nc = imin(NC, c1 - jc);
    for (int pc = 0; pc < k; pc += KC) {
      int kc = imin(KC, k - pc);
      int beta = accumulate || pc > 0;
      pack_b(s->bpack, B + pc * psB + jc * esB, esB, psB, kc, nc);         /* [nc/NR][kc][NR] */
      for (int ic = r0; ic < r1; ic += MC) {
        int mc = imin(MC, r1 - ic);
        pack_a(s->apack, A + ic * esA + pc * psA, esA, psA, mc, kc);       /* [mc/MR][kc][MR] */
        for (int jr = 0; jr < nc; jr += NR)
          for (int ir = 0; ir < mc; ir += MR)
            micro_tile(kc, s->apack + ir * kc, s->bpack + jr * kc, C + (long)(ic + ir) * n + jc + jr, n, alpha, beta,
                       imin(MR, mc - ir), imin(NR, nc - jr));
      }
    }
  }
}

/* ---------- f32 decode: C[i][j] (+)= alpha·Σ_p A[i][p]·W[j][p], W's rows read where they lie ---------- */

#if OL_AVX2
static inline float hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
#endif

static inline void store_out(float *c, float sum, float alpha, int beta) { *c = beta ? alpha * sum + *c : alpha * sum; }

/* A tile of MA rows of A (stride lda) × MW rows of W (stride ldw), k steps; C's rows stride ldc. */
#define DEFINE_DOT_TILE(MA, MW)                                                                               \
  static void dot_tile_##MA##x##MW(const float *restrict A, long lda, const float *restrict W, long ldw, int k,  \
                                   float *C, long ldc, float alpha, int beta) {                               \
    float sums[MA][MW];                                                                                      \
    int p = 0;                                                                                               \
    DOT_TILE_VECTOR(MA, MW)                                                                                  \
    for (int i = 0; i < MA; i++)                                                                             \
      for (int j = 0; j < MW; j++) {                                                                         \
        float s = sums[i][j];                                                                                \
        for (int q = p; q < k; q++) s += A[i * lda + q] * W[j * ldw + q];                                    \
        store_out(C + i * ldc + j, s, alpha, beta);                                                          \
      }                                                                                                      \
  }
#if OL_AVX2
#define DOT_TILE_VECTOR(MA, MW)                                                                               \
  __m256 acc[MA][MW];                                                                                        \
  for (int i = 0; i < MA; i++)                                                                               \
    for (int j = 0; j < MW; j++) acc[i][j] = _mm256_setzero_ps();                                            \
  for (; p + 8 <= k; p += 8) {                                                                               \
    __m256 a[MA];                                                                                            \
    for (int i = 0; i < MA; i++) a[i] = _mm256_loadu_ps(A + i * lda + p);                                    \
    for (int j = 0; j < MW; j++) {                                                                           \
      __m256 w = _mm256_loadu_ps(W + j * ldw + p);                                                           \
      for (int i = 0; i < MA; i++) acc[i][j] = _mm256_fmadd_ps(a[i], w, acc[i][j]);                          \
    }                                                                                                        \
  }                                                                                                          \
  for (int i = 0; i < MA; i++)                                                                               \
    for (int j = 0; j < MW; j++) sums[i][j] = hsum8(acc[i][j]);
#else
#define DOT_TILE_VECTOR(MA, MW)                                                                               \
  for (int i = 0; i < MA; i++)                                                                               \
    for (int j = 0; j < MW; j++) sums[i][j] = 0;
#endif
DEFINE_DOT_TILE(1, 8)
DEFINE_DOT_TILE(1, 4)
DEFINE_DOT_TILE(1, 1)
DEFINE_DOT_TILE(3, 4)
DEFINE_DOT_TILE(3, 1)
DEFINE_DOT_TILE(2, 4)
DEFINE_DOT_TILE(2, 1)

static void decode_f32(float *C, const float *A, const float *W, int k, int n, int r0, int r1, int c0, int c1,
                       float alpha, int beta) {
  long lda = k, ldw = k, ldc = n;
  int j = c0;
  if (r1 - r0 == 1) {
    const float *a = A + (long)r0 * lda;
    float *c = C + (long)r0 * ldc;
    for (; j + 8 <= c1; j += 8) dot_tile_1x8(a, lda, W + j * ldw, ldw, k, c + j, ldc, alpha, beta);
    for (; j + 4 <= c1; j += 4) dot_tile_1x4(a, lda, W + j * ldw, ldw, k, c + j, ldc, alpha, beta);
    for (; j < c1; j++) dot_tile_1x1(a, lda, W + j * ldw, ldw, k, c + j, ldc, alpha, beta);
    return;
  }
  /* W's rows four at a time (they stay in L1 while every row of A meets them) */
  for (; j < c1; j += 4) {
    int mw = imin(4, c1 - j);
    const float *w = W + j * ldw;
    int i = r0;
    for (; i + 3 <= r1; i += 3) {
      const float *a = A + (long)i * lda;
      float *c = C + (long)i * ldc + j;
      if (mw == 4) dot_tile_3x4(a, lda, w, ldw, k, c, ldc, alpha, beta);
      else for (int t = 0; t < mw; t++) dot_tile_3x1(a, lda, w + t * ldw, ldw, k, c + t, ldc, alpha, beta);
    }
    for (; i < r1; i += 2) {
      const float *a = A + (long)i * lda;
      float *c = C + (long)i * ldc + j;
      if (i + 2 <= r1) {
        if (mw == 4) dot_tile_2x4(a, lda, w, ldw, k, c, ldc, alpha, beta);
        else for (int t = 0; t < mw; t++) dot_tile_2x1(a, lda, w + t * ldw, ldw, k, c + t, ldc, alpha, beta);
      } else {
        if (mw == 4) dot_tile_1x4(a, lda, w, ldw, k, c, ldc, alpha, beta);
        else for (int t = 0; t < mw; t++) dot_tile_1x1(a, lda, w + t * ldw, ldw, k, c + t, ldc, alpha, beta);
      }
    }
  }
}

#if OL_AVX2
/* ---------- f32 products of a few rows (8…32): Cᵀ = W·Aᵀ, W's rows read where they lie ---------- */

/* A's rows [r0, r1) transposed into panels of 16 columns: panel t holds Aᵀ[p][16t…16t+16) for every p
 * (k × 16 floats, 64 bytes a step), rows past r1 zero */
static void pack_at(float *restrict dst, const float *restrict A, int k, int r0, int r1) {
  for (int t = 0; r0 + 16 * t < r1; t++) {
    float *panel = dst + (long)t * 16 * k;
    const int rows = imin(16, r1 - r0 - 16 * t);
    for (int p = 0; p < k; p++) {
      for (int i = 0; i < rows; i++) panel[(long)p * 16 + i] = A[(long)(r0 + 16 * t + i) * k + p];
      for (int i = rows; i < 16; i++) panel[(long)p * 16 + i] = 0;
    }
  }
}

/* MW rows of W (stride k) × one 16-column panel of Aᵀ: acc[r] = the 16 sums of W row r, two f32x8 each */
#define WIDE_ROW(R)                                                                                            \
  {                                                                                                            \
    const __m256 w = _mm256_broadcast_ss(W + (R) * ldw + p);                                                   \
    lo##R = _mm256_fmadd_ps(w, b0, lo##R);                                                                     \
    hi##R = _mm256_fmadd_ps(w, b1, hi##R);                                                                     \
  }
static inline __attribute__((always_inline)) void wide_tile(const float *restrict W, long ldw, const float *restrict At, int k,
                                                            int mw, Ahead *ah, int every, float out[6][16]) {
  __m256 lo0 = _mm256_setzero_ps(), hi0 = lo0, lo1 = lo0, hi1 = lo0, lo2 = lo0, hi2 = lo0;
  __m256 lo3 = lo0, hi3 = lo0, lo4 = lo0, hi4 = lo0, lo5 = lo0, hi5 = lo0;
  if (mw == 6) {
    for (int p0 = 0; p0 < k; p0 += every) {
      ahead_touch(ah); /* a line of the coming LoRA factors every `every` steps (12 FMAs each) */
      for (int p = p0, pe = imin(p0 + every, k); p < pe; p++) {
        const __m256 b0 = _mm256_load_ps(At + (long)p * 16), b1 = _mm256_load_ps(At + (long)p * 16 + 8);
        WIDE_ROW(0) WIDE_ROW(1) WIDE_ROW(2) WIDE_ROW(3) WIDE_ROW(4) WIDE_ROW(5)
      }
    }
  } else {
    for (int p = 0; p < k; p++) {
      const __m256 b0 = _mm256_load_ps(At + (long)p * 16), b1 = _mm256_load_ps(At + (long)p * 16 + 8);
      WIDE_ROW(0)
      if (mw > 1) WIDE_ROW(1)
      if (mw > 2) WIDE_ROW(2)
      if (mw > 3) WIDE_ROW(3)
      if (mw > 4) WIDE_ROW(4)
    }
  }
  _mm256_storeu_ps(out[0], lo0), _mm256_storeu_ps(out[0] + 8, hi0);
  _mm256_storeu_ps(out[1], lo1), _mm256_storeu_ps(out[1] + 8, hi1);
  _mm256_storeu_ps(out[2], lo2), _mm256_storeu_ps(out[2] + 8, hi2);
  _mm256_storeu_ps(out[3], lo3), _mm256_storeu_ps(out[3] + 8, hi3);
  _mm256_storeu_ps(out[4], lo4), _mm256_storeu_ps(out[4] + 8, hi4);
  _mm256_storeu_ps(out[5], lo5), _mm256_storeu_ps(out[5] + 8, hi5);
}
#undef WIDE_ROW

/* rows [r0, r1) (at most 32), columns [c0, c1) of C (+)= alpha·A·Wᵀ: every element the sum over p in
 * order, whatever the range (the pool's same-bits property); `at` holds ceil(rows/16)·16·k floats */
static void decode_f32_wide(float *at, Ahead *ah, float *C, const float *A, const float *W, int k, int n, int r0, int r1, int c0, int c1,
                            float alpha, int beta) {
  pack_at(at, A, k, r0, r1);
  const int every = ahead_every(ah, (double)(c1 - c0) / 6 * ((r1 - r0 + 15) / 16) * k);
  float out[6][16];
  for (int j = c0; j < c1; j += 6) {
    const int mw = imin(6, c1 - j);
    for (int t = 0; r0 + 16 * t < r1; t++) {
      wide_tile(W + (long)j * k, k, at + (long)t * 16 * k, k, mw, ah, every, out);
      const int rows = imin(16, r1 - r0 - 16 * t);
      for (int i = 0; i < rows; i++)
        for (int u = 0; u < mw; u++) store_out(C + (long)(r0 + 16 * t + i) * n + j + u, out[u][i], alpha, beta);
    }
  }
}
#endif

/* ---------- 8-bit decode against Q8_0 / Q4_0 weights ---------- */

enum { Q8_0 = 1, Q4_0 = 2 };
static const int QBYTES[3] = { 0, 34, 18 }; /* a block of 32: f16 scale + 32 int8 / 16 bytes of nibbles */

static inline float f16_to_f32(uint16_t h) {
#if OL_AVX2
  return _cvtsh_ss(h);
#else
  uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
  if (exp == 0) {
    if (man == 0) bits = sign;
    else { /* subnormal */
      float f = ldexpf((float)man, -24);
      return sign ? -f : f;
    }
  } else if (exp == 31) bits = sign | 0x7f800000 | (man << 13);
  else bits = sign | ((exp + 112) << 23) | (man << 13);
  float f;
  memcpy(&f, &bits, 4);
  return f;
#endif
}

/* rows × k f32 (row stride lda) → int8 q [rows][k], scales d [rows][k/32] and sums Σq [rows][k/32]:
 * d = max|x|/127, q = rne(x·127/max) */
static void quantize_rows(const float *A, long lda, int rows, int k, int8_t *q, float *d, float *sums) {
#if OL_AVX2
  const __m256 absMask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  for (int i = 0; i < rows; i++)
    for (int b = 0; b < k / QBLOCK; b++) {
      const float *xb = A + i * lda + b * QBLOCK;
      __m256 x[4], m = _mm256_setzero_ps();
      for (int t = 0; t < 4; t++) {
        x[t] = _mm256_loadu_ps(xb + 8 * t);
        m = _mm256_max_ps(m, _mm256_and_ps(x[t], absMask));
      }
      __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
      h = _mm_max_ps(h, _mm_movehl_ps(h, h));
      h = _mm_max_ss(h, _mm_movehdup_ps(h));
      float amax = _mm_cvtss_f32(h);
      __m256 id = _mm256_set1_ps(amax > 0 ? 127.0f / amax : 0.0f);
      d[(long)i * (k / QBLOCK) + b] = amax / 127.0f;
      __m256i v[4];
      for (int t = 0; t < 4; t++) /* round half to even, then clamp to ±127 (x·127/max can round past 127 by an ulp) */
        v[t] = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(x[t], id), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
      __m256i p01 = _mm256_packs_epi32(v[0], v[1]), p23 = _mm256_packs_epi32(v[2], v[3]);
      __m256i bytes = _mm256_packs_epi16(p01, p23); /* lanes interleaved: 0 4 1 5 2 6 3 7 (groups of 4) */
      bytes = _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
      bytes = _mm256_max_epi8(bytes, _mm256_set1_epi8(-127));
      bytes = _mm256_min_epi8(bytes, _mm256_set1_epi8(127));
      _mm256_storeu_si256((__m256i *)(q + (long)i * k + b * QBLOCK), bytes);
      __m256i pairs = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), bytes), _mm256_set1_epi16(1));
      __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(pairs), _mm256_extracti128_si256(pairs, 1));
      s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4e));
      s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xb1));
      sums[(long)i * (k / QBLOCK) + b] = (float)_mm_cvtsi128_si32(s4);
    }
  return;
#endif
  for (int i = 0; i < rows; i++) {
    const float *x = A + i * lda;
    for (int b = 0; b < k / QBLOCK; b++) {
      const float *xb = x + b * QBLOCK;
      float amax = 0;
      for (int p = 0; p < QBLOCK; p++) amax = fmaxf(amax, fabsf(xb[p]));
      float id = amax > 0 ? 127.0f / amax : 0.0f;
      d[(long)i * (k / QBLOCK) + b] = amax / 127.0f;
      int8_t *qb = q + (long)i * k + b * QBLOCK;
      int total = 0;
      for (int p = 0; p < QBLOCK; p++) {
        float v = nearbyintf(xb[p] * id); /* round half to even in the default rounding mode */
        qb[p] = (int8_t)(v > 127 ? 127 : v < -127 ? -127 : v);
        total += qb[p];
      }
      sums[(long)i * (k / QBLOCK) + b] = (float)total;
    }
  }
}

#if OL_AVX2

/* Q8_0: the 32 signed weights; Q4_0: the 32 nibbles unsigned, 0…15 (the weight + 8): elements 0…15
 * the low nibbles, 16…31 the high ones */
static inline __m256i load_weights(const uint8_t *block, int type) {
  if (type == Q8_0) return _mm256_loadu_si256((const __m256i *)(block + 2));
  __m128i packed = _mm_loadu_si128((const __m128i *)(block + 2));
  __m128i lo = _mm_and_si128(packed, _mm_set1_epi8(0x0f)), hi = _mm_and_si128(_mm_srli_epi16(packed, 4), _mm_set1_epi8(0x0f));
  return _mm256_set_m128i(hi, lo);
}
#endif

static inline int weight_value(const uint8_t *block, int type, int p) {
  if (type == Q8_0) return (int8_t)block[2 + p];
  uint8_t byte = block[2 + (p & 15)];
  return (p < 16 ? byte & 0x0f : byte >> 4) - 8;
}

/* MA rows of rounded A (q [MA][ldq], d [MA][ldd]) against MW rows of W (rowBytes apart, nb blocks each):
 * sums[i][j] = Σ_b dw_jb·d_ib·(w_jb·q_ib), the integer dot exact, one f32 FMA per block */
#define DEFINE_QDOT(MA, MW)                                                                                    \
  static inline __attribute__((always_inline)) void qdot_##MA##x##MW(const int8_t *q, const float *d,          \
      const float *sa, long ldq, long ldd, const uint8_t *w, long rowBytes, int nb, const int type,            \
      float sums[MA][MW]) {                                                                                     \
    QDOT_BODY(MA, MW)                                                                                           \
  }
#if OL_AVX2
/* per block and row pair (i, j): Q8_0 |w|·(a·sign w) in int16 pairs (128·127·2 < 2^15), Q4_0 (w + 8)·a
 * (15·127·2), both summed to 8 int32 lanes; Q4_0 takes Σq off every lane (8·Σq in all: the offset);
 * then one FMA with the block's scale dw·da */
#define QDOT_BODY(MA, MW)                                                                                      \
  __m256 acc[MA][MW];                                                                                          \
  for (int i = 0; i < MA; i++)                                                                                 \
    for (int j = 0; j < MW; j++) acc[i][j] = _mm256_setzero_ps();                                              \
  const int bytes = QBYTES[type];                                                                              \
  const __m256i ones = _mm256_set1_epi16(1);                                                                   \
  /* the next tiles' rows, prefetched as fast as this tile's are read (a row is only a few lines: too short \
   * for the hardware prefetcher to ramp up before it ends) */                                                 \
  const char *ahead = (const char *)w + PREFETCH_TILES * MW * rowBytes;                                        \
  const long aheadStep = (MW * rowBytes + nb - 1) / nb;                                                        \
  for (int b = 0; b < nb; b++) {                                                                               \
    for (long t = 0; t < aheadStep; t += 64) _mm_prefetch(ahead + b * aheadStep + t, _MM_HINT_T0);            \
    __m256i wv[MW], wabs[MW];                                                                                  \
    __m256 dw[MW];                                                                                             \
    for (int j = 0; j < MW; j++) {                                                                             \
      const uint8_t *blk = w + j * rowBytes + (long)b * bytes;                                                 \
      wv[j] = load_weights(blk, type);                                                                         \
      wabs[j] = type == Q8_0 ? _mm256_sign_epi8(wv[j], wv[j]) : wv[j];                                         \
      dw[j] = _mm256_set1_ps(f16_to_f32((uint16_t)(blk[0] | blk[1] << 8)));                                    \
    }                                                                                                          \
    for (int i = 0; i < MA; i++) {                                                                             \
      __m256i av = _mm256_loadu_si256((const __m256i *)(q + i * ldq + b * QBLOCK));                            \
      __m256 da = _mm256_broadcast_ss(d + i * ldd + b);                                                        \
      __m256 offset = type == Q4_0 ? _mm256_broadcast_ss(sa + i * ldd + b) : _mm256_setzero_ps();              \
      for (int j = 0; j < MW; j++) {                                                                           \
        __m256i pairs = _mm256_maddubs_epi16(wabs[j], type == Q8_0 ? _mm256_sign_epi8(av, wv[j]) : av);        \
        __m256 dot = _mm256_cvtepi32_ps(_mm256_madd_epi16(pairs, ones));                                       \
        if (type == Q4_0) dot = _mm256_sub_ps(dot, offset);                                                    \
        acc[i][j] = _mm256_fmadd_ps(_mm256_mul_ps(dw[j], da), dot, acc[i][j]);                                 \
      }                                                                                                        \
    }                                                                                                          \
  }                                                                                                            \
  for (int i = 0; i < MA; i++)                                                                                 \
    for (int j = 0; j < MW; j++) sums[i][j] = hsum8(acc[i][j]);
#else
#define QDOT_BODY(MA, MW)                                                                                      \
  (void)sa; /* Q4_0's offset is in weight_value */                                                    \
  const int bytes = QBYTES[type];                                                                              \
  for (int i = 0; i < MA; i++)                                                                                 \
    for (int j = 0; j < MW; j++) {                                                                             \
      float s = 0;                                                                                             \
      for (int b = 0; b < nb; b++) {                                                                           \
        const uint8_t *blk = w + j * rowBytes + (long)b * bytes;                                               \
        int32_t t = 0;                                                                                         \
        for (int p = 0; p < QBLOCK; p++) t += weight_value(blk, type, p) * q[i * ldq + b * QBLOCK + p];        \
        s += f16_to_f32((uint16_t)(blk[0] | blk[1] << 8)) * d[i * ldd + b] * (float)t;                         \
      }                                                                                                        \
      sums[i][j] = s;                                                                                          \
    }
#endif
DEFINE_QDOT(1, 4)
DEFINE_QDOT(1, 2)
DEFINE_QDOT(1, 1)
DEFINE_QDOT(2, 2)
DEFINE_QDOT(4, 2)
DEFINE_QDOT(4, 1)

static inline __attribute__((always_inline)) void decode_quant_typed(const int8_t *qa, const float *da, const float *sa, float *C,
    const uint8_t *W, const int type, int k, int n, int r0, int r1, int c0, int c1, float alpha, int beta) {
  int rows = r1 - r0, nb = k / QBLOCK;
  long rowBytes = (long)nb * QBYTES[type];
  float *Cr = C + (long)r0 * n;
#define QTILE(MA, MW, I, J)                                                                                     \
  do {                                                                                                          \
    float sums[MA][MW];                                                                                         \
    qdot_##MA##x##MW(qa + (long)(I) * k, da + (long)(I) * nb, sa + (long)(I) * nb, k, nb, W + (J) * rowBytes,    \
                     rowBytes, nb, type, sums);                                                                 \
    for (int t = 0; t < MA; t++)                                                                                \
      for (int u = 0; u < MW; u++) store_out(Cr + (long)((I) + t) * n + (J) + u, sums[t][u], alpha, beta);      \
  } while (0)
  if (rows == 1) {
    /* one row streams W: four of its rows at a time keep more loads in flight */
    int j = c0;
    for (; j + 4 <= c1; j += 4) QTILE(1, 4, 0, j);
    for (; j < c1; j++) QTILE(1, 1, 0, j);
    return;
  }
  /* W's rows two at a time (they stay in L1) against every row of A, four rows of A per tile (the
   * portable build: with AVX2, products of QROWS_MIN rows and more go to qrows_x8) */
  for (int j = c0; j < c1; j += 2) {
    int i = 0;
    if (j + 2 <= c1) {
      for (; i + 4 <= rows; i += 4) QTILE(4, 2, i, j);
      for (; i + 2 <= rows; i += 2) QTILE(2, 2, i, j);
      for (; i < rows; i++) QTILE(1, 2, i, j);
    } else {
      for (; i + 4 <= rows; i += 4) QTILE(4, 1, i, j);
      for (; i < rows; i++) QTILE(1, 1, i, j);
    }
  }
#undef QTILE
}

static void decode_q8_0(const int8_t *qa, const float *da, const float *sa, float *C, const uint8_t *W, int k, int n, int r0, int r1, int c0, int c1, float alpha, int beta) {
  decode_quant_typed(qa, da, sa, C, W, Q8_0, k, n, r0, r1, c0, c1, alpha, beta);
}

static void decode_q4_0(const int8_t *qa, const float *da, const float *sa, float *C, const uint8_t *W, int k, int n, int r0, int r1, int c0, int c1, float alpha, int beta) {
  decode_quant_typed(qa, da, sa, C, W, Q4_0, k, n, r0, r1, c0, c1, alpha, beta);
}

#if OL_AVX2
/* ---------- 8-bit blocks against several rows of A: eight rows of W side by side ---------- */

#define QROWS 16 /* rows of A a pass over a group of W's rows serves (their sums held in acc) */
/* from how many rows of A (the whole product's) the eight-rows kernel runs, Q8_0 and Q4_0 alike: below,
 * the pair kernel (one row: the eight-rows kernel was 20 against 25 GFLOP/s; two rows even, three 1.4×) */
#define QROWS_MIN 2

/* the 8×8 transpose of 32-bit lanes: t[g] lane j = r[j] lane g */
static inline void transpose8_epi32(__m256i r[8], __m256i t[8]) {
  const __m256i a0 = _mm256_unpacklo_epi32(r[0], r[1]), a1 = _mm256_unpackhi_epi32(r[0], r[1]);
  const __m256i a2 = _mm256_unpacklo_epi32(r[2], r[3]), a3 = _mm256_unpackhi_epi32(r[2], r[3]);
  const __m256i a4 = _mm256_unpacklo_epi32(r[4], r[5]), a5 = _mm256_unpackhi_epi32(r[4], r[5]);
  const __m256i a6 = _mm256_unpacklo_epi32(r[6], r[7]), a7 = _mm256_unpackhi_epi32(r[6], r[7]);
  const __m256i b0 = _mm256_unpacklo_epi64(a0, a2), b1 = _mm256_unpackhi_epi64(a0, a2);
  const __m256i b2 = _mm256_unpacklo_epi64(a1, a3), b3 = _mm256_unpackhi_epi64(a1, a3);
  const __m256i b4 = _mm256_unpacklo_epi64(a4, a6), b5 = _mm256_unpackhi_epi64(a4, a6);
  const __m256i b6 = _mm256_unpacklo_epi64(a5, a7), b7 = _mm256_unpackhi_epi64(a5, a7);
  t[0] = _mm256_permute2x128_si256(b0, b4, 0x20), t[4] = _mm256_permute2x128_si256(b0, b4, 0x31);
  t[1] = _mm256_permute2x128_si256(b1, b5, 0x20), t[5] = _mm256_permute2x128_si256(b1, b5, 0x31);
  t[2] = _mm256_permute2x128_si256(b2, b6, 0x20), t[6] = _mm256_permute2x128_si256(b2, b6, 0x31);
  t[3] = _mm256_permute2x128_si256(b3, b7, 0x20), t[7] = _mm256_permute2x128_si256(b3, b7, 0x31);
}

/*
 * Rows [0, rows) of rounded A (at most QROWS) against the eight rows of W at w[0..8) (nb blocks of
 * `type` each): acc[i][j] = Σ_b (dw_jb·d_ib)·(the exact integer dot of block b), one FMA a block in
 * block order. Per block, the eight rows' 32 weights are transposed so that t[g] holds weights
 * 4g…4g+3 of each row (one 32-bit lane a row); a row of A's matching four values broadcast against
 * t[g] gives, after vpmaddubsw, the eight rows' partial dots side by side, so one conversion and one
 * FMA serve eight outputs (the pair kernel, qdot, spends four multiplies per output and block).
 * Q4_0 (weights + 8, unsigned): the eight groups sum in int16 (at most 16 products of 15·127 a lane:
 * < 2^15) before one vpmaddwd, and 8·Σq comes off after. Q8_0 (signed): |w|·(a·sign w), as qdot (a
 * weight of −128 is 128 unsigned; A's values are within ±127), a vpmaddwd a group (two products of
 * 128·127 fill an int16 lane).
 */
static inline __attribute__((always_inline)) void qrows_x8(const int8_t *q, const float *d, const float *sa, int rows, int k,
    const uint8_t *const w[8], int nb, const int type, const uint8_t *next, long nextStep, float acc[QROWS][8]) {
  const __m256i ones = _mm256_set1_epi16(1);
  const int bytes = QBYTES[type];
  __m256 sum[QROWS];
  for (int i = 0; i < rows; i++) sum[i] = _mm256_setzero_ps();
  for (int b = 0; b < nb; b++) {
    for (long t = 0; t < nextStep; t += 64) _mm_prefetch((const char *)next + b * nextStep + t, _MM_HINT_T0); /* the next group's rows */
    __m256i r[8], t[8];
    uint16_t scales[8];
    for (int j = 0; j < 8; j++) {
      const uint8_t *blk = w[j] + (long)b * bytes;
      r[j] = load_weights(blk, type);                                             /* 32 weights in order (Q4_0: + 8) */
      scales[j] = (uint16_t)(blk[0] | blk[1] << 8);
    }
    transpose8_epi32(r, t);                                                       /* t[g] lane j: weights 4g…4g+3 of row j */
    const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)scales)); /* the eight rows' scales */
    for (int i = 0; i < rows; i++) {
      const int32_t *a = (const int32_t *)(q + (long)i * k + b * QBLOCK);         /* A's block: eight groups of four */
      __m256 exact;                                                               /* the eight block dots, exact in f32 */
      if (type == Q4_0) {
        __m256i dots = _mm256_maddubs_epi16(t[0], _mm256_set1_epi32(a[0]));
        for (int g = 1; g < 8; g++) dots = _mm256_add_epi16(dots, _mm256_maddubs_epi16(t[g], _mm256_set1_epi32(a[g])));
        exact = _mm256_sub_ps(_mm256_cvtepi32_ps(_mm256_madd_epi16(dots, ones)), _mm256_set1_ps(8 * sa[(long)i * nb + b]));
      } else {
        __m256i dots = _mm256_setzero_si256();
        for (int g = 0; g < 8; g++) {
          const __m256i av = _mm256_set1_epi32(a[g]);
          dots = _mm256_add_epi32(dots, _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_abs_epi8(t[g]), _mm256_sign_epi8(av, t[g])), ones));
        }
        exact = _mm256_cvtepi32_ps(dots);
      }
      sum[i] = _mm256_fmadd_ps(_mm256_mul_ps(dw, _mm256_set1_ps(d[(long)i * nb + b])), exact, sum[i]);
    }
  }
  for (int i = 0; i < rows; i++) _mm256_storeu_ps(acc[i], sum[i]);
}

/* rows [r0, r1) of C (+)= alpha·A·Wᵀ through qrows_x8: W's rows eight at a time (a last group of fewer
 * repeats its last row and drops those sums: each column is computed alone, whatever its group) */
static inline __attribute__((always_inline)) void decode_quant_rows_typed(const int8_t *qa, const float *da, const float *sa, float *C,
    const uint8_t *W, const int type, int k, int n, int r0, int r1, int c0, int c1, float alpha, int beta) {
  const int nb = k / QBLOCK, rows = r1 - r0;
  const long rowBytes = (long)nb * QBYTES[type];
  float acc[QROWS][8];
  for (int j = c0; j < c1; j += 8) {
    const int mw = imin(8, c1 - j);
    const uint8_t *w[8];
    for (int u = 0; u < 8; u++) w[u] = W + (long)(j + imin(u, mw - 1)) * rowBytes;
    const uint8_t *next = j + 8 < c1 ? W + (long)(j + 8) * rowBytes : w[0];
    for (int i0 = 0; i0 < rows; i0 += QROWS) {
      const int mi = imin(QROWS, rows - i0);
      qrows_x8(qa + (long)i0 * k, da + (long)i0 * nb, sa + (long)i0 * nb, mi, k, w, nb, type, next,
               i0 == 0 && j + 8 < c1 ? 8 * QBYTES[type] : 0, acc);
      for (int i = 0; i < mi; i++)
        for (int u = 0; u < mw; u++) store_out(C + (long)(r0 + i0 + i) * n + j + u, acc[i][u], alpha, beta);
    }
  }
}

static void decode_q8_0_rows(const int8_t *qa, const float *da, const float *sa, float *C, const uint8_t *W, int k, int n, int r0, int r1, int c0, int c1, float alpha, int beta) {
  decode_quant_rows_typed(qa, da, sa, C, W, Q8_0, k, n, r0, r1, c0, c1, alpha, beta);
}

static void decode_q4_0_rows(const int8_t *qa, const float *da, const float *sa, float *C, const uint8_t *W, int k, int n, int r0, int r1, int c0, int c1, float alpha, int beta) {
  decode_quant_rows_typed(qa, da, sa, C, W, Q4_0, k, n, r0, r1, c0, c1, alpha, beta);
}
#endif

/* m: the whole product's rows, which decide the kernel (so that results do not depend on how the pool splits it) */
static void decode_quant(Scratch *s, float *C, const float *A, const uint8_t *W, int type, int m, int k, int n, int r0, int r1,
                         int c0, int c1, float alpha, int beta) {
  quantize_rows(A + (long)r0 * k, k, r1 - r0, k, s->qa, s->da, s->sa);     /* q [rows][k], d and Σq [rows][k/32] */
#if OL_AVX2
  if (m >= QROWS_MIN) {
    (type == Q8_0 ? decode_q8_0_rows : decode_q4_0_rows)(s->qa, s->da, s->sa, C, W, k, n, r0, r1, c0, c1, alpha, beta);
    return;
  }
#else
  (void)m;
#endif
  (type == Q8_0 ? decode_q8_0 : decode_q4_0)(s->qa, s->da, s->sa, C, W, k, n, r0, r1, c0, c1, alpha, beta);
}

/* ---------- the gated MLP's activation: out = x·sigmoid(k·(x + c·x³))·up (SiLU: k = 1, c = 0; tanh-GELU) ---------- */

#if OL_AVX2
/* e^x for x ≤ 0, 8 at a time: x = n·ln2 + r, |r| ≤ ln2/2, e^r by its degree-6 Taylor polynomial
 * (relative error < 2e-7, f32's own rounding), 2^n into the exponent; below −87 it is 0. */
static inline __m256 exp_nonpositive8(__m256 x) {
  const __m256 lo = _mm256_set1_ps(-87.0f);
  __m256 under = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
  x = _mm256_max_ps(x, lo);
  __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.0f / 720);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_andnot_ps(under, _mm256_mul_ps(p, _mm256_castsi256_ps(e)));
}

/* sigmoid(z) = 1/(1 + e^−|z|) for z ≥ 0, e^−|z|/(1 + e^−|z|) below: no overflow either side */
static inline __m256 sigmoid8(__m256 z) {
  const __m256 absMask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  __m256 e = exp_nonpositive8(_mm256_sub_ps(_mm256_setzero_ps(), _mm256_and_ps(z, absMask)));
  __m256 inv = _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_add_ps(_mm256_set1_ps(1.0f), e));
  return _mm256_blendv_ps(inv, _mm256_mul_ps(e, inv), _mm256_cmp_ps(z, _mm256_setzero_ps(), _CMP_LT_OQ));
}
#endif

/* x clamped to ±ACT_CLAMP inside the sigmoid and the slope: beyond it the sigmoid is exactly 0 or 1
 * in f32 either way, and x² would overflow f32 (from |x| ≈ 1.8e19) into inf·0 = NaN */
#define ACT_CLAMP 1e4f

static inline float sigmoid1(float z) {
  if (z >= 0) return 1.0f / (1.0f + expf(-z));
  float e = expf(z);
  return e / (1.0f + e);
}

static void gated_forward(float *out, const float *g, const float *u, long n, float k, float c) {
  long i = 0;
#if OL_AVX2
  __m256 vk = _mm256_set1_ps(k), vc = _mm256_set1_ps(c), lo = _mm256_set1_ps(-ACT_CLAMP), hi = _mm256_set1_ps(ACT_CLAMP);
  for (; i + 8 <= n; i += 8) {
    __m256 x = _mm256_loadu_ps(g + i), xz = _mm256_min_ps(_mm256_max_ps(x, lo), hi);
    __m256 z = _mm256_mul_ps(vk, _mm256_fmadd_ps(_mm256_mul_ps(vc, xz), _mm256_mul_ps(xz, xz), xz)); /* k·(x + c·x³) */
    _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_mul_ps(x, sigmoid8(z)), _mm256_loadu_ps(u + i)));
  }
#endif
  for (; i < n; i++) {
    float x = g[i], xz = fminf(fmaxf(x, -ACT_CLAMP), ACT_CLAMP);
    out[i] = x * sigmoid1(k * (xz + c * xz * xz * xz)) * u[i];
  }
}

/* dUp = dOut·x·s; dGate = dOut·up·(s + x·s·(1 − s)·k·(1 + 3c·x²)), s = sigmoid(k·(x + c·x³)) */
static void gated_backward(float *dg, float *du, const float *dOut, const float *g, const float *u, long n, float k, float c) {
  long i = 0;
#if OL_AVX2
  __m256 vk = _mm256_set1_ps(k), vc = _mm256_set1_ps(c), one = _mm256_set1_ps(1.0f), c3 = _mm256_set1_ps(3 * c);
  __m256 lo = _mm256_set1_ps(-ACT_CLAMP), hi = _mm256_set1_ps(ACT_CLAMP);
  for (; i + 8 <= n; i += 8) {
    __m256 x = _mm256_loadu_ps(g + i), xz = _mm256_min_ps(_mm256_max_ps(x, lo), hi), x2 = _mm256_mul_ps(xz, xz), d = _mm256_loadu_ps(dOut + i);
    __m256 s = sigmoid8(_mm256_mul_ps(vk, _mm256_fmadd_ps(_mm256_mul_ps(vc, xz), x2, xz)));
    __m256 xs = _mm256_mul_ps(x, s);
    __m256 slope = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_mul_ps(xs, _mm256_sub_ps(one, s)), vk), _mm256_fmadd_ps(c3, x2, one), s);
    _mm256_storeu_ps(du + i, _mm256_mul_ps(d, xs));
    _mm256_storeu_ps(dg + i, _mm256_mul_ps(_mm256_mul_ps(d, _mm256_loadu_ps(u + i)), slope));
  }
#endif
  for (; i < n; i++) {
    float x = g[i], xz = fminf(fmaxf(x, -ACT_CLAMP), ACT_CLAMP), s = sigmoid1(k * (xz + c * xz * xz * xz));
    du[i] = dOut[i] * x * s;
    dg[i] = dOut[i] * u[i] * (s + x * s * (1 - s) * k * (1 + 3 * c * xz * xz));
  }
}

/* ---------- OpenBLAS's sgemm, where the machine has it ---------- */

/* cblas_sgemm(order, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc) */
typedef void (*SgemmFn)(int, int, int, int, int, int, float, const float *, int, const float *, int, float, float *, int);
enum { CBLAS_ROW_MAJOR = 101, CBLAS_NO_TRANS = 111, CBLAS_TRANS = 112 };
static SgemmFn blas_sgemm;
static char blas_config[160];
static int blas_enabled;
static pthread_once_t blas_once = PTHREAD_ONCE_INIT;

/* dlopen's OpenBLAS (Debian's libopenblas0-pthread) once per process, one thread per call: the
 * engine's pool gives each of its threads its own share of a product */
static void blas_load(void) {
  const char *names[] = { "libopenblas.so.0", "libopenblas.so" };
  for (size_t i = 0; i < sizeof names / sizeof names[0] && !blas_sgemm; i++) {
    void *lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    if (!lib) continue;
    SgemmFn sgemm = (SgemmFn)dlsym(lib, "cblas_sgemm");
    void (*threads)(int) = (void (*)(int))dlsym(lib, "openblas_set_num_threads");
    char *(*config)(void) = (char *(*)(void))dlsym(lib, "openblas_get_config");
    if (!sgemm || !threads) { dlclose(lib); continue; }
    threads(1);
    snprintf(blas_config, sizeof blas_config, "%s", config ? config() : "OpenBLAS");
    blas_sgemm = sgemm;
    blas_enabled = 1;
  }
}

/* rows [r0, r1), columns [c0, c1) of C through cblas_sgemm on the sub-blocks (lda/ldb/ldc the whole matrices') */
static void gemm_blas(float *C, const float *A, const float *B, int m, int k, int n, int layout, int accumulate, float alpha,
                      int r0, int r1, int c0, int c1) {
  const float *a = layout == 2 ? A + r0 : A + (long)r0 * k;          /* tn: A [k, m], its columns r0… */
  const float *b = layout == 1 ? B + (long)c0 * k : B + c0;          /* nt: B [n, k], its rows c0… */
  blas_sgemm(CBLAS_ROW_MAJOR, layout == 2 ? CBLAS_TRANS : CBLAS_NO_TRANS, layout == 1 ? CBLAS_TRANS : CBLAS_NO_TRANS,
             r1 - r0, c1 - c0, k, alpha, a, layout == 2 ? m : k, b, layout == 1 ? k : n, accumulate ? 1.0f : 0.0f,
             C + (long)r0 * n + c0, n);
}

/* ---------- one product through the path the gemm entry point picks ---------- */

/* rows [r0, r1), columns [c0, c1) of C (+)= alpha·op(A)·op(B), by the kernel `gemm` would use (decided on
 * the whole product's m); 0 when the packed path's scratch cannot be had */
static int gemm_range(float *C, const float *A, const float *B, int m, int k, int n, int layout, int accumulate, float alpha,
                      int r0, int r1, int c0, int c1) {
#if OL_AVX2
  if (layout == 1 && m > DECODE_MAX_ROWS_F32_DOT && m <= DECODE_MAX_ROWS_F32) {
    Scratch *s = scratch();
    if (!s || !scratch_at(s, (size_t)(r1 - r0 + 15) / 16 * 16 * k)) return 0;
    decode_f32_wide(s->at, &s->ahead, C, A, B, k, n, r0, r1, c0, c1, alpha, accumulate);
    return 1;
  }
  if (layout == 1 && m <= DECODE_MAX_ROWS_F32_DOT) {
#else
  if (layout == 1 && m <= (blas_enabled ? DECODE_MAX_ROWS_F32_BLAS : DECODE_MAX_ROWS_F32)) {
#endif
    decode_f32(C, A, B, k, n, r0, r1, c0, c1, alpha, accumulate);
    return 1;
  }
  if (blas_enabled) {
    gemm_blas(C, A, B, m, k, n, layout, accumulate, alpha, r0, r1, c0, c1);
    return 1;
  }
  Scratch *s = scratch();
  if (!s) return 0;
  gemm_packed(s, C, A, B, m, k, n, layout, accumulate, alpha, r0, r1, c0, c1);
  return 1;
}

static inline int gemm_whole(float *C, const float *A, const float *B, int m, int k, int n, int layout, int accumulate, float alpha) {
  return gemm_range(C, A, B, m, k, n, layout, accumulate, alpha, 0, m, 0, n);
}

/* ---------- flash attention: flash-attention.ts in C, the same tiles, products and order ---------- */

#define FLASH_QUERY_BLOCK 96
#define FLASH_KEY_TILE 128
enum { NN = 0, NT = 1, TN = 2 };

static inline int first_visible(int s, int window) { return window > 0 && s - window + 1 > 0 ? s - window + 1 : 0; }

/* dst [S, hd] := columns [col, col + hd) of the S rows (width w) from x, and back */
static void gather_rows(float *dst, const float *x, int S, long w, long col, int hd) {
  for (int s = 0; s < S; s++) memcpy(dst + (long)s * hd, x + s * w + col, sizeof(float) * hd);
}
static void scatter_rows(float *x, const float *src, int S, long w, long col, int hd) {
  for (int s = 0; s < S; s++) memcpy(x + s * w + col, src + (long)s * hd, sizeof(float) * hd);
}

/* p[0..n) := e^(p − sub) (arguments ≤ 0 but for rounding); returns their sum */
static double exp_row(float *p, int n, float sub) {
  int i = 0;
  double sum = 0;
#if OL_AVX2
  __m256 acc = _mm256_setzero_ps(), vs = _mm256_set1_ps(sub);
  for (; i + 8 <= n; i += 8) {
    __m256 e = exp_nonpositive8(_mm256_sub_ps(_mm256_loadu_ps(p + i), vs));
    _mm256_storeu_ps(p + i, e);
    acc = _mm256_add_ps(acc, e);
  }
  sum = hsum8(acc);
#endif
  for (; i < n; i++) sum += (p[i] = expf(p[i] - sub));
  return sum;
}

/* over n columns: p := e^(scores − lse) (the probabilities), dp := p ∘ (dp − delta) (dS) */
static void score_grad_row(float *p, float *dp, int n, float lse, float delta) {
  int i = 0;
#if OL_AVX2
  __m256 vl = _mm256_set1_ps(lse), vd = _mm256_set1_ps(delta);
  for (; i + 8 <= n; i += 8) {
    __m256 e = exp_nonpositive8(_mm256_sub_ps(_mm256_loadu_ps(p + i), vl));
    _mm256_storeu_ps(p + i, e);
    _mm256_storeu_ps(dp + i, _mm256_mul_ps(e, _mm256_sub_ps(_mm256_loadu_ps(dp + i), vd)));
  }
#endif
  for (; i < n; i++) {
    float e = expf(p[i] - lse);
    p[i] = e;
    dp[i] = e * (dp[i] - delta);
  }
}

static void scale_row(float *x, int n, float f) {
  for (int i = 0; i < n; i++) x[i] *= f;
}

/* The shape of one call: B sequences of S rows; nH query heads over nKV kv heads of width hd. */
typedef struct { int B, S, nH, nKV, hd, window; float scale; } Attn;

/* out [B·S, nH·hd], lse [B, nH, S] from q [B·S, nH·hd], k, v [B·S, nKV·hd]; 0 when out of memory */
static int flash_forward(const Attn *a, float *out, float *lse, const float *q, const float *k, const float *v) {
  const int S = a->S, hd = a->hd, group = a->nH / a->nKV;
  const long qw = (long)a->nH * hd, kw = (long)a->nKV * hd, panel = (long)S * hd;
  float *buf = malloc(sizeof(float) * (4 * panel + FLASH_QUERY_BLOCK * FLASH_KEY_TILE));
  if (!buf) return 0;
  float *Qh = buf, *Kg = Qh + panel, *Vg = Kg + panel, *Oh = Vg + panel, *P = Oh + panel;  /* [S, hd] ×4, [QB, KT] */
  double m[FLASH_QUERY_BLOCK], l[FLASH_QUERY_BLOCK];
  int ok = 1;
  for (int b = 0; b < a->B && ok; b++) {
    const long base = (long)b * S;
    for (int g = 0; g < a->nKV && ok; g++) {
      gather_rows(Kg, k + base * kw, S, kw, (long)g * hd, hd);
      gather_rows(Vg, v + base * kw, S, kw, (long)g * hd, hd);
      for (int h = g * group; h < (g + 1) * group && ok; h++) {
        gather_rows(Qh, q + base * qw, S, qw, (long)h * hd, hd);
        float *lseRow = lse + ((long)b * a->nH + h) * S;
        for (int i0 = 0; i0 < S; i0 += FLASH_QUERY_BLOCK) {
          const int i1 = imin(S, i0 + FLASH_QUERY_BLOCK), br = i1 - i0;
          float *Oi = Oh + (long)i0 * hd;                                                    /* [br, hd] */
          memset(Oi, 0, sizeof(float) * br * hd);
          for (int r = 0; r < br; r++) { m[r] = -INFINITY; l[r] = 0; }
          const int jFirst = first_visible(i0, a->window) / FLASH_KEY_TILE, jLast = (i1 - 1) / FLASH_KEY_TILE;
          for (int j = jFirst; j <= jLast; j++) {
            const int j0 = j * FLASH_KEY_TILE, j1 = imin(S, j0 + FLASH_KEY_TILE), bc = j1 - j0;
            ok &= gemm_whole(P, Qh + (long)i0 * hd, Kg + (long)j0 * hd, br, hd, bc, NT, 0, a->scale); /* P [br, bc] = scores */
            for (int r = 0; r < br; r++) {
              const int s = i0 + r, lo = first_visible(s, a->window) > j0 ? first_visible(s, a->window) : j0, hi = imin(j1 - 1, s);
              float *row = P + (long)r * bc;
              if (lo > hi) { memset(row, 0, sizeof(float) * bc); continue; }
              float max = (float)m[r];
              for (int t = lo; t <= hi; t++) if (row[t - j0] > max) max = row[t - j0];
              const double correction = exp(m[r] - max);                                      /* 0 on the row's first tile */
              memset(row, 0, sizeof(float) * (lo - j0));
              const double sum = exp_row(row + lo - j0, hi - lo + 1, max);
              memset(row + hi - j0 + 1, 0, sizeof(float) * (j1 - 1 - hi));
              if (correction != 1) scale_row(Oi + (long)r * hd, hd, (float)correction);
              l[r] = l[r] * correction + sum;
              m[r] = max;
            }
            ok &= gemm_whole(Oi, P, Vg + (long)j0 * hd, br, bc, hd, NN, 1, 1);                 /* O_i += P·V_j */
          }
          for (int r = 0; r < br; r++) {
            scale_row(Oi + (long)r * hd, hd, (float)(1 / l[r]));
            lseRow[i0 + r] = (float)(m[r] + log(l[r]));
          }
        }
        scatter_rows(out + base * qw, Oh, S, qw, (long)h * hd, hd);
      }
    }
  }
  free(buf);
  return ok;
}

/* dq [B·S, nH·hd], dk, dv [B·S, nKV·hd] (overwritten) from dOut, the forward's out and lse, and its inputs */
static int flash_backward(const Attn *a, float *dq, float *dk, float *dv, const float *dOut, const float *out, const float *q,
                          const float *k, const float *v, const float *lse) {
  const int S = a->S, hd = a->hd, group = a->nH / a->nKV;
  const long qw = (long)a->nH * hd, kw = (long)a->nKV * hd, panel = (long)S * hd;
  float *buf = malloc(sizeof(float) * (8 * panel + S + 2 * FLASH_QUERY_BLOCK * FLASH_KEY_TILE));
  if (!buf) return 0;
  float *Qh = buf, *Kg = Qh + panel, *Vg = Kg + panel, *Oh = Vg + panel, *dOh = Oh + panel;   /* [S, hd] each */
  float *dQh = dOh + panel, *dKg = dQh + panel, *dVg = dKg + panel, *D = dVg + panel;        /* …, D [S] */
  float *P = D + S, *dP = P + FLASH_QUERY_BLOCK * FLASH_KEY_TILE;                           /* [QB, KT] each */
  int ok = 1;
  for (int b = 0; b < a->B && ok; b++) {
    const long base = (long)b * S;
    for (int g = 0; g < a->nKV && ok; g++) {
      gather_rows(Kg, k + base * kw, S, kw, (long)g * hd, hd);
      gather_rows(Vg, v + base * kw, S, kw, (long)g * hd, hd);
      memset(dKg, 0, sizeof(float) * panel);
      memset(dVg, 0, sizeof(float) * panel);
      for (int h = g * group; h < (g + 1) * group && ok; h++) {
        gather_rows(Qh, q + base * qw, S, qw, (long)h * hd, hd);
        gather_rows(Oh, out + base * qw, S, qw, (long)h * hd, hd);
        gather_rows(dOh, dOut + base * qw, S, qw, (long)h * hd, hd);
        memset(dQh, 0, sizeof(float) * panel);
        for (int s = 0; s < S; s++) {                                                       /* D [S] = rowsum(dO ∘ O) */
          double dot = 0;
          for (int d = 0; d < hd; d++) dot += (double)dOh[(long)s * hd + d] * Oh[(long)s * hd + d];
          D[s] = (float)dot;
        }
        const float *lseRow = lse + ((long)b * a->nH + h) * S;
        for (int i0 = 0; i0 < S; i0 += FLASH_QUERY_BLOCK) {
          const int i1 = imin(S, i0 + FLASH_QUERY_BLOCK), br = i1 - i0;
          const float *Qi = Qh + (long)i0 * hd, *dOi = dOh + (long)i0 * hd;
          float *dQi = dQh + (long)i0 * hd;
          const int jFirst = first_visible(i0, a->window) / FLASH_KEY_TILE, jLast = (i1 - 1) / FLASH_KEY_TILE;
          for (int j = jFirst; j <= jLast; j++) {
            const int j0 = j * FLASH_KEY_TILE, j1 = imin(S, j0 + FLASH_KEY_TILE), bc = j1 - j0;
            const float *Kj = Kg + (long)j0 * hd, *Vj = Vg + (long)j0 * hd;
            ok &= gemm_whole(P, Qi, Kj, br, hd, bc, NT, 0, a->scale);                          /* scores [br, bc] */
            ok &= gemm_whole(dP, dOi, Vj, br, hd, bc, NT, 0, 1);                               /* dP [br, bc] = dO_i·V_jᵀ */
            for (int r = 0; r < br; r++) {
              const int s = i0 + r, lo = first_visible(s, a->window) > j0 ? first_visible(s, a->window) : j0, hi = imin(j1 - 1, s);
              float *row = P + (long)r * bc, *drow = dP + (long)r * bc;
              const int from = imin(bc, lo - j0), to = hi - j0 >= -1 ? hi - j0 : -1;           /* visible [from, to], maybe none */
              memset(row, 0, sizeof(float) * from);
              memset(drow, 0, sizeof(float) * from);
              if (to >= from) score_grad_row(row + from, drow + from, to - from + 1, lseRow[s], D[s]);
              const int after = to + 1 > from ? to + 1 : from;
              memset(row + after, 0, sizeof(float) * (bc - after));
              memset(drow + after, 0, sizeof(float) * (bc - after));
            }
            ok &= gemm_whole(dVg + (long)j0 * hd, P, dOi, bc, br, hd, TN, 1, 1);               /* dV_j += Pᵀ·dO_i */
            ok &= gemm_whole(dQi, dP, Kj, br, bc, hd, NN, 1, a->scale);                        /* dQ_i += scale·dS·K_j */
            ok &= gemm_whole(dKg + (long)j0 * hd, dP, Qi, bc, br, hd, TN, 1, a->scale);        /* dK_j += scale·dSᵀ·Q_i */
          }
        }
        scatter_rows(dq + base * qw, dQh, S, qw, (long)h * hd, hd);
      }
      scatter_rows(dk + base * kw, dKg, S, kw, (long)g * hd, hd);
      scatter_rows(dv + base * kw, dVg, S, kw, (long)g * hd, hd);
    }
  }
  free(buf);
  return ok;
}

/* ---------- paged attention: one new row per sequence against its cached keys and values ---------- */

/* Σ a[i]·b[i], 8 lanes then the tail (the order decode_f32's dot tiles use) */
static inline float dot_f32(const float *a, const float *b, int n) {
  int i = 0;
  float s = 0;
#if OL_AVX2
  __m256 acc = _mm256_setzero_ps();
  for (; i + 8 <= n; i += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc);
  s = hsum8(acc);
#endif
  for (; i < n; i++) s += a[i] * b[i];
  return s;
}

/* y[0..n) += a·x */
static inline void axpy_f32(float *y, float a, const float *x, int n) {
  int i = 0;
#if OL_AVX2
  const __m256 va = _mm256_set1_ps(a);
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
#endif
  for (; i < n; i++) y[i] += a * x[i];
}

/* sc[t·stride] = scale·(q_t · key) for the group's t < group query heads (q_t hd floats apart): four
 * heads at a time, so that their sums run side by side instead of one dependent chain */
static inline void group_scores(float *sc, long stride, const float *q, const float *key, int hd, int group, float scale) {
  int t = 0;
#if OL_AVX2
  for (; t + 4 <= group; t += 4) {
    const float *q0 = q + (long)t * hd, *q1 = q0 + hd, *q2 = q1 + hd, *q3 = q2 + hd;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    int d = 0;
    for (; d + 8 <= hd; d += 8) {
      const __m256 k = _mm256_loadu_ps(key + d);
      a0 = _mm256_fmadd_ps(_mm256_loadu_ps(q0 + d), k, a0);
      a1 = _mm256_fmadd_ps(_mm256_loadu_ps(q1 + d), k, a1);
      a2 = _mm256_fmadd_ps(_mm256_loadu_ps(q2 + d), k, a2);
      a3 = _mm256_fmadd_ps(_mm256_loadu_ps(q3 + d), k, a3);
    }
    float s0 = hsum8(a0), s1 = hsum8(a1), s2 = hsum8(a2), s3 = hsum8(a3);
    for (; d < hd; d++) s0 += q0[d] * key[d], s1 += q1[d] * key[d], s2 += q2[d] * key[d], s3 += q3[d] * key[d];
    sc[t * stride] = scale * s0, sc[(t + 1) * stride] = scale * s1, sc[(t + 2) * stride] = scale * s2, sc[(t + 3) * stride] = scale * s3;
  }
#endif
  for (; t < group; t++) sc[t * stride] = scale * dot_f32(q + (long)t * hd, key, hd);
}

/* o[0..hd) = Σ_p w[p]·v_p, v_p = vc + slots[p] + off: 32 columns at a time held in registers over all p */
static inline void weighted_rows(float *o, const float *w, int visible, const float *vc, const long *slots, long off, int hd) {
  int d = 0;
#if OL_AVX2
  for (; d + 32 <= hd; d += 32) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (int p = 0; p < visible; p++) {
      const float *v = vc + slots[p] + off + d;
      const __m256 wp = _mm256_set1_ps(w[p]);
      a0 = _mm256_fmadd_ps(wp, _mm256_loadu_ps(v), a0);
      a1 = _mm256_fmadd_ps(wp, _mm256_loadu_ps(v + 8), a1);
      a2 = _mm256_fmadd_ps(wp, _mm256_loadu_ps(v + 16), a2);
      a3 = _mm256_fmadd_ps(wp, _mm256_loadu_ps(v + 24), a3);
    }
    _mm256_storeu_ps(o + d, a0), _mm256_storeu_ps(o + d + 8, a1), _mm256_storeu_ps(o + d + 16, a2), _mm256_storeu_ps(o + d + 24, a3);
  }
#endif
  if (d == hd) return;
  memset(o + d, 0, sizeof(float) * (hd - d));
  for (int p = 0; p < visible; p++) axpy_f32(o + d, w[p], vc + slots[p] + off + d, hd - d);
}

/* The cache's layout: blocks of `blockSize` positions, each position a row of nKV·hd floats. */
typedef struct { int rows, nH, nKV, hd, blockSize, maxBlocks, window; float scale; long cacheFloats; } Paged;

/* NULL, or why the block tables or lengths cannot be used: every visible position's block must hold a
 * whole cache row inside the cache */
static const char *paged_check(const Paged *a, const int32_t *tables, const int32_t *lengths) {
  const long kvd = (long)a->nKV * a->hd, blocks = a->cacheFloats / kvd / a->blockSize;
  for (int i = 0; i < a->rows; i++) {
    const int n = lengths[i];
    if (n < 0 || (long)n > (long)a->maxBlocks * a->blockSize) return "a sequence's length exceeds its block table";
    for (int b = first_visible(n - 1, a->window) / a->blockSize; b * a->blockSize < n; b++) {
      const int32_t block = tables[(long)i * a->maxBlocks + b];
      if (block < 0 || block >= blocks) return "a block table names a block outside the cache";
    }
  }
  return NULL;
}

/* out [rows, nH·hd]: row i's query heads against the keys and values of its sequence's visible
 * positions (the last `window`, or all), read from the cache where they lie; 0 when out of memory */
static int paged_attention(const Paged *a, float *out, const float *q, const float *kc, const float *vc, const int32_t *tables,
                           const int32_t *lengths) {
  const int group = a->nH / a->nKV, hd = a->hd;
  const long qw = (long)a->nH * hd;
  int most = 0;
  for (int i = 0; i < a->rows; i++) most = lengths[i] > most ? lengths[i] : most;
  const size_t cap = most > 0 ? most : 1;
  float *sc = malloc(sizeof(float) * group * cap);                                              /* scores [group, visible] */
  long *slots = malloc(sizeof(long) * cap);                                                    /* each visible position's cache row */
  if (!sc || !slots) { free(sc); free(slots); return 0; }
  const long kvd = (long)a->nKV * hd;
  for (int i = 0; i < a->rows; i++) {
    const int n = lengths[i], first = first_visible(n - 1, a->window), visible = n > 0 ? n - first : 0;
    const int32_t *table = tables + (long)i * a->maxBlocks;
    for (int p = 0, b = first / a->blockSize, o = first % a->blockSize; p < visible; p++) {
      slots[p] = ((long)table[b] * a->blockSize + o) * kvd;
      if (++o == a->blockSize) o = 0, b++;
    }
    for (int g = 0; g < a->nKV; g++) {
      const float *qg = q + i * qw + (long)g * group * hd;
      float *og = out + i * qw + (long)g * group * hd;
      for (int p = 0; p < visible; p++) {
        const float *key = kc + slots[p] + (long)g * hd;
        group_scores(sc + p, visible, qg, key, hd, group, a->scale);
      }
      for (int t = 0; t < group; t++) {
        float *row = sc + (long)t * visible, *o = og + (long)t * hd;
        if (visible > 0) {
          float max = row[0];
          for (int p = 1; p < visible; p++) max = row[p] > max ? row[p] : max;
          const float inv = (float)(1 / exp_row(row, visible, max));
          for (int p = 0; p < visible; p++) row[p] *= inv;                                     /* the probabilities */
        }
        weighted_rows(o, row, visible, vc, slots, (long)g * hd, hd);                           /* o = Σ_p P[p]·v_p */
      }
    }
  }
  free(sc);
  free(slots);
  return 1;
}

/* ---------- Node-API ---------- */

#define MAX_ARGS 16

typedef struct {
  uint8_t *heap;
  size_t bytes;
  double v[MAX_ARGS];
} Args;

static napi_value fail(napi_env env, const char *code, const char *message) {
  napi_throw_range_error(env, code, message);
  return NULL;
}

/* a typed array argument of `want` type: its data and length; 0 if it is anything else */
static int typed_arg(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *length) {
  bool is_typed;
  napi_typedarray_type type;
  return napi_is_typedarray(env, v, &is_typed) == napi_ok && is_typed &&
         napi_get_typedarray_info(env, v, &type, length, data, NULL, NULL) == napi_ok && type == want;
}

/* args[0] a typed array over the heap, then `count` numbers, then `tail` values left to the caller (into `rest`) */
static int read_args_tail(napi_env env, napi_callback_info info, int count, int tail, Args *out, napi_value *rest) {
  size_t argc = MAX_ARGS + 1;
  napi_value argv[MAX_ARGS + 1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != (size_t)(count + tail) + 1) {
    fail(env, "ERR_NATIVE_KERNEL_ARGS", "native kernel: wrong number of arguments");
    return 0;
  }
  size_t length;
  void *data;
  if (!typed_arg(env, argv[0], napi_uint8_array, &data, &length)) {
    fail(env, "ERR_NATIVE_KERNEL_ARGS", "native kernel: the heap must be a Uint8Array");
    return 0;
  }
  out->heap = data;
  out->bytes = length;
  for (int i = 0; i < count; i++) {
    if (napi_get_value_double(env, argv[i + 1], &out->v[i]) != napi_ok) {
      fail(env, "ERR_NATIVE_KERNEL_ARGS", "native kernel: arguments after the heap must be numbers");
      return 0;
    }
  }
  for (int i = 0; i < tail; i++) rest[i] = argv[count + 1 + i];
  return 1;
}

/* args[0] a typed array over the heap, then `count` numbers */
static int read_args(napi_env env, napi_callback_info info, int count, Args *out) {
  return read_args_tail(env, info, count, 0, out, NULL);
}

static void zero_range(float *C, int n, int r0, int r1, int c0, int c1) {
  for (int i = r0; i < r1; i++) memset(C + (long)i * n + c0, 0, sizeof(float) * (c1 - c0));
}

/* a non-negative integer argument below 2^31 */
static int size_arg(double v) { return v >= 0 && v < 2147483648.0 && v == (double)(long)v; }

/* [offset, offset + bytes) inside the heap, offset 4-byte aligned where `aligned` */
static int in_heap(const Args *a, double offset, double bytes, int aligned) {
  if (!(offset >= 0 && offset == (double)(uint64_t)offset && bytes >= 0)) return 0;
  if (aligned && ((uint64_t)offset & 3) != 0) return 0;
  return offset + bytes <= (double)a->bytes;
}

/* n halves (2 bytes each, 2-aligned) at offset lie inside the heap */
static int halves_in_heap(const Args *a, double offset, double n) {
  return in_heap(a, offset, 2 * n, 0) && ((uint64_t)offset & 1) == 0;
}

/* gemm(heap, c, a, b, m, k, n, layout, accumulate, alpha, r0, r1, c0, c1) */
static napi_value js_gemm(napi_env env, napi_callback_info info) {
  Args g;
  if (!read_args(env, info, 13, &g)) return NULL;
  double *v = g.v;
  for (int i = 3; i <= 6; i++) if (!size_arg(v[i])) return fail(env, "ERR_NATIVE_KERNEL_SHAPE", "gemm: m, k, n and layout must be sizes");
  for (int i = 9; i <= 12; i++) if (!size_arg(v[i])) return fail(env, "ERR_NATIVE_KERNEL_SHAPE", "gemm: bad row or column range");
  int m = v[3], k = v[4], n = v[5], layout = v[6], r0 = v[9], r1 = v[10], c0 = v[11], c1 = v[12];
  if (layout > 2) return fail(env, "ERR_NATIVE_KERNEL_SHAPE", "gemm: unknown layout");
  if (r0 > r1 || r1 > m || c0 > c1 || c1 > n) return fail(env, "ERR_NATIVE_KERNEL_SHAPE", "gemm: row or column range outside C");
  double mk = 4.0 * m * k, kn = 4.0 * k * n, mn = 4.0 * m * n;
  if (!in_heap(&g, v[0], mn, 1) || !in_heap(&g, v[1], mk, 1) || !in_heap(&g, v[2], kn, 1))
    return fail(env, "ERR_NATIVE_KERNEL_BOUNDS", "gemm: an operand lies outside the heap");
  if (r1 == r0 || c1 == c0) return NULL;
  float *C = (float *)(g.heap + (uint64_t)v[0]);
  const float *A = (const float *)(g.heap + (uint64_t)v[1]), *B = (const float *)(g.heap + (uint64_t)v[2]);
  float alpha = (float)v[8];
  int beta = v[7] != 0;
  if (k == 0) { /* an empty sum: C = 0, or unchanged when accumulating */
    if (!beta) zero_range(C, n, r0, r1, c0, c1);
    return NULL;
  }
  /* the kernel is decided on the whole product's m, so that results do not depend on how the pool splits it */
  if (!gemm_range(C, A, B, m, k, n, layout, beta, alpha, r0, r1, c0, c1)) return fail(env, "ERR_NATIVE_KERNEL_MEMORY", "gemm: out of memory for packed panels");
  return NULL;
}

/* decodeQuant(heap, c, a, w, type, m, k, n, accumulate, alpha, r0, r1, c0, c1): nt, W [n, k] in blocks */
static napi_value js_decode_quant(napi_env env, napi_callback_info info) {
  Args g;
  if (!read_args(env, info, 13, &g)) return NULL;
  double *v = g.v;
  for (int i = 3; i <= 6; i++) if (!size_arg(v[i])) return fail(env, "ERR_NATIVE_KERNEL_SHAPE", "decodeQuant: type, m, k, n must be sizes");
  for (int i = 9; i <= 12; i++) if (!size_arg(v[i])) return fail(env, "ERR_NATIVE_KERNEL_SHAPE", "decodeQuant: bad row or column range");
  int type = v[3], m = v[4], k = v[5], n = v[6], r0 = v[9], r1 = v[10], c0 = v[11], c1 = v[12];
  if (type != Q8_0 && type != Q4_0) return fail(env, "ERR_NATIVE_KERNEL_SHAPE", "decodeQuant: only Q8_0 and Q4_0 weights");
  if (k % QBLOCK != 0) return fail(env, "ERR_NATIVE_KERNEL_SHAPE", "decodeQuant: k must be whole blocks of 32");
  if (r0 > r1 || r1 > m || c0 > c1 || c1 > n) return fail(env, "ERR_NATIVE_KERNEL_SHAPE", "decodeQuant: row or column range outside C");
  if (!in_heap(&g, v[0], 4.0 * m * n, 1) || !in_heap(&g, v[1], 4.0 * m * k, 1) || !in_heap(&g, v[2], (double)n * (k / QBLOCK) * QBYTES[type], 0))
    return fail(env, "ERR_NATIVE_KERNEL_BOUNDS", "decodeQuant: an operand lies outside the heap");
  if (r1 == r0 || c1 == c0) return NULL;
  if (k == 0) {
    if (v[7] == 0) zero_range((float *)(g.heap + (uint64_t)v[0]), n, r0, r1, c0, c1);
    return NULL;
  }
  Scratch *s = scratch();
  if (!s || !scratch_quant(s, (size_t)(r1 - r0) * k)) return fail(env, "ERR_NATIVE_KERNEL_MEMORY", "decodeQuant: out of memory for rounded activations");
  decode_quant(s, (float *)(g.heap + (uint64_t)v[0]), (const float *)(g.heap + (uint64_t)v[1]), g.heap + (uint64_t)v[2], type, m, k, n,
               r0, r1, c0, c1, (float)v[8], v[7] != 0);
  return NULL;
}

#define LORA_MAX_RANK 4096

/* out [n] = the n halves at h as floats (exact: every half is a float) */
static void halves_to_f32(float *out, const uint16_t *h, long n) {
  long i = 0;
#if OL_AVX2
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(h + i))));
#endif
  for (; i < n; i++) out[i] = f16_to_f32(h[i]);
}

/* u[t] = scale·(A[t]·x) for t in [0, r), A [r, in] in halves: eight rows of A at a time against x,
 * eight lanes each; every dot the same sum in the same order, whichever group its row falls in */
static void lora_shrink_half(float *u, const float *x, const uint16_t *A, int in, int r, float scale) {
  int t = 0;
#if OL_AVX2
  for (; t < r; t += 8) {
    const int rows = imin(8, r - t);
    __m256 acc[8];
    for (int i = 0; i < 8; i++) acc[i] = _mm256_setzero_ps();
    int p = 0;
    for (; p + 8 <= in; p += 8) {
      const __m256 xv = _mm256_loadu_ps(x + p);
      for (int i = 0; i < 8; i++) /* a short last group repeats its last row; those sums are dropped */
        acc[i] = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(A + (long)(t + imin(i, rows - 1)) * in + p))), xv, acc[i]);
    }
    for (int i = 0; i < rows; i++) {
      float lanes[8];
      _mm256_storeu_ps(lanes, acc[i]);
      float s = ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5])) + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]));
      for (int q = p; q < in; q++) s = fmaf(f16_to_f32(A[(long)(t + i) * in + q]), x[q], s);
      u[t + i] = scale * s;
    }
  }
#endif
  for (; t < r; t++) {
    float s = 0;
    for (int q = 0; q < in; q++) s = fmaf(f16_to_f32(A[(long)t * in + q]), x[q], s);
    u[t] = scale * s;
  }
}

/* y[out] += scale·Σ_t (A[t]·x)·Bᵀ[t] from an adapter's factors in half precision, A [r, in] and
 * Bᵀ [r, out] (loraRows' factors: half the bytes of f32, the reads this update is bound by) */
static void lora_row_half(float *y, const float *x, const uint16_t *A, const uint16_t *Bt, int in, int out, int r, float scale) {
  float u[LORA_MAX_RANK];
  lora_shrink_half(u, x, A, in, r, scale);                                     /* u [r] = scale·A·x */
  int o = 0;
#if OL_AVX2
  /* y [out] += Σ_t u[t]·Bᵀ[t], 32 columns of y held in registers across every t (one pass over y) */
  for (; o + 32 <= out; o += 32) {
    __m256 y0 = _mm256_loadu_ps(y + o), y1 = _mm256_loadu_ps(y + o + 8), y2 = _mm256_loadu_ps(y + o + 16), y3 = _mm256_loadu_ps(y + o + 24);
    for (int t = 0; t < r; t++) {
      const __m128i *b = (const __m128i *)(Bt + (long)t * out + o);
      const __m256 ut = _mm256_broadcast_ss(u + t);
      y0 = _mm256_fmadd_ps(ut, _mm256_cvtph_ps(_mm_loadu_si128(b)), y0), y1 = _mm256_fmadd_ps(ut, _mm256_cvtph_ps(_mm_loadu_si128(b + 1)), y1);
      y2 = _mm256_fmadd_ps(ut, _mm256_cvtph_ps(_mm_loadu_si128(b + 2)), y2), y3 = _mm256_fmadd_ps(ut, _mm256_cvtph_ps(_mm_loadu_si128(b + 3)), y3);
    }
    _mm256_storeu_ps(y + o, y0), _mm256_storeu_ps(y + o + 8, y1), _mm256_storeu_ps(y + o + 16, y2), _mm256_storeu_ps(y + o + 24, y3);
  }
#endif
  for (; o < out; o++) {                                                       /* the same sums, one column at a time */
    float acc = y[o];
    for (int t = 0; t < r; t++) acc = fmaf(u[t], f16_to_f32(Bt[(long)t * out + o]), acc);
    y[o] = acc;
  }
}

/* loraRows' table for `who`: a Float64Array of [A's offset, Bᵀ's offset, rank, scale] per row of n (A = −1:
 * no adapter; A [r, in] and Bᵀ [r, out] in half precision), every row's rank 1…4096, scale finite and
 * factors inside the heap; NULL after throwing */
static const double *lora_table(napi_env env, const Args *g, napi_value arg, int n, int in, int out, const char *who) {
  char message[128];
  size_t length;
  void *data;
  if (!typed_arg(env, arg, napi_float64_array, &data, &length)) {
    snprintf(message, sizeof message, "%s: the table must be a Float64Array", who);
    fail(env, "ERR_NATIVE_KERNEL_ARGS", message);
    return NULL;
  }
  if (length < 4 * (size_t)n) {
    snprintf(message, sizeof message, "%s: the table has fewer than four numbers a row", who);
    fail(env, "ERR_NATIVE_KERNEL_SHAPE", message);
    return NULL;
  }
  const double *table = data;
  for (int i = 0; i < n; i++) {
    const double *row = table + 4 * i;
    if (row[0] == -1) continue;
    if (!size_arg(row[2]) || row[2] < 1 || row[2] > LORA_MAX_RANK || !isfinite(row[3])) {
      snprintf(message, sizeof message, "%s: a row's rank must be 1…4096 and its scale finite", who);
      fail(env, "ERR_NATIVE_KERNEL_SHAPE", message);
      return NULL;
    }
    if (!halves_in_heap(g, row[0], row[2] * in) || !halves_in_heap(g, row[1], row[2] * out)) {
      snprintf(message, sizeof message, "%s: a row's adapter lies outside the heap", who);
      fail(env, "ERR_NATIVE_KERNEL_BOUNDS", message);
      return NULL;
    }
  }
  return table;
}

/* the arguments of loraRows and loraPrefetch: the heap, `offsets` byte offsets, n, inDim, outDim, then
 * the table (lora_table); NULL after throwing */
static const double *lora_args(napi_env env, napi_callback_info info, int offsets, Args *g, int *n, int *in, int *out, const char *who) {
  napi_value tail[1];
  if (!read_args_tail(env, info, offsets + 3, 1, g, tail)) return NULL;
  const double *v = g->v + offsets;
  for (int i = 0; i < 3; i++) {
    if (!size_arg(v[i])) {
      char message[96];
      snprintf(message, sizeof message, "%s: n, inDim, outDim must be sizes", who);
      fail(env, "ERR_NATIVE_KERNEL_SHAPE", message);
      return NULL;
    }
  }
  *n = v[0], *in = v[1], *out = v[2];
  return lora_table(env, g, tail[0], *n, *in, *out, who);
}

/* loraRows(heap, y, x, n, inDim, outDim, table): each of n rows its own adapter (lora_table, factors in
 * half precision); every row checked before any runs. Adjacent rows with the same entry go through the
 * products together (SGMV, on the factors widened to f32), a row alone through lora_row_half. Ends this
 * thread's prefetch plan (loraPrefetch): its factors are read now. */
static napi_value js_lora_rows(napi_env env, napi_callback_info info) {
  Args g;
  int n, in, out;
  const double *table = lora_args(env, info, 2, &g, &n, &in, &out, "loraRows"), *v = g.v;
  if (!table) return NULL;
  if (!in_heap(&g, v[0], 4.0 * n * out, 1) || !in_heap(&g, v[1], 4.0 * n * in, 1))
    return fail(env, "ERR_NATIVE_KERNEL_BOUNDS", "loraRows: y or x lies outside the heap");
  Scratch *s = scratch_if_any();                                               /* (a thread with no scratch has no plan) */
  if (s) ahead_clear(&s->ahead);
  float *y = (float *)(g.heap + (uint64_t)v[0]);
  const float *x = (const float *)(g.heap + (uint64_t)v[1]);
  for (int i = 0, next; i < n; i = next) {
    const double *row = table + 4 * i;
    for (next = i + 1; next < n && memcmp(table + 4 * next, row, 4 * sizeof(double)) == 0; next++) {}
    if (row[0] == -1) continue;
    const uint16_t *A = (const uint16_t *)(g.heap + (uint64_t)row[0]), *Bt = (const uint16_t *)(g.heap + (uint64_t)row[1]);
    const int r = row[2], rows = next - i;
    float *u = rows > 1 ? malloc(sizeof(float) * ((long)rows * r + (long)r * in + (long)r * out)) : NULL;
    if (!u) {                                                                   /* one row (or no memory for a panel): row by row */
      for (int t = i; t < next; t++) lora_row_half(y + (long)t * out, x + (long)t * in, A, Bt, in, out, r, (float)row[3]);
      continue;
    }
    /* rows that share the adapter (adjacent): its factors as f32 (a [r, in], bt [r, out]), then
     * u [rows, r] = scale·X·Aᵀ, Y += u·Bᵀ as two products */
    float *a = u + (long)rows * r, *bt = a + (long)r * in;
    halves_to_f32(a, A, (long)r * in), halves_to_f32(bt, Bt, (long)r * out);
    int ok = gemm_whole(u, x + (long)i * in, a, rows, in, r, NT, 0, (float)row[3]) &&
             gemm_whole(y + (long)i * out, u, bt, rows, r, out, NN, 1, 1);
    free(u);
    if (!ok) return fail(env, "ERR_NATIVE_KERNEL_MEMORY", "loraRows: out of memory for packed panels");
  }
  return NULL;
}

/* loraPrefetch(heap, n, inDim, outDim, table): the factors of loraRows' table (checked as loraRows checks
 * it) become this thread's prefetch plan, which the decode kernels pull into cache while they compute
 * the projection's base product; each adapter once however many rows share it. Changes no result. */
static napi_value js_lora_prefetch(napi_env env, napi_callback_info info) {
  Args g;
  int n, in, out;
  const double *table = lora_args(env, info, 0, &g, &n, &in, &out, "loraPrefetch");
  if (!table) return NULL;
  Scratch *s = scratch();
  if (!s) return NULL; /* no plan: nothing is prefetched */
  Ahead *a = &s->ahead;
  ahead_clear(a);
  for (int i = 0; i < n && a->count + 2 <= AHEAD_SPANS; i++) {
    const double *row = table + 4 * i;
    if (row[0] == -1 || (i > 0 && memcmp(table + 4 * (i - 1), row, 4 * sizeof(double)) == 0)) continue;
    const double bytes[2] = { 2.0 * row[2] * in, 2.0 * row[2] * out };
    for (int f = 0; f < 2; f++) {
      const char *from = (const char *)g.heap + (uint64_t)row[f];
      a->from[a->count] = (const char *)((uintptr_t)from & ~(uintptr_t)63); /* whole lines */
      a->to[a->count++] = from + (uint64_t)bytes[f];
    }
  }
  return NULL;
}

/* the attention shape from arguments [i, i + 7): B, S, nH, nKV, hd, scale, window; NULL with the reason */
static const char *read_attn(const Args *g, int i, Attn *a) {
  const double *v = g->v + i;
  for (int t = 0; t < 5; t++) if (!size_arg(v[t])) return "B, S, nH, nKV and hd must be sizes";
  if (!size_arg(v[6])) return "the window must be a whole number ≥ 0";
  a->B = v[0], a->S = v[1], a->nH = v[2], a->nKV = v[3], a->hd = v[4], a->scale = (float)v[5], a->window = v[6];
  if (a->S < 1 || a->hd < 1 || a->nKV < 1 || a->nH % a->nKV != 0) return "S, hd and nKV must be ≥ 1, nH a multiple of nKV";
  if (!isfinite(v[5])) return "the scale must be finite";
  return NULL;
}

/* an attention entry's arguments: `offsets` byte offsets, then the shape (read_attn); the byte sizes of a
 * [B·S, nH·hd] tensor, a [B·S, nKV·hd] one and lse [B, nH, S]; 0 after throwing */
static int attention_args(napi_env env, napi_callback_info info, int offsets, Args *g, Attn *a, double *q, double *kv, double *lse) {
  if (!read_args(env, info, offsets + 7, g)) return 0;
  const char *bad = read_attn(g, offsets, a);
  if (bad) {
    fail(env, "ERR_NATIVE_KERNEL_SHAPE", bad);
    return 0;
  }
  const double rows = (double)a->B * a->S;
  *q = 4.0 * rows * a->nH * a->hd, *kv = 4.0 * rows * a->nKV * a->hd, *lse = 4.0 * rows * a->nH;
  return 1;
}

/* the first `count` offset arguments each name bytes[i] inside the heap (4-byte aligned): their pointers into f */
static int attention_operands(const Args *g, int count, const double *bytes, float **f) {
  for (int i = 0; i < count; i++) {
    if (!in_heap(g, g->v[i], bytes[i], 1)) return 0;
    f[i] = (float *)(g->heap + (uint64_t)g->v[i]);
  }
  return 1;
}

/* attention(heap, out, lse, q, k, v, B, S, nH, nKV, hd, scale, window) */
static napi_value js_attention(napi_env env, napi_callback_info info) {
  Args g;
  Attn a;
  double q, kv, lse;
  if (!attention_args(env, info, 5, &g, &a, &q, &kv, &lse)) return NULL;
  const double bytes[5] = { q, lse, q, kv, kv }; /* out lse q k v */
  float *f[5];
  if (!attention_operands(&g, 5, bytes, f)) return fail(env, "ERR_NATIVE_KERNEL_BOUNDS", "attention: an operand lies outside the heap");
  if (a.B > 0 && !flash_forward(&a, f[0], f[1], f[2], f[3], f[4])) return fail(env, "ERR_NATIVE_KERNEL_MEMORY", "attention: out of memory for its panels");
  return NULL;
}

/* attentionBackward(heap, dq, dk, dv, dOut, out, q, k, v, lse, B, S, nH, nKV, hd, scale, window) */
static napi_value js_attention_backward(napi_env env, napi_callback_info info) {
  Args g;
  Attn a;
  double q, kv, lse;
  if (!attention_args(env, info, 9, &g, &a, &q, &kv, &lse)) return NULL;
  const double bytes[9] = { q, kv, kv, q, q, q, kv, kv, lse }; /* dq dk dv dOut out q k v lse */
  float *f[9];
  if (!attention_operands(&g, 9, bytes, f)) return fail(env, "ERR_NATIVE_KERNEL_BOUNDS", "attentionBackward: an operand lies outside the heap");
  if (a.B > 0 && !flash_backward(&a, f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8]))
    return fail(env, "ERR_NATIVE_KERNEL_MEMORY", "attentionBackward: out of memory for its panels");
  return NULL;
}

/* pagedAttention(heap, out, q, kCache, vCache, rows, nH, nKV, hd, blockSize, maxBlocks, scale, window, cacheFloats, tables, lengths) */
static napi_value js_paged_attention(napi_env env, napi_callback_info info) {
  Args g;
  napi_value tail[2];
  if (!read_args_tail(env, info, 13, 2, &g, tail)) return NULL;
  const double *v = g.v;
  for (int i = 4; i <= 9; i++) if (!size_arg(v[i])) return fail(env, "ERR_NATIVE_KERNEL_SHAPE", "pagedAttention: rows, nH, nKV, hd, blockSize and maxBlocks must be sizes");
  if (!size_arg(v[11]) || !size_arg(v[12])) return fail(env, "ERR_NATIVE_KERNEL_SHAPE", "pagedAttention: the window and the cache's size must be whole numbers ≥ 0");
  Paged a = { .rows = v[4], .nH = v[5], .nKV = v[6], .hd = v[7], .blockSize = v[8], .maxBlocks = v[9], .window = v[11], .scale = (float)v[10], .cacheFloats = (long)v[12] };
  if (a.nKV < 1 || a.hd < 1 || a.blockSize < 1 || a.nH % a.nKV != 0) return fail(env, "ERR_NATIVE_KERNEL_SHAPE", "pagedAttention: nKV, hd and blockSize must be ≥ 1, nH a multiple of nKV");
  if (!isfinite(v[10])) return fail(env, "ERR_NATIVE_KERNEL_SHAPE", "pagedAttention: the scale must be finite");
  void *tablesData, *lengthsData;
  size_t tablesLength, lengthsLength;
  if (!typed_arg(env, tail[0], napi_int32_array, &tablesData, &tablesLength) || !typed_arg(env, tail[1], napi_int32_array, &lengthsData, &lengthsLength))
    return fail(env, "ERR_NATIVE_KERNEL_ARGS", "pagedAttention: the block tables and lengths must be Int32Arrays");
  const int32_t *tables = tablesData, *lengths = lengthsData;
  if (tablesLength < (size_t)a.rows * a.maxBlocks || lengthsLength < (size_t)a.rows)
    return fail(env, "ERR_NATIVE_KERNEL_SHAPE", "pagedAttention: fewer block tables or lengths than rows");
  const double qBytes = 4.0 * a.rows * a.nH * a.hd, cacheBytes = 4.0 * a.cacheFloats;
  if (!in_heap(&g, v[0], qBytes, 1) || !in_heap(&g, v[1], qBytes, 1) || !in_heap(&g, v[2], cacheBytes, 1) || !in_heap(&g, v[3], cacheBytes, 1))
    return fail(env, "ERR_NATIVE_KERNEL_BOUNDS", "pagedAttention: an operand lies outside the heap");
  const char *bad = paged_check(&a, tables, lengths);
  if (bad) return fail(env, "ERR_NATIVE_KERNEL_BOUNDS", bad);
  float *f[4];
  for (int i = 0; i < 4; i++) f[i] = (float *)(g.heap + (uint64_t)v[i]);
  if (!paged_attention(&a, f[0], f[1], f[2], f[3], tables, lengths)) return fail(env, "ERR_NATIVE_KERNEL_MEMORY", "pagedAttention: out of memory for its scores");
  return NULL;
}

/* the first `count` offset arguments each name `bytes` inside the heap, 4-byte aligned */
static int operands_in_heap(const Args *g, int count, double bytes) {
  for (int i = 0; i < count; i++) if (!in_heap(g, g->v[i], bytes, 1)) return 0;
  return 1;
}

/* gated(heap, out, gate, up, n, k, c) */
static napi_value js_gated(napi_env env, napi_callback_info info) {
  Args g;
  if (!read_args(env, info, 6, &g)) return NULL;
  double *v = g.v;
  if (!size_arg(v[3])) return fail(env, "ERR_NATIVE_KERNEL_SHAPE", "gated: n must be a size");
  if (!operands_in_heap(&g, 3, 4.0 * v[3])) return fail(env, "ERR_NATIVE_KERNEL_BOUNDS", "gated: an operand lies outside the heap");
  gated_forward((float *)(g.heap + (uint64_t)v[0]), (const float *)(g.heap + (uint64_t)v[1]), (const float *)(g.heap + (uint64_t)v[2]),
                (long)v[3], (float)v[4], (float)v[5]);
  return NULL;
}

/* gatedBackward(heap, dGate, dUp, dOut, gate, up, n, k, c) */
static napi_value js_gated_backward(napi_env env, napi_callback_info info) {
  Args g;
  if (!read_args(env, info, 8, &g)) return NULL;
  double *v = g.v;
  if (!size_arg(v[5])) return fail(env, "ERR_NATIVE_KERNEL_SHAPE", "gatedBackward: n must be a size");
  if (!operands_in_heap(&g, 5, 4.0 * v[5])) return fail(env, "ERR_NATIVE_KERNEL_BOUNDS", "gatedBackward: an operand lies outside the heap");
  gated_backward((float *)(g.heap + (uint64_t)v[0]), (float *)(g.heap + (uint64_t)v[1]), (const float *)(g.heap + (uint64_t)v[2]),
                 (const float *)(g.heap + (uint64_t)v[3]), (const float *)(g.heap + (uint64_t)v[4]), (long)v[5], (float)v[6], (float)v[7]);
  return NULL;
}

static napi_value js_features(napi_env env, napi_callback_info info) {
  (void)info;
  char text[256];
  snprintf(text, sizeof text, "%s%s%s", OL_AVX2 ? "avx2 fma f16c" : "portable", blas_enabled ? ", GEMM by " : "", blas_enabled ? blas_config : "");
  napi_value s;
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &s);
  return s;
}

/* useBlas(enabled): products of many rows through OpenBLAS (where loaded) or the kernels' own GEMM; returns whether BLAS is used */
static napi_value js_use_blas(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  bool on = false;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc != 1 || napi_get_value_bool(env, argv[0], &on) != napi_ok) return fail(env, "ERR_NATIVE_KERNEL_ARGS", "useBlas: a boolean");
  blas_enabled = on && blas_sgemm != NULL;
  napi_get_boolean(env, blas_enabled, &result);
  return result;
}

NAPI_MODULE_INIT() {
#if OL_AVX2
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
    napi_throw_error(env, "ERR_NATIVE_KERNEL_CPU", "these kernels were built for a CPU with AVX2 and FMA; this one lacks them (rebuild: npm run build:kernels)");
    return NULL;
  }
#endif
  const char *blas = getenv("OPENLEDGER_BLAS");
  if (!blas || strcmp(blas, "off") != 0) pthread_once(&blas_once, blas_load);
  if (napi_add_env_cleanup_hook(env, scratch_release, NULL) != napi_ok) {
    napi_throw_error(env, "ERR_NATIVE_KERNEL_ARGS", "native kernels: could not register the scratch's cleanup");
    return NULL;
  }
  napi_property_descriptor props[] = {
    { "gemm", NULL, js_gemm, NULL, NULL, NULL, napi_default, NULL },
    { "decodeQuant", NULL, js_decode_quant, NULL, NULL, NULL, napi_default, NULL },
    { "loraRows", NULL, js_lora_rows, NULL, NULL, NULL, napi_default, NULL },
    { "loraPrefetch", NULL, js_lora_prefetch, NULL, NULL, NULL, napi_default, NULL },
    { "gated", NULL, js_gated, NULL, NULL, NULL, napi_default, NULL },
    { "gatedBackward", NULL, js_gated_backward, NULL, NULL, NULL, napi_default, NULL },
    { "attention", NULL, js_attention, NULL, NULL, NULL, napi_default, NULL },
    { "attentionBackward", NULL, js_attention_backward, NULL, NULL, NULL, napi_default, NULL },
    { "pagedAttention", NULL, js_paged_attention, NULL, NULL, NULL, napi_default, NULL },
    { "useBlas", NULL, js_use_blas, NULL, NULL, NULL, napi_default, NULL },
    { "features", NULL, js_features, NULL, NULL, NULL, napi_default, NULL },
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}
