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

  .bss
  .align 16
  .space 65536
stack_top:
  .section .note.GNU-stack,"",@progbits
