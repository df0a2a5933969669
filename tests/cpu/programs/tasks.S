/*
 * Task switches and virtual-8086 mode (tests/cpu/tasks.test.ts, vm86.test.ts), linked at 0x20000
 * and entered through the kernel (TEST_ENTRY) with the tables of tests/cpu/task-machine.ts: more
 * GDT entries (TSSs, a task gate, an LDT), TSS contents and IDT entries, written by the test.
 * Observations go to REC (one dword each, the offsets below); the VM86 monitor logs to VLOG.
 */
  .include "layout.inc"
  .set TASKS, 0x20000
  .set VBASE, 0x22000              /* VM86 code: CS = 0x2200 */
  .set SEL_TSS_B, 0x58
  .set SEL_TASKGATE_B, 0x60
  .set SEL_TSS_C16, 0x68
  .set SEL_TSS_DF, 0x70
  .set SEL_TSS_BADLIMIT, 0x78
  .set SEL_TSS_NP, 0x80
  .set SEL_TSS_V86, 0x88
  .set SEL_TSS_E, 0xa0
  .set TSS_B, 0x30000
  .set TSS_C16, 0x30100
  .set TSS_DF, 0x30200
  .set PD, 0x40000
  .set VLOGPTR, 0x0f30
  .set VRESUME, 0x0f34
  .set VFRAME, 0x0f40
  .code32
  .text
  .globl _start
_start:

/* ---- JMP to a TSS and back ------------------------------------------------------------------ */
t_jmp:
  mov $0x1234, %eax
  mov $0x5678, %ebp
  ljmp $SEL_TSS_B, $0
t_jmp_back:                          /* the first task again, its registers from its TSS */
  mov %eax, REC + 0x40
  mov %ebp, REC + 0x44
  xor %eax, %eax
  str %ax
  mov %eax, REC + 0x48
  hlt
t_jmp_end:

b_jmp:                               /* task B: DS is a data segment of its LDT */
  xor %eax, %eax
  str %ax
  mov %eax, REC + 0
  sldt %ax
  mov %eax, REC + 4
  pushf
  popl REC + 8                       /* NT = 0 after a JMP */
  mov %cr0, %eax
  mov %eax, REC + 12                 /* CR0.TS = 1 */
  mov %ebx, REC + 16                 /* EBX from TSS B */
  mov %ds, %eax
  mov %eax, REC + 20
b_jmp_out:
  ljmp $SEL_TSS, $0                  /* back: the first task is not busy after a JMP */

/* ---- CALL to a TSS and through a task gate, IRET back ---------------------------------------- */
t_call:
  mov $0x1111, %esi
  lcall $SEL_TSS_B, $0
t_call_back:
  pushf
  popl REC + 0x40
  mov %esi, REC + 0x44
  movzbl GDT + SEL_TSS + 5, %eax
  mov %eax, REC + 0x48
  movzbl GDT + SEL_TSS_B + 5, %eax
  mov %eax, REC + 0x4c
  lcall $SEL_TASKGATE_B, $0          /* again, through the task gate: B resumes after its IRET */
t_call_back2:
  hlt

b_loop:                              /* a task handler: record, IRET to the caller, loop */
  pushf
  popl REC + 0
  movzwl TSS_B, %eax
  mov %eax, REC + 4                  /* the previous-task link */
  movzbl GDT + SEL_TSS + 5, %eax
  mov %eax, REC + 8
  movzbl GDT + SEL_TSS_B + 5, %eax
  mov %eax, REC + 12
  incl REC + 16
  mov TSS + 0x20, %eax
  mov %eax, REC + 20                 /* the caller's EIP as saved in its TSS */
b_iret:
  iret
  jmp b_loop

/* ---- INT n and a hardware interrupt through IDT task gates ---------------------------------- */
t_int:
  int $0x31
t_int_back:
  mov REC + 16, %eax
  mov %eax, REC + 0x40
  sti
1:cmpl $2, REC + 16                  /* wait for the interrupt (its handler is task B too) */
  jne 1b
  cli
  pushf
  popl REC + 0x44
  hlt

/* ---- #GP through a task gate: the error code on the new task's stack ------------------------- */
t_gp:
  mov $0x1f8, %ax
t_gp_at:
  mov %ax, %ds                       /* beyond the GDT limit: #GP(0x1f8) */
  hlt

b_gp:
  mov %esp, REC + 4
  pop %eax
  mov %eax, REC + 0                  /* the error code */
  movzwl TSS_B, %eax
  mov %eax, REC + 8
  mov TSS + 0x20, %eax
  mov %eax, REC + 12                 /* the faulting task's saved EIP: the MOV */
  pushf
  popl REC + 16
  hlt

