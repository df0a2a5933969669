/* A kernel that triple-faults on purpose, for the page's fault report: it prints a line on COM1,
 * loads an IDT with limit 0 and executes INT3. The breakpoint cannot be delivered (#GP), the #GP
 * cannot be delivered (#DF), the #DF cannot be delivered: the processor shuts down (SDM vol. 3,
 * 6.15, "Interrupt 8: double fault", shutdown on a fault during #DF delivery). */
  .set MAGIC, 0x1badb002
  .set FLAGS, 0x00000003
  .section .text
  .globl _start
  .align 4
  .long MAGIC, FLAGS, -(MAGIC + FLAGS)
_start:
  mov $0x90000, %esp
  mov $msg, %esi
1:lodsb
  test %al, %al
  jz 2f
  mov $0x3f8, %dx
  out %al, %dx
  jmp 1b
2:lidt idtr
  mov $0x1234, %eax
  int3
  hlt
  .section .data
msg:
  .asciz "triple: about to shut down\n"
  .align 8
idtr:
  .word 0
  .long 0
