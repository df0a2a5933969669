/*
 * Integer work of the kind an OS kernel does, identical on guest and host so that the checksums
 * prove the emulated CPU computed what the real one does. Only 32-bit integer arithmetic (no
 * 64-bit division: a -nostdlib guest has no libgcc), string operations through REP instructions.
 */
#include "work.h"
#include "work16.h"

const char *const phase_names[PHASES] = {"checksum", "sort",   "string", "calls",  "division",
                                         "bits",     "paging", "prefix", "code16", "tasks"};

#define DATA_WORDS (256 * 1024)
#define SORT_WORDS (32 * 1024)
static uint32_t data[DATA_WORDS];
static uint32_t sortbuf[SORT_WORDS];
static uint8_t bytes_a[64 * 1024], bytes_b[64 * 1024];

static uint32_t rng_state;
static uint32_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 17;
  rng_state ^= rng_state << 5;
  return rng_state;
}

static void fill(void) {
  rng_state = 0x12345678;
  for (uint32_t i = 0; i < DATA_WORDS; i++) data[i] = rnd();
}

/* Adler-32 and a CRC-32 over the data, several passes. */
static uint32_t phase_checksum(void) {
  const uint8_t *p = (const uint8_t *)data;
  uint32_t a = 1, b = 0, crc = 0xffffffff;
  for (int pass = 0; pass < 2; pass++) {
    for (uint32_t i = 0; i < sizeof data; i++) {
      a = (a + p[i]) % 65521;
      b = (b + a) % 65521;
    }
    for (uint32_t i = 0; i < sizeof data / 4; i++) {
      crc ^= p[i];
      for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xedb88320 & -(crc & 1));
    }
  }
  return ((b << 16) | a) ^ crc;
}

typedef int (*cmp_fn)(uint32_t, uint32_t);
static int cmp_up(uint32_t x, uint32_t y) { return x < y ? -1 : x > y; }
static int cmp_down(uint32_t x, uint32_t y) { return x > y ? -1 : x < y; }

static void quicksort(uint32_t *v, int lo, int hi, cmp_fn cmp) {
  while (lo < hi) {
    uint32_t pivot = v[(lo + hi) >> 1];
    int i = lo, j = hi;
    while (i <= j) {
      while (cmp(v[i], pivot) < 0) i++;
      while (cmp(v[j], pivot) > 0) j--;
      if (i <= j) {
        uint32_t t = v[i];
        v[i] = v[j];
        v[j] = t;
        i++;
        j--;
      }
    }
    if (j - lo < hi - i) {
      quicksort(v, lo, j, cmp);
      lo = i;
    } else {
      quicksort(v, i, hi, cmp);
      hi = j;
    }
  }
}

static uint32_t phase_sort(void) {
  uint32_t sum = 0;
  cmp_fn fns[2] = {cmp_up, cmp_down};
  for (int round = 0; round < 4; round++) {
    for (int i = 0; i < SORT_WORDS; i++) sortbuf[i] = data[(i * 7 + round) % DATA_WORDS] ^ (uint32_t)round;
    quicksort(sortbuf, 0, SORT_WORDS - 1, fns[round & 1]);
    for (int i = 0; i < SORT_WORDS; i += 97) sum = sum * 31 + sortbuf[i];
  }
  return sum;
}

static inline void rep_movsb(void *d, const void *s, uint32_t n) {
  __asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
}
static inline void rep_movsd(void *d, const void *s, uint32_t n) {
  __asm__ volatile("rep movsl" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
}
static inline void rep_stosb(void *d, uint8_t v, uint32_t n) {
  __asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(v) : "memory");
}
/* Index of the first difference (n when equal), with REPE CMPSB. */
static inline uint32_t repe_cmpsb(const void *a, const void *b, uint32_t n) {
  uint32_t left = n;
  if (n == 0) return 0;
  __asm__ volatile("repe cmpsb" : "+D"(b), "+S"(a), "+c"(left) : : "memory", "cc");
  /* ECX counts down past the mismatching byte as well. */
  return n - left - 1 + (((const uint8_t *)a)[-1] == ((const uint8_t *)b)[-1]);
}
static inline uint32_t repne_scasb_len(const char *s, uint32_t max) {
  const char *p = s;
  uint32_t left = max;
  __asm__ volatile("repne scasb" : "+D"(p), "+c"(left) : "a"(0) : "memory", "cc");
  return (uint32_t)(p - s) - 1;
}