/* ---- #DF through a task gate while the faulting task's stack is unusable --------------------- */
t_df:
  mov $PD, %eax
  mov %eax, %cr3
  mov %cr0, %eax
  or $0x80000000, %eax
  mov %eax, %cr0
  mov $0x60000, %esp                 /* the page below (0x5f000) is not present */
t_df_at:
  push %eax                          /* #PF; delivering it pushes on the same stack: #PF: #DF */
  hlt

b_df:
  mov %esp, REC + 4
  pop %eax
  mov %eax, REC + 0                  /* error code 0 */
  mov %cr2, %eax
  mov %eax, REC + 8
  movzwl TSS_DF, %eax
  mov %eax, REC + 12
  mov TSS + 0x20, %eax
  mov %eax, REC + 16
  mov TSS + 0x38, %eax
  mov %eax, REC + 20                 /* the faulting task's saved ESP */
  pushf
  popl REC + 24
  mov %cr3, %eax
  mov %eax, REC + 28
  incl REC + 32
  hlt

/* ---- the old TSS on a page that is not present: #PF before anything changes ---------------- */
t_tsspf:
  mov $PD, %eax
  mov %eax, %cr3
  mov %cr0, %eax
  or $0x80000000, %eax
  mov %eax, %cr0
t_tsspf_at:
  ljmp $SEL_TSS_B, $0
  hlt

/* ---- the faults of a task switch (logged by the kernel, RESUME after each) ------------------- */
t_faults:
  movl $1f, RESUME
t_badlimit:
  ljmp $SEL_TSS_BADLIMIT, $0         /* limit < 0x67: #TS(selector) */
1:movl $1f, RESUME
t_np:
  ljmp $SEL_TSS_NP, $0               /* not present: #NP(selector) */
1:movl $1f, RESUME
t_busy:
  ljmp $SEL_TSS, $0                  /* the running task is busy: #GP(selector) */
1:movl $e_resumed, RESUME
t_to_e:
  ljmp $SEL_TSS_E, $0                /* task E's GS is not present: #NP(0x38) in task E */
  hlt
e_start:
  hlt                                /* not reached: the fault comes before E's first instruction */
e_resumed:                           /* in task E, after the kernel's handler */
  xor %eax, %eax
  str %ax
  mov %eax, REC + 0
  mov %gs, %eax
  mov %eax, REC + 4
  movl $1f, RESUME
  pushf
  orl $0x4000, (%esp)
  popf                               /* NT = 1; E's link names the first task, which is not busy */
t_iret_ts:
  iret                               /* #TS(link) */
1:hlt

/* ---- a fault after the commit point of a switch through an IDT task gate -------------------- */
t_int_e:
  movl $e_resumed2, RESUME
  int $0x31                          /* task gate to task E, whose GS is not present */
t_int_e_back:
  movl $1, REC + 0x40
  hlt

e_resumed2:                          /* in task E, after the kernel's #NP handler */
  xor %eax, %eax
  str %ax
  mov %eax, REC + 0
  pushf
  popl REC + 4
  iret                               /* NT = 1 from the INT: back to the first task */

/* ---- a 16-bit TSS: CALL and IRET back --------------------------------------------------------- */
t_call16:
  mov $0xabcd1234, %edx
  lcall $SEL_TSS_C16, $0
t_call16_back:
  mov %edx, REC + 0x40
  movzbl GDT + SEL_TSS_C16 + 5, %eax
  mov %eax, REC + 0x44
  hlt

c_entry:                             /* task C (16-bit TSS), 32-bit code at base TASKS */
  pushf
  popl REC + 0
  movzwl TSS_C16, %eax
  mov %eax, REC + 4
  mov %edx, REC + 8                  /* upper half kept, low half from the TSS */
  mov %fs, %eax
  mov %eax, REC + 12
  movzbl GDT + SEL_TSS_C16 + 5, %eax
  mov %eax, REC + 16
c_iret:
  iret

/* ---- virtual-8086 mode: the ring-0 monitor and the ways in ---------------------------------- */
v_enter:                             /* IRET with VM = 1 in the popped EFLAGS: the frame at VFRAME */
  pushl VFRAME + 32
  pushl VFRAME + 28
  pushl VFRAME + 24
  pushl VFRAME + 20
  pushl VFRAME + 16
  pushl VFRAME + 12
  pushl VFRAME + 8
  pushl VFRAME + 4
  pushl VFRAME + 0
  iret

v_task:
  ljmp $SEL_TSS_V86, $0              /* a TSS whose EFLAGS has VM = 1 */
  hlt

/* Entries of the monitor, one per vector; the CPU pushes an error code for #GP only. */
vm_gp:
  push $13
  jmp vmcommon
vm_ud:
  push $0
  push $6
  jmp vmcommon
vm_irq:
  push $0
  push $0x20
  jmp vmcommon
