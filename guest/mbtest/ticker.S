/* An idle guest for the platform tests: IDT with an IRQ 0 handler, PIC remapped to 0x20/0x28,
 * PIT channel 0 at 100 Hz (mode 2), then STI; HLT in a loop. After 100 ticks it prints
 * "ticker: 100 ticks" on COM1 and leaves through the exit port with 0x12 (status 0x25). */
  .set MAGIC, 0x1badb002
  .set FLAGS, 0x00000003
  .section .text
  .globl _start
  .align 4
  .long MAGIC, FLAGS, -(MAGIC + FLAGS)
_start:
  mov $0x90000, %esp
  lgdt gdtr
  ljmp $0x08, $1f
1:mov $0x10, %ax
  mov %ax, %ds
  mov %ax, %es
  mov %ax, %ss
  /* IDT entry 0x20: 32-bit interrupt gate to tick */
  mov $tick, %eax
  mov %ax, idt + 0x20 * 8
  movw $0x08, idt + 0x20 * 8 + 2
  movw $0x8e00, idt + 0x20 * 8 + 4
  shr $16, %eax
  mov %ax, idt + 0x20 * 8 + 6
  lidt idtr
  /* PIC: ICW1-4, then mask everything but IRQ 0 */
  mov $0x11, %al
  out %al, $0x20
  out %al, $0xa0
  mov $0x20, %al
  out %al, $0x21
  mov $0x28, %al
  out %al, $0xa1
  mov $0x04, %al
  out %al, $0x21
  mov $0x02, %al
  out %al, $0xa1
  mov $0x01, %al
  out %al, $0x21
  out %al, $0xa1
  mov $0xfe, %al
  out %al, $0x21
  mov $0xff, %al
  out %al, $0xa1
  /* PIT channel 0, lobyte/hibyte, mode 2, divisor 11932 (100 Hz) */
  mov $0x34, %al
  out %al, $0x43
  mov $(11932 & 0xff), %al
  out %al, $0x40
  mov $(11932 >> 8), %al
  out %al, $0x40
  sti
2:hlt
  cmpl $100, ticks
  jb 2b
  cli
  mov $msg, %esi
3:lodsb
  test %al, %al
  jz 4f
  mov $0x3f8, %dx
  out %al, %dx
  jmp 3b
4:mov $0x12, %al
  out %al, $0xf4
  hlt
tick:
  push %eax
  incl ticks
  mov $0x20, %al
  out %al, $0x20
  pop %eax
  iret
  .section .rodata
msg: .asciz "ticker: 100 ticks\n"
  .align 8
gdt:
  .quad 0
  .quad 0x00cf9a000000ffff
  .quad 0x00cf92000000ffff
gdtr:
  .word 23
  .long gdt
idtr:
  .word 0x30 * 8 - 1
  .long idt
  .section .bss
  .align 8
idt: .skip 0x30 * 8
ticks: .long 0
