/*
 * The host's x87 as oracle (x86-64, built by tools/oracle/x87/generate.ts with the system gcc).
 * Reads fixed 40-byte records on stdin: op (u16), control word (u16), A (80-bit), B (80-bit),
 * M (10 bytes of memory operand), 6 bytes of padding. For each: FNINIT, FLDCW, FLD B, FLD A
 * (so ST0 = A, ST1 = B), the operation, then FNSAVE (non-waiting, so unmasked exceptions are
 * recorded as the FPU left them, ES/B included). Writes 48-byte records: status word, tag word
 * (both from the FNSAVE image), ST0..ST2 (80-bit each), the memory operand after the operation
 * (pre-filled with 0xCC), EFLAGS after the operation (FCOMI family).
 * Build with -mno-red-zone: PUSHFQ inside the asm writes below RSP.
 */
#include <stdint.h>
#include <string.h>
#include <unistd.h>

enum {
  OP_FADD, OP_FSUB, OP_FSUBR, OP_FMUL, OP_FDIV, OP_FDIVR, OP_FSQRT, OP_FPREM, OP_FPREM1,
  OP_FSCALE, OP_FXTRACT, OP_FRNDINT, OP_FCOM, OP_FUCOM, OP_FCOMI, OP_FUCOMI, OP_FTST, OP_FXAM,
  OP_FLD32, OP_FLD64, OP_FST32, OP_FST64, OP_FILD16, OP_FILD32, OP_FILD64, OP_FIST16,
  OP_FIST32, OP_FIST64, OP_FBLD, OP_FBSTP, OP_FLD1, OP_FLDL2T, OP_FLDL2E, OP_FLDPI,
  OP_FLDLG2, OP_FLDLN2, OP_FLDZ, OP_FSIN, OP_FCOS, OP_FSINCOS, OP_FPTAN, OP_FPATAN,
  OP_F2XM1, OP_FYL2X, OP_FYL2XP1, OP_FADD32, OP_FADD64, OP_FCHS, OP_FABS, OP_FST80,
  OP_FIADD32, OP_FIMUL16, OP_FDIV32, OP_FSUBR64, OP_FCOM32, OP_FCOMP64, OP_FICOM32, OP_FUCOMPP,
  OP_FADD_ST2, OP_FADDP_ST2, OP_FLD_FULL, OP_FPTAN_FULL, OP_FSINCOS_FULL, OP_FXTRACT_FULL,
  OP_FST32_EMPTY, OP_FXCH_ST3, OP_FCOM_ST3, OP_FCOMI_ST3, OP_FIST32_EMPTY,
  OP_COUNT
};

struct in { uint16_t op, cw; uint8_t a[10], b[10], m[10], pad[6]; };
struct out { uint16_t sw, tw; uint8_t st[3][10]; uint8_t m[10]; uint32_t eflags; };

#define FILL "fld1\n\tfld1\n\tfld1\n\tfld1\n\tfld1\n\tfld1\n\t"
#define RUN(body)                                                                       \
  __asm__ volatile("fninit\n\tfldcw %[cw]\n\tfldt %[b]\n\tfldt %[a]\n\t" body           \
                   "\n\tfnsave %[sv]\n\t"                                               \
                   : [sv] "=m"(sv), [m] "+m"(m), [fl] "=r"(fl)                          \
                   : [cw] "m"(in.cw), [a] "m"(in.a), [b] "m"(in.b)                      \
                   : "memory", "cc");                                                   \
  break

