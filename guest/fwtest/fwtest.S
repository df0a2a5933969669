/* A 64 KiB firmware test image: starts at the reset vector F000:FFF0 in real mode, writes POST
 * 0x12, loads a GDT, enters 32-bit protected mode, writes POST 0x34 and leaves through the exit
 * port with 0x15 (status 0x2b). */
  .code16
  .section .text
  .globl _start
_start:
  cli
  mov $0x12, %al
  out %al, $0x80
  mov %cs, %ax
  mov %ax, %ds
  lgdtl gdtr
  mov %cr0, %eax
  or $1, %eax
  mov %eax, %cr0
  ljmpl $0x08, $(0xf0000 + pm)
  .code32
pm:
  mov $0x10, %ax
  mov %ax, %ds
  mov %ax, %ss
  mov $0x34, %al
  out %al, $0x80
  mov $0x15, %al
  out %al, $0xf4
  hlt
  .align 8
gdt:
  .quad 0
  .quad 0x00cf9a000000ffff
  .quad 0x00cf92000000ffff
gdtr:
  .word 23
  .long 0xf0000 + gdt
  .code16
  .org 0xfff0
reset:
  ljmp $0xf000, $_start
  .org 0x10000
