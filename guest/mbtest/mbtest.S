/* The platform's boot test kernel: Multiboot v1, checks the loader's hand-off (EAX magic, the
 * info structure's flags and memory size, the command line), prints over COM1 and 0xE9, writes a
 * POST code and leaves through the exit port with 0x10 (status 0x21) or 0x11 on a bad hand-off. */
  .set MAGIC, 0x1badb002
  .set FLAGS, 0x00000003
  .section .text
  .globl _start
  .align 4
  .long MAGIC, FLAGS, -(MAGIC + FLAGS)
_start:
  mov $0x90000, %esp
  cmp $0x2badb002, %eax
  jne bad
  testl $1, (%ebx)              /* mem_lower/mem_upper present */
  jz bad
  mov $msg, %esi
  call puts
  mov 16(%ebx), %esi            /* the command line */
  call puts
  mov $nl, %esi
  call puts
  mov $0x42, %al
  out %al, $0x80
  mov $0x10, %al
  out %al, $0xf4
  hlt
bad:
  mov $0x11, %al
  out %al, $0xf4
  hlt
puts:                           /* each byte to COM1 (waiting for THRE) and to 0xE9 */
  lodsb
  test %al, %al
  jz 2f
  mov %al, %ah
  mov $0x3fd, %dx
1:in %dx, %al
  test $0x20, %al
  jz 1b
  mov $0x3f8, %dx
  mov %ah, %al
  out %al, %dx
  out %al, $0xe9
  jmp puts
2:ret
  .section .rodata
msg: .asciz "mbtest: hello from a Multiboot kernel, cmdline="
nl: .asciz "\n"