int main(void) {
  struct in in;
  for (;;) {
    ssize_t got = 0;
    while (got < (ssize_t)sizeof in) {
      ssize_t n = read(0, (char *)&in + got, sizeof in - got);
      if (n <= 0) return got == 0 ? 0 : 1;
      got += n;
    }
    uint8_t sv[108];
    uint8_t m[10];
    uint64_t fl = 0;
    memcpy(m, in.m, 10);
    switch (in.op) {
      case OP_FADD: RUN("fadd %%st(1), %%st");
      case OP_FSUB: RUN("fsub %%st(1), %%st");
      case OP_FSUBR: RUN("fsubr %%st(1), %%st");
      case OP_FMUL: RUN("fmul %%st(1), %%st");
      case OP_FDIV: RUN("fdiv %%st(1), %%st");
      case OP_FDIVR: RUN("fdivr %%st(1), %%st");
      case OP_FSQRT: RUN("fsqrt");
      case OP_FPREM: RUN("fprem");
      case OP_FPREM1: RUN("fprem1");
      case OP_FSCALE: RUN("fscale");
      case OP_FXTRACT: RUN("fxtract");
      case OP_FRNDINT: RUN("frndint");
      case OP_FCOM: RUN("fcom %%st(1)");
      case OP_FUCOM: RUN("fucom %%st(1)");
      case OP_FCOMI: RUN("fcomi %%st(1), %%st\n\tpushfq\n\tpopq %[fl]");
      case OP_FUCOMI: RUN("fucomi %%st(1), %%st\n\tpushfq\n\tpopq %[fl]");
      case OP_FTST: RUN("ftst");
      case OP_FXAM: RUN("fxam");
      case OP_FLD32: RUN("flds %[m]");
      case OP_FLD64: RUN("fldl %[m]");
      case OP_FST32: memset(m, 0xcc, 10); RUN("fstps %[m]");
      case OP_FST64: memset(m, 0xcc, 10); RUN("fstpl %[m]");
      case OP_FILD16: RUN("filds %[m]");
      case OP_FILD32: RUN("fildl %[m]");
      case OP_FILD64: RUN("fildll %[m]");
      case OP_FIST16: memset(m, 0xcc, 10); RUN("fistps %[m]");
      case OP_FIST32: memset(m, 0xcc, 10); RUN("fistpl %[m]");
      case OP_FIST64: memset(m, 0xcc, 10); RUN("fistpll %[m]");
      case OP_FBLD: RUN("fbld %[m]");
      case OP_FBSTP: memset(m, 0xcc, 10); RUN("fbstp %[m]");
      case OP_FLD1: RUN("fld1");
      case OP_FLDL2T: RUN("fldl2t");
      case OP_FLDL2E: RUN("fldl2e");
      case OP_FLDPI: RUN("fldpi");
      case OP_FLDLG2: RUN("fldlg2");
      case OP_FLDLN2: RUN("fldln2");
      case OP_FLDZ: RUN("fldz");
      case OP_FSIN: RUN("fsin");
      case OP_FCOS: RUN("fcos");
      case OP_FSINCOS: RUN("fsincos");
      case OP_FPTAN: RUN("fptan");
      case OP_FPATAN: RUN("fpatan");
      case OP_F2XM1: RUN("f2xm1");
      case OP_FYL2X: RUN("fyl2x");
      case OP_FYL2XP1: RUN("fyl2xp1");
      case OP_FADD32: RUN("fadds %[m]");
      case OP_FADD64: RUN("faddl %[m]");
      case OP_FCHS: RUN("fchs");
      case OP_FABS: RUN("fabs");
      case OP_FST80: memset(m, 0xcc, 10); RUN("fstpt %[m]");
      case OP_FIADD32: RUN("fiaddl %[m]");
      case OP_FIMUL16: RUN("fimuls %[m]");
      case OP_FDIV32: RUN("fdivs %[m]");
      case OP_FSUBR64: RUN("fsubrl %[m]");
      case OP_FCOM32: RUN("fcoms %[m]");
      case OP_FCOMP64: RUN("fcompl %[m]");
      case OP_FICOM32: RUN("ficoml %[m]");
      case OP_FUCOMPP: RUN("fucompp");
      /* Stack faults: ST2 and ST3 are empty; six FLD1 fill the stack to eight. */
      case OP_FADD_ST2: RUN("fadd %%st(2), %%st");
      case OP_FADDP_ST2: RUN("faddp %%st, %%st(2)");
      case OP_FLD_FULL: RUN(FILL "fldpi");
      case OP_FPTAN_FULL: RUN(FILL "fptan");
      case OP_FSINCOS_FULL: RUN(FILL "fsincos");
      case OP_FXTRACT_FULL: RUN(FILL "fxtract");
      case OP_FST32_EMPTY: memset(m, 0xcc, 10); RUN("fstp %%st(0)\n\tfstp %%st(0)\n\tfsts %[m]");
      case OP_FXCH_ST3: RUN("fxch %%st(3)");
      case OP_FCOM_ST3: RUN("fcom %%st(3)");
      case OP_FCOMI_ST3: RUN("fcomi %%st(3), %%st\n\tpushfq\n\tpopq %[fl]");
      case OP_FIST32_EMPTY: memset(m, 0xcc, 10); RUN("fstp %%st(0)\n\tfstp %%st(0)\n\tfistpl %[m]");
      default: return 2;
    }
    _Static_assert(sizeof(struct in) == 40, "in"); _Static_assert(sizeof(struct out) == 48, "out");
    struct out o;
    memset(&o, 0, sizeof o);
    memcpy(&o.sw, sv + 4, 2);
    memcpy(&o.tw, sv + 8, 2);
    for (int i = 0; i < 3; i++) memcpy(o.st[i], sv + 28 + 10 * i, 10);
    memcpy(o.m, m, 10);
    o.eflags = (uint32_t)fl;
    if (write(1, &o, sizeof o) != (ssize_t)sizeof o) return 3;
  }
}
