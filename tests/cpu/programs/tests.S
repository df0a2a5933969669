/*
 * Protected-mode test routines, linked at 0x10000; each starts at a fixed offset and is entered
 * through the kernel (TEST_ENTRY). Results go to the exception log (see kernel.S) and to the
 * record area REC (one dword per observation, in order); tests/cpu/protected.test.ts and
 * paging.test.ts state what each must contain.
 */
  .include "layout.inc"
  .code32
  .text
  .globl _start
_start:

/* ---- 0x10000: ring transitions --------------------------------------------------------------- */
  .org 0x000
rings:
  pushl $SEL_DATA3
  pushl $RING3_STACK
  pushf
  pushl $SEL_CODE3
  pushl $ring3
  iret                              /* to ring 3; DS/ES/FS/GS (DPL 0) become null */
ring3:
  mov %ds, %eax
  mov %eax, %ss:REC + 0             /* REC+0: DS after IRET to ring 3 (0) */
  mov %cs, %eax
  mov %eax, %ss:REC + 4             /* REC+4: CS (0x1b) */
  mov $SEL_DATA3, %ax
  mov %ax, %ds
  mov %ax, %es
at_int30:
  int $0x30                         /* DPL-3 interrupt gate: ring 0 on TSS.ESP0, IRET back */
  mov %esp, REC + 8                 /* REC+8: ESP after the round trip (RING3_STACK) */
  lcall $SEL_CALLGATE3, $0          /* call gate to ring 0, LRET back */
after_lcall:
  mov %cs, %eax
  mov %eax, REC + 12                /* REC+12: CS after LRET (0x1b) */
  mov %esp, REC + 16                /* REC+16: ESP after LRET (RING3_STACK) */
  movl $1f, RESUME
at_int31:
  int $0x31                         /* DPL-0 gate from CPL 3: #GP(0x31*8+2) */
1:movl $2f, RESUME
  cli                               /* IOPL 0: #GP(0) */
2:movl $3f, RESUME
  mov $SEL_DATA0, %ax
  mov %ax, %fs                      /* DPL 0 data from CPL 3: #GP(0x10) */
3:movl $4f, RESUME
  movl $0, TSS + 8                  /* TSS.SS0 = null: the next stack switch fails */
at_int30_ts:
  int $0x30                         /* #TS(0) (delivered through a conforming segment) */
4:movl $6f, RESUME
  movl $SEL_NOTPRESENT, TSS + 8     /* TSS.SS0 = a not-present ring-0 data segment */
  movl $(SEL_CONFORMING << 16) | SS_HANDLER, IDT + 8 * 12   /* #SS through the conforming */
  movl $0x8e00, IDT + 8 * 12 + 4                             /* handler, as #TS above */
at_int30_ss:
  int $0x30                         /* #SS(SEL_NOTPRESENT), not #TS (SDM vol. 2, INT n) */
6:movl $5f, RESUME
  movl $(SEL_CODE0 << 16) | (STUBS + 16 * 12), IDT + 8 * 12  /* #SS's own gate back */
  mov %cr0, %eax                    /* CPL 3: #GP(0) */
5:mov %cs, %eax
  mov %eax, REC + 20                /* REC+20: still ring 3 */
  hlt                               /* #GP(0), RESUME = 0: the handler halts */

/* ---- 0x10400: segment-register loads in ring 0 ----------------------------------------------- */
  .org 0x400
segments:
  movl $1f, RESUME
  mov $SEL_NOTPRESENT, %ax
at_np:
  mov %ax, %ds                      /* #NP(0x38) */
1:movl $2f, RESUME
  mov $SEL_NOTPRESENT, %ax
  mov %ax, %ss                      /* #SS(0x38) */
2:movl $3f, RESUME
  mov $SEL_CODE0, %ax
  mov %ax, %ss                      /* #GP(0x08): a code segment in SS */
3:movl $4f, RESUME
  xor %eax, %eax
  mov %ax, %ss                      /* #GP(0): null SS */
4:movl $5f, RESUME
  mov $0x1f8, %ax
  mov %ax, %ds                      /* #GP(0x1f8): beyond the GDT limit */
5:movl $6f, RESUME
  mov $SEL_SMALL, %ax
  mov %ax, %es
  mov %es:0xffd, %eax               /* #GP(0): dword at 0xffd crosses the 4 KiB limit */