static uint32_t phase_string(void) {
  uint32_t sum = 0;
  const uint8_t *src = (const uint8_t *)data;
  for (int round = 0; round < 60; round++) {
    uint32_t off = (uint32_t)round * 1031 % 4096;
    rep_movsd(bytes_a, src + off * 4, sizeof bytes_a / 4);
    rep_movsb(bytes_b + 3, bytes_a + 1, sizeof bytes_a - 8);
    rep_stosb(bytes_b + (round * 37) % 1024, (uint8_t)round, 5000);
    sum += repe_cmpsb(bytes_a, bytes_a + 0, 4096);
    sum = sum * 3 + repe_cmpsb(bytes_a + 1, bytes_b + 3, sizeof bytes_a - 16);
    bytes_b[60000] = 0;
    bytes_b[(round * 997) % 50000] = 0;
    sum = sum * 5 + repne_scasb_len((const char *)bytes_b + 100, 60000);
    sum += bytes_b[(round * 13) % sizeof bytes_b];
  }
  return sum;
}

/* A tiny stack-machine interpreter: indirect calls through a table, and recursion. */
typedef uint32_t (*op_fn)(uint32_t, uint32_t);
static uint32_t op_add(uint32_t a, uint32_t b) { return a + b; }
static uint32_t op_sub(uint32_t a, uint32_t b) { return a - b; }
static uint32_t op_xor(uint32_t a, uint32_t b) { return a ^ b; }
static uint32_t op_mul(uint32_t a, uint32_t b) { return a * (b | 1); }
static uint32_t op_rol(uint32_t a, uint32_t b) { return (a << (b & 31)) | (a >> ((32 - (b & 31)) & 31)); }
static op_fn const ops[5] = {op_add, op_sub, op_xor, op_mul, op_rol};
static __attribute__((noinline)) uint32_t fib(uint32_t n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

static uint32_t phase_calls(void) {
  uint32_t acc = 1;
  for (uint32_t i = 0; i < 400000; i++) acc = ops[data[i & (DATA_WORDS - 1)] % 5](acc, data[(i * 3) & (DATA_WORDS - 1)]);
  return acc ^ fib(24);
}

static uint32_t phase_division(void) {
  uint32_t sum = 0;
  for (uint32_t i = 0; i < 300000; i++) {
    uint32_t x = data[i & (DATA_WORDS - 1)], d = (data[(i + 1) & (DATA_WORDS - 1)] >> (i & 15)) | 1;
    int32_t sx = (int32_t)x, sd = (int32_t)(d >> 1) | 1;
    sum += x / d + x % d;
    sum ^= (uint32_t)(sx / sd) + (uint32_t)(sx % sd);
  }
  return sum;
}

static uint32_t phase_bits(void) {
  uint32_t sum = 0;
  for (uint32_t i = 0; i < 300000; i++) {
    uint32_t x = data[i & (DATA_WORDS - 1)] | 1;
    uint32_t pop = x - ((x >> 1) & 0x55555555);
    pop = (pop & 0x33333333) + ((pop >> 2) & 0x33333333);
    pop = (((pop + (pop >> 4)) & 0x0f0f0f0f) * 0x01010101) >> 24;
    sum += pop + (uint32_t)__builtin_ctz(x) * 3 + (31 - (uint32_t)__builtin_clz(x)) * 5;
    sum ^= __builtin_bswap32(x) >> (i & 7);
    sum = (sum << 3) | (sum >> 29);
  }
  return sum;
}

/* Remap a window page over a 64-page arena, touching each mapping (the guest flushes with INVLPG). */
static uint32_t phase_paging(void) {
  uint32_t sum = 0;
  for (uint32_t i = 0; i < 20000; i++) {
    uint32_t page = (i * 7) & 63;
    uint8_t *w = map_window(page);
    uint32_t *p = (uint32_t *)w;
    p[(i * 5) & 1023] += i;
    sum += p[(i * 11) & 1023] + p[0];
  }
  return sum;
}

/*
 * What compilers emit beside plain 32-bit ALU code: 16-bit and byte operands (0x66 prefixes),
 * LOCK-prefixed read-modify-writes, 64-bit arithmetic as ADC/SBB and SHLD/SHRD pairs and widening
 * MUL, and short byte loops (a string copy and compare of a few bytes, as a kernel's name lookup does).
 */
static uint16_t hist16[4096];
static uint8_t hist8[256];
static uint32_t shared_counter;
static char names[16][12];

static __attribute__((noinline)) uint32_t short_strcmp(const char *a, const char *b) {
  while (*a && *a == *b) a++, b++;
  return (uint8_t)*a - (uint8_t)*b;
}
static __attribute__((noinline)) void short_strcpy(char *d, const char *s) {
  while ((*d++ = *s++) != 0) {
  }
}

static uint32_t phase_prefix(void) {
  uint64_t acc = 0x0123456789abcdefull;
  uint32_t sum = 0;
  for (int n = 0; n < 16; n++)
    for (int k = 0; k < 11; k++) names[n][k] = (char)(k == 10 ? 0 : 'a' + (n * 7 + k * 3) % 26);
  for (uint32_t i = 0; i < 200000; i++) {
    uint32_t x = data[i & (DATA_WORDS - 1)];
    uint16_t v = (uint16_t)x;
    hist16[(v ^ i) & 4095] += v;
    hist16[(x >> 20) & 4095] ^= (uint16_t)(v >> 3);
    hist8[(uint8_t)(x >> 8)] += (uint8_t)x;
    acc += (uint64_t)x * (i | 1);
    acc = (acc << 7) | (acc >> 57);
    acc -= (uint64_t)hist16[i & 4095] << 33;
    __atomic_fetch_add(&shared_counter, x & 0xff, __ATOMIC_SEQ_CST);
    if ((i & 31) == 0) {
      uint32_t old = shared_counter;
      __sync_val_compare_and_swap(&shared_counter, old, old ^ (uint32_t)acc);
    }
    if ((i & 15) == 0) {
      char tmp[12];
      short_strcpy(tmp, names[i & 15]);
      tmp[(i >> 4) % 10] = (char)('a' + (x & 15));
      sum += short_strcmp(tmp, names[(i >> 4) & 15]);
    }
  }
  for (int k = 0; k < 4096; k++) sum = sum * 31 + hist16[k];
  for (int k = 0; k < 256; k++) sum = sum * 7 + hist8[k];
  return sum ^ (uint32_t)acc ^ (uint32_t)(acc >> 32) ^ shared_counter;
}

/* Far calls into a 16-bit code segment, each running a chunk of 16-bit work (work16.c). */
static struct w16_state w16;
static uint32_t phase_code16(void) {
  w16.result = 1;
  for (uint32_t i = 0; i < 400; i++) {
    w16.seed = data[i] ^ i;
    call_code16(&w16);
  }
  return w16.result;
}

/* Hardware task switches: the other task does a short piece of work each time, as a scheduler's tick would. */
static uint32_t task_in, task_out;
void task_work(void) {
  uint32_t x = task_in;
  for (int k = 0; k < 8; k++) x = (x ^ data[(x + (uint32_t)k) & (DATA_WORDS - 1)]) * 0x9e3779b1u;
  task_out += x;
}
static uint32_t phase_tasks(void) {
  uint32_t sum = 0;
  task_out = 0;
  for (uint32_t i = 0; i < 20000; i++) {
    task_in = i;
    switch_task();
    sum = (sum << 1 | sum >> 31) ^ task_out;
  }
  return sum;
}

uint32_t run_phase(int i) {
  switch (i) {
  case 0:
    fill();
    return phase_checksum();
  case 1:
    return phase_sort();
  case 2:
    return phase_string();
  case 3:
    return phase_calls();
  case 4:
    return phase_division();
  case 5:
    return phase_bits();
  case 6:
    return phase_paging();
  case 7:
    return phase_prefix();
  case 8:
    return phase_code16();
  default:
    return phase_tasks();
  }
}
