/**
 * Architectural constants and the guest-exception values of the CPU (SDM vol. 3): register and
 * segment-register numbers, exception vectors, DR6/DR7 bits, descriptor-type sets, what starts a
 * task switch. Shared by the files of src/machine/cpu/ that make up the Cpu class.
 */
/** A guest exception raised inside an instruction (never leaves the CPU). */
export class CpuFault {
  constructor(
    readonly vector: number,
    readonly errorCode: number, // -1: none
  ) {}
}

export const EAX = 0,
  ECX = 1,
  EDX = 2,
  EBX = 3,
  ESP = 4,
  EBP = 5,
  ESI = 6,
  EDI = 7;
export const ES = 0,
  CS = 1,
  SS = 2,
  DS = 3,
  FS = 4,
  GS = 5;
export const NO_SEG = -1;

/** Exceptions (SDM vol. 3, table 6-1). */
export const DE = 0,
  DB = 1,
  BP = 3,
  BR = 5,
  UD = 6,
  NM = 7,
  DF_ = 8,
  TS = 10,
  NP = 11,
  SS_ = 12,
  GP = 13,
  PF_ = 14,
  MF = 16;
/** DR6.BS and DR6.BT: the #DB came from single-stepping, or from a task switch to a TSS with T = 1 (SDM vol. 3, 17.2.3). */
export const DR6_BS = 1 << 14;
export const DR6_BT = 1 << 15;
/** DR6.BD: the #DB came from DR7.GD, a MOV to or from a debug register (SDM vol. 3, 17.2.3). */
export const DR6_BD = 1 << 13;
/** DR7.L0–L3 and G0–G3 (bits 0–7: breakpoint n enabled by bit 2n or 2n + 1); L0–L3 alone; GD. */
export const DR7_ENABLES = 0xff;
export const DR7_LOCAL = 0x55;
export const DR7_GD = 1 << 13;
/** DR7.R/Wn: 00 instruction execution, 01 data writes, 10 I/O (CR4.DE), 11 data reads and writes. */
export const DR7_RW_EXECUTE = 0;
export const DR7_RW_WRITE = 1;
export const DR7_RW_IO = 2;
export const DR7_RW_READ_WRITE = 3;
/** DR6 and DR7 after RESET (SDM vol. 3, table 9-1): the reserved bits as the register reads them. */
export const DR6_RESET = 0xffff0ff0 | 0;
export const DR7_RESET = 0x400;

/** System descriptor types LAR accepts (TSS 16/32 avail/busy, LDT, call and task gates) and LSL accepts. */
export const LAR_TYPES = (1 << 1) | (1 << 2) | (1 << 3) | (1 << 4) | (1 << 5) | (1 << 9) | (1 << 0xb) | (1 << 0xc);
export const LSL_TYPES = (1 << 1) | (1 << 2) | (1 << 3) | (1 << 9) | (1 << 0xb);

/**
 * What starts a task switch: it decides the busy bits, EFLAGS.NT and the previous-task link
 * (SDM vol. 3, 7.3 and table 7-2). TASK_INT: an interrupt or exception through a task gate.
 */
export const TASK_JMP = 0,
  TASK_CALL = 1,
  TASK_IRET = 2,
  TASK_INT = 3;

/**
 * INT n / INT3 / INTO: a trap with the return address after the instruction. INT1 (ICEBP) too, as
 * a `privileged` one: delivered like a hardware event, without the gate's DPL check and with EXT in
 * an error code (SDM vol. 2, INT n/INTO/INT3/INT1: "Generate debug trap"; Bochs alike).
 */
export class SoftInt {
  constructor(
    readonly vector: number,
    readonly privileged = false,
  ) {}
}

/** The high 32 bits of the unsigned 64-bit product of two 32-bit values. */
export function signExtend(v: number, size: number): number {
  return size === 1 ? (v << 24) >> 24 : size === 2 ? (v << 16) >> 16 : v | 0;
}

/** The model-specific registers this CPU has (SDM vol. 4, table 2-2, "P6 family"); others are #GP. */
export const MSR_TSC = 0x10,
  MSR_SYSENTER_CS = 0x174,
  MSR_SYSENTER_ESP = 0x175,
  MSR_SYSENTER_EIP = 0x176;

/** CR0 bits (SDM vol. 3, 2.5). */
export const CR0_PE = 1 << 0,
  CR0_MP = 1 << 1,
  CR0_EM = 1 << 2,
  CR0_TS = 1 << 3,
  CR0_ET = 1 << 4,
  CR0_NE = 1 << 5,
  CR0_WP = 1 << 16,
  CR0_PG = 1 << 31;

/**
 * CR4 bits this CPU has (SDM vol. 3, 2.5): TSD, DE (I/O breakpoints; DR4/DR5 #UD), PSE, MCE (the
 * machine-check exception enabled: none is ever signalled), PGE.
 */
export const CR4_TSD = 1 << 2,
  CR4_DE = 1 << 3,
  CR4_PSE = 1 << 4,
  CR4_MCE = 1 << 6,
  CR4_PGE = 1 << 7;
