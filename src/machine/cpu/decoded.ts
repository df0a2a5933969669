/**
 * The formats shared by the interpreter's decoded-instruction cache (cpu.ts) and the block
 * compiler (blocks.ts): the handler numbers of a decoded entry and the kinds of the lazy flags.
 */

/**
 * Handlers of the decoded-instruction cache (w0 & 0x3f; 0 = not decoded yet), with D_MAY_FAULT
 * (0x40) set in w0 for those that can raise an exception (memory, stack, the generic forms).
 */
export const D_MAY_FAULT = 0x40;
/** Set in w0 for the stack forms, run by execStack(). */
export const D_STACK = 0x80;
/** The handler of D_SLOW: the instruction runs through step() (runInner's switch names it so). */
export const D_STEP = 1;
export const D_SLOW = D_STEP | D_MAY_FAULT,
  D_ALU_RR = 2,
  D_ALU_RM = 3,
  D_ALU_MR = 4,
  D_ALU_RI = 5,
  D_ALU_MI = 6,
  D_TEST_RR = 7,
  D_TEST_MR = 8,
  D_TEST_RI = 9,
  D_MOV_RR = 10,
  D_MOV_MR = 11,
  D_MOV_RM = 12,
  D_MOV_RI = 13,
  D_MOV_MI = 14,
  D_LEA = 15,
  D_INC_R = 16,
  D_DEC_R = 17,
  D_PUSH_R = 18,
  D_POP_R = 19,
  D_PUSH_I = 20,
  D_JCC = 21,
  D_JMP = 22,
  D_CALL = 23,
  D_RET = 24,
  /** DIV / IDIV r32 (F7 /6 /7 on a register): may raise #DE, so D_MAY_FAULT (execDecoded). */
  D_DIV_R = 25,
  D_CALL_R = 26,
  D_CALL_M = 27,
  D_JMP_R = 28,
  D_JMP_M = 29,
  D_GENERIC = 31,
  D_NOP = 32,
  D_CDQ = 33,
  D_LEAVE = 34,
  D_SHIFT_R = 35,
  D_GRP3_R = 36,
  D_IMUL3_R = 37,
  D_MOVZX8_M = 38,
  D_SETCC_R = 39,
  D_PUSH_M = 40,
  D_MOVX_R = 41,
  D_ALU_JCC = 42,
  D_RDTSC = 43,
  D_ROTATE_R = 44,
  /** BSWAP r32 (0F C8+r). */
  D_BSWAP = 45,
  /** BSF / BSR r32, r32 (0F BC / BD, also after F3 or F2: payload dst | src << 3 | BSR << 6). */
  D_BITSCAN_R = 46,
  /** PUSHFD (9C, operand size 32): a stack form, EFLAGS with VM and RF clear (never in VM86 here). */
  D_PUSHF = 47,
  /**
   * CLC STC CMC CLI CLD STD SAHF LAHF (F8 F9 F5 FA FC FD 9E 9F: every flag instruction of
   * flag-ops.ts but STI; the opcode in the payload): CLI may raise #GP.
   */
  D_FLAG = 48,
  /**
   * STI (FB): #GP at CPL > IOPL; opens the interrupt shadow, which the run loop keeps (events()),
   * so no block holds one (compileBlock stops before it, blockable()).
   */
  D_STI = 49,
  /** PUSH ES CS SS DS FS GS (06 0E 16 1E, 0F A0 A8; operand size 32): the selector zero-extended (payload: the register). */
  D_PUSH_SEG = 50,
  /**
   * MOV DS/ES/FS/GS, m16 (8E with a memory operand; payload: the segment register): a segment
   * load, so never in a block (blockable()), whose memory operands assume the segments they
   * entered with. SS (the shadow) is step()'s, as for D_POP_SEG and D_MOV_SEG_R.
   */
  D_MOV_SEG_M = 51,
  /**
   * IN and OUT of a byte or a dword (E4–E7 with the port in w3, EC–EF: DX; payload the opcode):
   * never in a block (blockable()), the device may raise an interrupt or write memory.
   */
  D_IO = 52,
  /** POP DS/ES/FS/GS of a dword (07 1F, 0F A1 A9; payload: the register): a segment load (see D_MOV_SEG_M). */
  D_POP_SEG = 53,
  /** MOV DS/ES/FS/GS, r16 (8E with a register; payload: the register | the segment register << 3): a segment load. */
  D_MOV_SEG_R = 54,
  /**
   * MOVS CMPS STOS LODS SCAS without REP (A4–A7, AA–AF; REP is step()'s), 32-bit addresses, no
   * segment override (payload: the opcode's even byte | the element size << 8): stringOnce.
   * Linux's strcmp and strncmp loop on LODSB and SCASB, 4 M of them in its boot.
   */
  D_STRING = 55;