6:mov %es:0xffc, %eax               /* the last dword inside the limit: fine */
  mov %eax, REC + 0
  movl $7f, RESUME
  xor %eax, %eax
  mov %ax, %fs
  mov %fs:0, %eax                   /* #GP(0): access through a null selector */
7:movl $8f, RESUME
  mov $SEL_CODE0, %ax
  mov %ax, %es
  movl $1, %es:0x100                /* #GP(0): write to a code segment */
8:movl $9f, RESUME
  .byte 0x0f, 0x0b                  /* UD2: #UD, no error code */
9:movl $10f, RESUME
  xor %edx, %edx
  xor %eax, %eax
  xor %ecx, %ecx
  div %ecx                          /* #DE */
10:movl $11f, RESUME
  .byte 0xf0, 0x01, 0xc3            /* LOCK ADD %eax, %ebx: LOCK with a register destination, #UD */
11:movl $12f, RESUME
  .byte 0xf0, 0x90                  /* LOCK NOP: #UD */
12:
  movl $0xdead, REC + 4
  hlt

/* ---- 0x10800: paging ------------------------------------------------------------------------- */
  .set PD, 0x20000
  .set PT1, 0x22000
  .set LIN, 0x400000
  .org 0x800
paging:
  mov $PD, %eax
  mov %eax, %cr3
  mov %cr0, %eax
  or $0x80000000, %eax
  mov %eax, %cr0
  jmp 1f
1:mov LIN, %eax                     /* read through a clean PDE/PTE: both get A, neither D */
  mov PD + 4, %eax
  mov %eax, REC + 0
  mov PT1 + 0, %eax
  mov %eax, REC + 4
  movl $0x11111111, LIN             /* write through the cached clean entry: PTE.D set */
  mov PD + 4, %eax
  mov %eax, REC + 8
  mov PT1 + 0, %eax
  mov %eax, REC + 12
  mov LIN + 0x1000, %eax            /* read-only page, read: A only */
  mov PT1 + 4, %eax
  mov %eax, REC + 16
  movl $0x22222222, LIN + 0x1000    /* CR0.WP = 0: ring 0 writes a read-only page */
  mov PT1 + 4, %eax
  mov %eax, REC + 20
  mov %cr0, %eax
  or $0x10000, %eax                 /* CR0.WP = 1 */
  mov %eax, %cr0
  movl $2f, RESUME
at_wp_write:
  movl $0x33333333, LIN + 0x1000    /* #PF(3), CR2 = LIN + 0x1000 */
2:movl $3f, RESUME
  mov LIN + 0x2000, %eax            /* not present: #PF(0) */
3:movl $4f, RESUME
  movl $0, LIN + 0x2004             /* not present, write: #PF(2) */
4:mov %cr4, %eax                    /* 4 MiB page at 8 MiB (PDE[2], PS) */
  or $0x10, %eax
  mov %eax, %cr4
  movl $0x44444444, 0x800010
  mov PD + 8, %eax
  mov %eax, REC + 24                /* PDE[2]: A and D set */
  mov LIN + 0x4000, %eax            /* INVLPG: the old mapping … */
  mov %eax, REC + 28
  movl $0x105003 | 4, PT1 + 16
  invlpg LIN + 0x4000
  mov LIN + 0x4000, %eax            /* … and after INVLPG the new one */
  mov %eax, REC + 32
  movl $0x106003 | 4, PT1 + 16
  mov %cr3, %eax
  mov %eax, %cr3                    /* a CR3 reload flushes too */
  mov LIN + 0x4000, %eax
  mov %eax, REC + 36
  /* A REP MOVSB that faults on the second page and restarts exactly (the handler maps it). */
  movl $PT1 + 7 * 4, FIXUP_ADDR
  movl $0x109007, FIXUP_VAL
  mov $0x30000, %esi
  mov $LIN + 0x7000 - 8, %edi
  mov $16, %ecx
  cld
at_rep_movsb:
  rep movsb
  mov %ecx, REC + 40                /* 0 */
  mov %esi, REC + 44                /* 0x30010 */
  mov %edi, REC + 48                /* LIN + 0x7008 */
  /* Page-crossing accesses: a dword read across two present pages; a dword write whose second
     page is absent faults with CR2 on that page and leaves the first page untouched. */
  mov LIN + 0x5ffe, %eax
  mov %eax, REC + 56
  movl $1f, RESUME
at_cross_write:
  movl $0xddccbbaa, LIN + 0x8ffe
