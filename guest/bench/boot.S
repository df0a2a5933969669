/* Multiboot (v1) entry of the CPU benchmark kernel: a stack, then kernel_main; HLT forever after. */
  .set MB_MAGIC, 0x1BADB002
  .set MB_FLAGS, 0x00000003 /* page-aligned modules, memory info */
  .section .multiboot, "a"
  .align 4
  .long MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)

  .text
  .globl _start
_start:
  mov $stack_top, %esp
  push %ebx
  push %eax
  call kernel_main
1:hlt
  jmp 1b

/* The second task (kernel.c, switch_task): one piece of work per switch, then IRET back through the link. */
  .globl task_b_entry
task_b_entry:
  call task_work
  iret
  jmp task_b_entry

/*
 * The 16-bit code segment's entry (kernel.c, call_code16), entered by a 32-bit far call: the
 * argument lies above the return CS:EIP. work16.c is built with gcc -m16 (calll/retl).
 */
  .section .text16, "ax"
  .code16
  .globl code16_entry
code16_entry:
  movl 8(%esp), %eax
  pushl %eax
  calll work16_chunk
  addl $4, %esp
  lretl
  .code32

  .bss
  .align 16
  .space 65536
stack_top:
  .section .note.GNU-stack,"",@progbits
