/* A drawing test kernel: finds the display (PCI 1234:1111) and its BAR0, sets 320×200×32 through
 * the Bochs VBE dispi ports, fills the screen with pixel (x, y) = 0x00RRGGBB with R = x, G = y,
 * B = x ^ y (low bytes), and leaves through the exit port with 0x13 (status 0x27). */
  .set MAGIC, 0x1badb002
  .set FLAGS, 0x00000003
  .section .text
  .globl _start
  .align 4
  .long MAGIC, FLAGS, -(MAGIC + FLAGS)
_start:
  mov $0x90000, %esp
  /* scan bus 0 for 1234:1111 */
  xor %ebx, %ebx
1:mov %ebx, %eax
  shl $11, %eax
  or $0x80000000, %eax
  mov $0xcf8, %dx
  out %eax, %dx
  mov $0xcfc, %dx
  in %dx, %eax
  cmp $0x11111234, %eax
  je 2f
  inc %ebx
  cmp $32, %ebx
  jb 1b
  mov $0x14, %al                 /* no display: status 0x29 */
  out %al, $0xf4
  hlt
2:mov %ebx, %eax                 /* BAR0 */
  shl $11, %eax
  or $0x80000010, %eax
  mov $0xcf8, %dx
  out %eax, %dx
  mov $0xcfc, %dx
  in %dx, %eax
  and $0xfffffff0, %eax
  mov %eax, %edi
  /* VBE: disable, 320×200×32, enable with LFB */
  mov $4, %ax;   call idx; xor %ax, %ax;  call dat
  mov $1, %ax;   call idx; mov $320, %ax; call dat
  mov $2, %ax;   call idx; mov $200, %ax; call dat
  mov $3, %ax;   call idx; mov $32, %ax;  call dat
  mov $4, %ax;   call idx; mov $0x41, %ax; call dat
  xor %ecx, %ecx                 /* y */
3:xor %esi, %esi                 /* x */
4:mov %esi, %eax
  shl $16, %eax
  mov %ecx, %edx
  shl $8, %edx
  or %edx, %eax
  mov %esi, %edx
  xor %ecx, %edx
  and $0xff, %edx
  or %edx, %eax
  and $0x00ffffff, %eax
  stosl
  inc %esi
  cmp $320, %esi
  jb 4b
  inc %ecx
  cmp $200, %ecx
  jb 3b
  mov $0x13, %al
  out %al, $0xf4
  hlt
idx:
  mov $0x1ce, %dx
  out %ax, %dx
  ret
dat:
  mov $0x1cf, %dx
  out %ax, %dx
  ret
