# Test programs for tests/cpu/blocks.test.ts (as --32, linked at 0x10000). Flat ring 0.
        .code32
        .globl _start
        .set GDT, 0x1000
        .set IDTR, 0x2800
        .set DATA, 0x20000
        .set MMIO, 0x40000000
_start:
        lgdt GDT+0x100
        lidt IDTR
        jmp *(DATA)              # DATA[0] = entry of the program to run

# 1. SMC inside a block: the store patches the very next instruction's immediate.
smc_same:
        xor %ecx, %ecx
        xor %edx, %edx
1:      inc %ecx
        mov %ecx, 2f+1
2:      mov $0, %eax
        add %eax, %edx
        cmp $100, %ecx
        jne 1b
        hlt

# 2. SMC across blocks: one block rewrites an instruction of another, hot, compiled one.
smc_other:
        xor %ecx, %ecx
        xor %edx, %edx
1:      inc %ecx
        cmp $50, %ecx
        jne 2f
        movb $7, 3f+1
2:
3:      mov $1, %eax
        add %eax, %edx
        cmp $100, %ecx
        jne 1b
        hlt

# 3. A fault in the middle of a block: DIV by a zero divisor in memory, pending flags before it.
#    The #DE handler (vector 0) saves the pushed EFLAGS and EIP, sets the divisor to 3 and IRETs:
#    the DIV restarts. At ECX = 50 the loop zeroes the divisor again.
fault_mid:
        xor %ecx, %ecx
        xor %esi, %esi
        xor %edi, %edi
        movl $0, DATA+0x10
1:      add %ecx, %esi
        push %esi
        mov $0, %edx
        mov %ecx, %eax
fault_div:
        divl DATA+0x10
        pop %ebx
        add %eax, %edi
        inc %ecx
        cmp $50, %ecx
        jne 2f
        movl $0, DATA+0x10
2:      cmp $100, %ecx
        jne 1b
        hlt
de_handler:
        push %eax
        incl DATA+0x20
        mov 12(%esp), %eax
        mov %eax, DATA+0x24      # EFLAGS pushed by the fault
        mov 4(%esp), %eax
        mov %eax, DATA+0x28      # the faulting EIP
        mov %esp, DATA+0x2c
        movl $3, DATA+0x10
        pop %eax
        iret

# 4. A hot loop with IF = 1; the interrupt handler (vector 0x20) counts and records where it hit.
hot_loop:
        xor %ecx, %ecx
        sti
1:      add $3, %eax
        mov %eax, DATA+0x40
        inc %ecx
        cmp $1000000, %ecx
        jne 1b
        hlt
irq_handler:
        push %eax
        incl DATA+0x30
        mov 4(%esp), %eax
        mov %eax, DATA+0x34
        pop %eax
        iret

# 5. A store to a device in the middle of a block: the device raises an interrupt, which is
#    delivered right after the store (before the next instruction).
mmio_irq:
        xor %ecx, %ecx
        sti
1:      inc %ecx
        mov %ecx, MMIO
mmio_after_store:
        add $1, %edx
        add $2, %edx
        cmp $10, %ecx
        jne 1b
        hlt

# 6. Flags carried from one pass of a compiled loop to the next: ADC and SETC read the CF that
#    the previous pass's DEC kept (the ADC's), a DIV at the top of the loop faults with them.
flags_loop:
        mov $300, %ecx
        xor %eax, %eax
        xor %edx, %edx
        xor %esi, %esi
1:      adc $0x7fffffff, %eax
        setc %bl
        movzbl %bl, %ebx
        add %ebx, %esi
        dec %ecx
        jnz 1b
        hlt

div_loop:
        mov $100, %ecx
        xor %edi, %edi
        mov %ecx, %eax
        mov $0, %edx
        movl $7, DATA+0x10
1:      divl DATA+0x10
        add %eax, %edi
        mov %ecx, %eax
        mov %ecx, %ebx
        and $15, %ebx
        mov %ebx, DATA+0x10
        mov $0, %edx
        dec %ecx
        jnz 1b
        hlt
