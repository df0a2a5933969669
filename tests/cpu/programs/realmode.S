/*
 * Real mode from reset (linked at 0x7c00; the reset vector's ROM frame holds a far JMP here):
 * an INT through the IVT, segment arithmetic, 32-bit operands, a round trip through protected
 * mode, and "unreal" mode — the 4 GiB DS limit cached in protected mode survives the return to
 * real mode, so a 32-bit address above 1 MiB works. Results at 0x6000 (realmode.test.ts).
 */
  .code16
  .text
  .globl _start
_start:
  cli
  xor %ax, %ax
  mov %ax, %ds
  mov %ax, %ss
  mov $0x7000, %sp
  movw $int40, 0x40 * 4
  movw $0, 0x40 * 4 + 2
  int $0x40
  mov $0x1234, %ax
  mov %ax, %es
  movw $0xbeef, %es:0x10            /* physical 0x12350 */
  mov $0x12345678, %eax
  mov %eax, 0x6008
  lgdtl gdtr
  mov %cr0, %eax
  or $1, %eax
  mov %eax, %cr0
  ljmp $0x08, $pm
pm:
  mov $0x10, %ax
  mov %ax, %ds                      /* base 0, limit 4 GiB cached */
  mov %cr0, %eax
  and $~1, %eax
  mov %eax, %cr0
  ljmp $0, $rm
rm:
  xor %ax, %ax
  mov %ax, %ds                      /* real-mode load: base 0; the limit stays 4 GiB */
  mov $0x200000, %esi
  movl $0xcafef00d, (%esi)          /* addr32: beyond 64 KiB, allowed only by the cached limit */
  movw $1, 0x600c
  hlt
int40:
  movw $0x1234, 0x6000
  mov %sp, 0x6002                   /* 0x7000 - 6: FLAGS, CS, IP */
  pushf
  pop %ax
  mov %ax, 0x6004                   /* IF and TF cleared by the INT */
  iret

  .balign 8
gdt:
  .quad 0
  .quad 0x00009a000000ffff          /* 0x08: 16-bit code, base 0, limit 0xffff */
  .quad 0x00cf92000000ffff          /* 0x10: data, base 0, limit 4 GiB */
gdtr:
  .word 23
  .long gdt
