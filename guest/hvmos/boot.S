/* Multiboot (v1) entry, the interrupt stubs and the common trap path of hvmos. Every vector goes
 * through trap_common: it builds a struct frame (kernel.c) on the current kernel stack, calls
 * trap(), and resumes whichever frame trap() returns, which is how tasks are switched. */
  .set MB_MAGIC, 0x1BADB002
  .set MB_FLAGS, 0x00000003 /* page-aligned modules, memory info */
  .section .multiboot, "a"
  .align 4
  .long MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)

  .text
  .globl _start
_start:
  cli
  cld
  mov $boot_stack_top, %esp
  push %ebx
  push %eax
  call kernel_main
1:cli
  hlt
  jmp 1b

/* Exceptions that push an error code (SDM vol. 3A, table 6-1): 8, 10-14, 17, 21, 29, 30. */
.macro stub n
  .globl vec\n
vec\n:
  .if (\n == 8) || ((\n >= 10) && (\n <= 14)) || (\n == 17) || (\n == 21) || (\n == 29) || (\n == 30)
  .else
  push $0
  .endif
  push $\n
  jmp trap_common
.endm

  .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
  stub \n
  .endr
  .irp n, 32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,128
  stub \n
  .endr

/* The timer when it interrupts the idle loop (ring 0: the only kernel code that runs with IF = 1)
 * and nothing is due: count the tick, EOI, and go back to HLT, a dozen instructions. Anything
 * else (a task to wake, exit= reached, a ring-3 task to preempt) takes the full path. */
  .globl timer_fast
timer_fast:
  testl $3, 4(%esp)            /* the interrupted CS's RPL */
  jnz vec32
  push %eax
  mov ticks, %eax
  inc %eax
  cmp next_wake, %eax
  jae 1f
  cmp exit_tick, %eax
  jae 1f
  mov %eax, ticks
  mov $0x20, %al
  out %al, $0x20
  pop %eax
  iret
1:pop %eax
  jmp vec32

trap_common:
  pusha
  push %ds
  push %es
  push %fs
  push %gs
  mov $0x10, %ax
  mov %ax, %ds
  mov %ax, %es
  mov %ax, %fs
  mov %ax, %gs
  push %esp
  call trap
  mov %eax, %esp
  .globl trap_return
trap_return:
  pop %gs
  pop %fs
  pop %es
  pop %ds
  popa
  add $8, %esp
  iret

/* The idle loop: ring 0, interrupts on, HLT until the next interrupt (which may switch away). */
  .globl idle_loop
idle_loop:
  sti
  hlt
  jmp idle_loop

  .globl vec_table
  .section .rodata
  .align 4
vec_table:
  .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
  .long vec\n
  .endr
  .irp n, 32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,128
  .long vec\n
  .endr

  .bss
  .align 16
  .space 16384
  .globl boot_stack_top
boot_stack_top:
  .section .note.GNU-stack,"",@progbits