1:
  /* Ring 3: U/S and R/W through the page tables. */
  pushl $SEL_DATA3
  pushl $RING3_STACK
  pushf
  pushl $SEL_CODE3
  pushl $paging3
  iret
paging3:
  mov $SEL_DATA3, %ax
  mov %ax, %ds
  movl $1f, RESUME
  mov LIN + 0x3000, %eax            /* supervisor page, read: #PF(5) */
1:movl $2f, RESUME
  movl $0, LIN + 0x3000             /* supervisor page, write: #PF(7) */
2:movl $3f, RESUME
  movl $0, LIN + 0x1000             /* user read-only page, write: #PF(7) */
3:movl $4f, RESUME
  mov LIN + 0x2000, %eax            /* not present, from ring 3: #PF(4) */
4:mov LIN + 0x5000, %eax            /* a user page: fine */
  mov %eax, REC + 52
  hlt                               /* #GP(0): the end */

/* ---- 0x10c00: a triple fault ----------------------------------------------------------------- */
  .org 0xc00
triple:
  lidt empty_idt
  int3                              /* no IDT: #GP → #DF → shutdown */
  hlt
  .balign 8
empty_idt:
  .word 0
  .long 0

/* ---- 0x11000: LAR/LSL/VERR/VERW, expand-down limits, conforming code, the I/O bitmap --------- */
  .org 0x1000
selectors:
  mov $SEL_DATA3, %ecx
  lar %ecx, %eax
  setz REC + 0                      /* ZF = 1 */
  mov %eax, REC + 4                 /* access rights of the ring-3 data segment */
  mov $SEL_SMALL, %ecx
  lsl %ecx, %eax
  mov %eax, REC + 8                 /* 0xfff */
  mov $SEL_DATA0, %ecx
  lsl %ecx, %eax
  mov %eax, REC + 12                /* 0xffffffff (G = 1) */
  mov $0x1f8, %ecx
  movl $0x5a5a5a5a, %eax
  lar %ecx, %eax
  setz REC + 16                     /* ZF = 0: beyond the GDT limit */
  mov %eax, REC + 20                /* unchanged */
  mov $SEL_CODE0, %ecx
  verr %cx
  setz REC + 24                     /* readable code: 1 */
  verw %cx
  setz REC + 25                     /* code is never writable: 0 */
  mov $SEL_DATA0, %ecx
  verw %cx
  setz REC + 26                     /* 1 */
  mov $SEL_EXPAND_DOWN, %ax
  mov %ax, %es
  movl $1f, RESUME
at_expand_down:
  mov %es:0xffc, %eax               /* expand-down, limit 0xfff: offsets <= 0xfff are outside: #GP(0) */
1:mov %es:0x1000, %eax              /* the first valid offset */
  mov %eax, REC + 28
  pushl $SEL_DATA3
  pushl $RING3_STACK
  pushf
  pushl $SEL_CODE3
  pushl $selectors3
  iret
selectors3:
  mov $SEL_DATA3, %ax
  mov %ax, %ds
  lcall $SEL_CONFORMING | 3, $conforming   /* conforming DPL-0 code runs at CPL 3 */
  mov %eax, REC + 32                /* CS inside: 0x4b */
  mov $0x42, %al
  out %al, $0x80                    /* allowed by the TSS I/O bitmap */
  movl $2f, RESUME
at_out_e9:
  out %al, $0xe9                    /* beyond the bitmap: #GP(0) */
2:movl $3f, RESUME
  outw %ax, $0x80                   /* port 0x81 is denied: #GP(0) */
3:hlt                               /* #GP(0): the end */
conforming:
  mov %cs, %eax
  lret

/* ---- 0x11200: hardware interrupts: IF, the STI and MOV SS shadows, HLT wake-up --------------- */
  .org 0x1200
interrupts:
  nop
  nop
  mov LOGPTR, %eax
  mov %eax, REC + 0                 /* an interrupt is pending from the start, IF = 0: not taken */
at_sti:
  sti
  mov %eax, REC + 4                 /* in the STI shadow: runs before the interrupt */
at_after_sti_shadow:
  nop
  nop
  mov %ss, %bx
at_mov_ss:
  mov %bx, %ss
  mov %eax, REC + 8                 /* in the MOV SS shadow */
at_after_ss_shadow:
  nop
at_hlt:
  hlt                               /* IF = 1: an interrupt wakes it */
at_after_hlt:
  mov LOGPTR, %eax
  mov %eax, REC + 12
  cli
  hlt

