#!/bin/sh
# Assemble the protected-mode test programs into flat binaries, and their labels into NAME.sym
# ("address name" per line); both are committed next to the sources. Needs as --32 and ld -m elf_i386.
set -e
cd "$(dirname "$0")"
for p in kernel:0x4000 tests:0x10000 realmode:0x7c00 blocks:0x10000; do
  name=${p%%:*}
  org=${p#*:}
  as --32 -o "/tmp/$name.o" "$name.S"
  ld -m elf_i386 -Ttext="$org" -e _start -o "/tmp/$name.elf" "/tmp/$name.o"
  objcopy -O binary -j .text "/tmp/$name.elf" "$name.bin"
  nm "/tmp/$name.elf" | awk '$2 == "t" || $2 == "T" { print "0x" $1, $3 }' > "$name.sym"
done
# tasks.S (tasks.test.ts, vm86.test.ts) the same way, at 0x20000.
as --32 -o /tmp/tasks.o tasks.S
ld -m elf_i386 -Ttext=0x20000 -e _start -o /tmp/tasks.elf /tmp/tasks.o
objcopy -O binary -j .text /tmp/tasks.elf tasks.bin
nm /tmp/tasks.elf | awk '$2 == "t" || $2 == "T" { print "0x" $1, $3 }' > tasks.sym