vm_int41:
  push $0
  push $0x41
  jmp vmcommon

/*
 * A VLOG record (64 bytes): +0 DS at entry, +4 vector, +8 error code, +12 EIP, +16 CS, +20 EFLAGS,
 * +24 ESP, +28 SS, +32 ES, +36 DS, +40 FS, +44 GS (the frame as pushed), +48 the handler's ESP.
 * Then IRET to *VRESUME (cleared) if set, IRET for vectors >= 0x20, else HLT.
 */
vmcommon:
  push %eax
  push %ebx
  mov %ds, %eax
  mov $SEL_DATA0, %bx
  mov %bx, %ds
  mov VLOGPTR, %ebx
  mov %eax, 0(%ebx)
  .irp i, 0,1,2,3,4,5,6,7,8,9,10
  mov 8+4*\i(%esp), %eax
  mov %eax, 4+4*\i(%ebx)
  .endr
  mov %esp, 48(%ebx)
  add $64, %ebx
  mov %ebx, VLOGPTR
  mov VRESUME, %eax
  test %eax, %eax
  jz 2f
  mov %eax, 16(%esp)
  movl $0, VRESUME
  jmp 3f
2:cmpl $0x20, 8(%esp)
  jb 4f
3:pop %ebx
  pop %eax
  add $8, %esp
  iret
4:hlt
  jmp 4b

/* ---- VM86 code (16-bit, CS = 0x2200) ----------------------------------------------------------- */
  .code16
  .org VBASE - TASKS
v_main:                              /* IOPL 3 */
  mov $0x3000, %ax
  mov %ax, %ds
  movw $0x1234, 0x10                 /* linear 0x30010 */
  mov %cs, 0x12
  mov %ss, 0x14
  mov %sp, 0x16
  pushfl
  popl 0x18                          /* EFLAGS as PUSHFD shows it in VM86: VM = 0 in the image */
  cli
  sti
  mov $0x42, %al
  out %al, $0x80                     /* allowed by the I/O bitmap */
  xor %bx, %bx
  mov %bx, %es
  movl $(1f - VBASE), %es:VRESUME
v_out_e9:
  out %al, $0xe9                     /* denied by the bitmap: #GP(0) although IOPL = 3 */
1:int $0x41                          /* IOPL 3: through the DPL-3 gate to the ring-0 monitor */
v_after_int41:
  movl $(1f - VBASE), %es:VRESUME
v_int42:
  int $0x42                          /* a gate to ring-3 code: #GP(its CS) */
1:mov $0x4800, %ax
  mov %ax, %fs
  mov $0x10, %bx
  movw $0x5a5a, %fs:(%bx)            /* linear 0x48010 */
  push %ds
  pop %es
  movw %es:0x10, %cx
  movw %cx, 0x1c
  pushw $0x0002                      /* a FLAGS image with IOPL 0 and IF 0 */
  push %cs
  pushw $(1f - v_main)               /* v_main is at VBASE: an IP */
  iret                               /* IOPL 3: the real-mode IRET; IOPL stays 3, IF = 0 */
1:
v_hlt:
  hlt                                /* #GP(0): the monitor halts */

v_sens:                              /* IOPL 0: the IOPL-sensitive instructions fault */
  xor %bx, %bx
  mov %bx, %es
  movl $(1f - VBASE), %es:VRESUME
v_cli:
  cli
1:movl $(1f - VBASE), %es:VRESUME
v_sti:
  sti
1:movl $(1f - VBASE), %es:VRESUME
v_pushf:
  pushf
1:movl $(1f - VBASE), %es:VRESUME
v_popf:
  popf
1:movl $(1f - VBASE), %es:VRESUME
v_int:
  int $0x41
1:movl $(1f - VBASE), %es:VRESUME
v_iret:
  iret
1:in $0x80, %al                      /* the bitmap allows it, whatever IOPL */
  mov %al, %es:REC
  movl $(1f - VBASE), %es:VRESUME
v_out_e9b:
  out %al, $0xe9
1:movl $(1f - VBASE), %es:VRESUME
v_int3:
  int3                               /* not IOPL-sensitive: the gate's DPL 0 < 3 decides */
1:movl $(1f - VBASE), %es:VRESUME
v_lar:
  lar %ax, %ax                       /* a protected-mode-only instruction: #UD */
1:
v_hlt2:
  hlt

v_tg:                                /* IOPL 3: INT n through a task gate and IRET back */
  int $0x43
v_tg_back:
  mov $0x3000, %ax
  mov %ax, %ds
  movw $0x7777, 0x30
v_tg_hlt:
  hlt

v_task_code:                         /* entered by a task switch with VM = 1 */
  mov %ds, %ax
  mov %ax, 0x20
  mov %sp, 0x22
  mov %ss, 0x24
v_task_hlt:
  hlt
