/*
 * The protected-mode test machine's kernel, at KERNEL. Loads GDTR/IDTR/TR (the tables are written
 * by tests/cpu/pm-machine.ts), reloads the segment registers, and jumps to *TEST_ENTRY.
 *
 * Every exception vector 0..47 and the software vectors 0x30..0x32 go to a stub that pushes a
 * dummy error code where the CPU pushes none, then the vector, then enters `common`, which appends
 * a LOG_ENTRY-byte record to the log at *LOGPTR:
 *   +0 vector  +4 error code  +8 EIP  +12 CS  +16 EFLAGS  +20 ESP (outer)  +24 SS (outer)
 *   +28 CR2  +32 ECX  +36 ESI  +40 EDI  +44 ESP of the handler
 * and then: if *FIXUP_ADDR != 0, stores *FIXUP_VAL there and IRETs to restart the instruction;
 * else if *RESUME != 0, IRETs to *RESUME (cleared); else for vectors >= 0x20 (interrupts and
 * software INT n) IRETs; else HLTs.
 */
  .include "layout.inc"
  .code32
  .text
  .globl _start
_start:
  lgdt GDTR
  lidt IDTR
  ljmp $SEL_CODE0, $1f
1:mov $SEL_DATA0, %ax
  mov %ax, %ds
  mov %ax, %es
  mov %ax, %fs
  mov %ax, %gs
  mov %ax, %ss
  mov $SEL_TSS, %ax
  ltr %ax
  jmp *TEST_ENTRY

common:
  push %eax
  push %ebx
  mov LOGPTR, %ebx
  mov 8(%esp), %eax
  mov %eax, 0(%ebx)
  mov 12(%esp), %eax
  mov %eax, 4(%ebx)
  mov 16(%esp), %eax
  mov %eax, 8(%ebx)
  mov 20(%esp), %eax
  mov %eax, 12(%ebx)
  mov 24(%esp), %eax
  mov %eax, 16(%ebx)
  mov 28(%esp), %eax
  mov %eax, 20(%ebx)
  mov 32(%esp), %eax
  mov %eax, 24(%ebx)
  mov %cr2, %eax
  mov %eax, 28(%ebx)
  mov %ecx, 32(%ebx)
  mov %esi, 36(%ebx)
  mov %edi, 40(%ebx)
  mov %esp, 44(%ebx)
  add $LOG_ENTRY, %ebx
  mov %ebx, LOGPTR
  mov FIXUP_ADDR, %eax
  test %eax, %eax
  jz 2f
  mov FIXUP_VAL, %ebx
  mov %ebx, (%eax)
  movl $0, FIXUP_ADDR
  jmp 4f
2:mov RESUME, %eax
  test %eax, %eax
  jz 3f
  mov %eax, 16(%esp)
  movl $0, RESUME
  jmp 4f
3:cmpl $0x20, 8(%esp)
  jb 5f
4:pop %ebx
  pop %eax
  add $8, %esp
  iret
5:hlt
  jmp 5b

  /* The ring-0 end of the DPL-3 call gate: logs pseudo-vector 0x100 with CS as the error code. */
  .org CALLGATE_TARGET - KERNEL
  push %eax
  push %ebx
  mov LOGPTR, %ebx
  movl $0x100, 0(%ebx)
  mov %cs, %eax
  mov %eax, 4(%ebx)
  mov 8(%esp), %eax
  mov %eax, 8(%ebx)
  mov 12(%esp), %eax
  mov %eax, 12(%ebx)
  mov 16(%esp), %eax
  mov %eax, 20(%ebx)
  mov 20(%esp), %eax
  mov %eax, 24(%ebx)
  mov %esp, 44(%ebx)
  add $LOG_ENTRY, %ebx
  mov %ebx, LOGPTR
  pop %ebx
  pop %eax
  lret

  /* #TS (and #SS, at SS_HANDLER) through a conforming code segment: runs at the interrupted
     CPL on its stack. Logs the vector and error code, repairs TSS.SS0, and resumes at *RESUME. */
  .org TS_HANDLER - KERNEL
  push $10
  jmp 1f
  .org SS_HANDLER - KERNEL
  push $12
1:push %eax
  push %ebx
  mov %ss:LOGPTR, %ebx
  mov 8(%esp), %eax
  mov %eax, %ss:0(%ebx)
  mov 12(%esp), %eax
  mov %eax, %ss:4(%ebx)
  mov 16(%esp), %eax
  mov %eax, %ss:8(%ebx)
  mov 20(%esp), %eax
  mov %eax, %ss:12(%ebx)
  add $LOG_ENTRY, %ebx
  mov %ebx, %ss:LOGPTR
  movl $SEL_DATA0, %ss:TSS + 8
  mov %ss:RESUME, %eax
  mov %eax, 16(%esp)
  pop %ebx
  pop %eax
  add $8, %esp
  iret

  .org STUBS - KERNEL
  .irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50
  .balign 16
  .if (\v == 8) || (\v == 10) || (\v == 11) || (\v == 12) || (\v == 13) || (\v == 14) || (\v == 17)
  nop
  nop
  .else
  push $0
  .endif
  push $\v
  jmp common
  .endr