/** The forms D_GENERIC runs through the interpreter's helpers (payload bits 8–13). */
export const G_ALU8_AI = 1,
  G_ALU8_MR = 2,
  G_ALU8_RM = 3,
  G_ALU8_MI = 4,
  G_MOV8_MI = 5,
  G_MOV8_MR = 6,
  G_MOV8_RM = 7,
  G_TEST8 = 8,
  G_TEST8_MI = 9,
  G_TEST_MI = 10,
  G_IMUL3 = 11,
  G_IMUL2 = 12,
  G_SHIFT = 13,
  G_SHIFT8 = 14,
  G_GRP3 = 15,
  G_GRP3_8 = 16,
  G_INCDEC = 17,
  G_INCDEC8 = 18,
  // 19: unused (PUSH m32 is D_PUSH_M)
  G_SETCC = 20,
  G_CMOV = 21,
  G_MOVX = 22,
  // The word-size forms (operand size 16: 0x66 in 32-bit code, none in 16-bit code), with X16.
  G_ALU_MR = 23,
  G_ALU_RM = 24,
  G_ALU_MI = 25,
  G_MOV_MR = 26,
  G_MOV_RM = 27,
  G_MOV_MI = 28,
  G_TEST_MR = 29,
  G_LEA = 30,
  G_SHLD = 31, // SHLD/SHRD: extra bit 0 count in CL, bit 1 SHRD
  G_BITSCAN = 32, // BSF/BSR Gv, Ev but a dword register's (D_BITSCAN_R): extra bit 0 BSR
  // The 0F forms Linux's locking and bitmaps use (its UP alternatives turn LOCK into a DS prefix).
  G_CMPXCHG = 33, // CMPXCHG r/m, r: extra bit 0 the byte form (0F B0)
  G_XADD = 34, // XADD r/m, r: extra bit 0 the byte form (0F C0)
  G_BT = 35, // BT BTS BTR BTC r/m, r (0F A3 AB B3 BB): the operation (0–3) in extra
  G_BTI = 36, // BT BTS BTR BTC r/m, imm8 (0F BA /4–/7)
  G_XCHG8 = 37, // XCHG r/m8, r8 (86)
  G_XCHG = 38; // XCHG r/m, r (87)
/**
 * Payload bit 18 of a D_GENERIC entry: operand size 16 (the forms above and G_TEST_MI, G_IMUL3,
 * G_IMUL2, G_SHIFT, G_GRP3, G_INCDEC, G_CMOV, G_MOVX, which are 32-bit without it).
 */
export const X16 = 1 << 18;

/** Kinds of the lazy arithmetic flags (Cpu.lz). */
export const LZ_ADD = 1,
  LZ_SUB = 2,
  LZ_LOGIC = 3,
  LZ_INC = 4,
  LZ_DEC = 5,
  LZ_SHL = 6, // 32-bit shifts by 1–31 (lzv[1] = count)
  LZ_SHR = 7,
  LZ_SAR = 8;
