/**
 * The typed face between the block compiler's generated code and the CPU (README.md, "Compiled
 * blocks"): `BlockHost` lists every member of the CPU that a block function reads, writes or
 * calls, and `BlockMmu` the MMU's. `CpuDecodedCache` (the layer that owns the compiled blocks)
 * declares `implements BlockHost`, so the compiler checks that the CPU has each member with that
 * type; the generator (block-gen.ts) spells each member it emits through `C` and `MMU` below,
 * whose type makes every entry equal its own key, so renaming a member (or dropping it from
 * the face) fails `npm run typecheck` instead of the generated code at run time.
 * tests/cpu/block-templates.test.ts checks that generated code names nothing else.
 */

/** What generated code reads of the MMU: the TLB's arrays (Mmu.translate's fast path) and its generation. */
export interface BlockMmu {
  /** Per linear page: the TLB entry's T_* flags (0: not cached). */
  readonly flags: Uint8Array;
  /** Per linear page: the machine address of its frame. */
  readonly machine: Int32Array;
  /** Moves whenever cached translations are dropped (a block stops when it moved). */
  readonly generation: number;
}

/** What generated code may touch of the CPU, and nothing more. */
export interface BlockHost {
  // Captured once when a block function is made (they live as long as the CPU).
  readonly reg32: Int32Array;
  readonly lzv: Int32Array;
  readonly segBase: Int32Array;
  readonly segLimit: Int32Array;
  readonly segAttr: Int32Array;
  readonly mmu: BlockMmu;
  readonly mem32: Int32Array;
  readonly u8: Uint8Array;
  readonly codeLines: Uint8Array;
  // Read at every entry.
  readonly stackSize32: boolean;
  /** The segment selectors (PUSH Sreg; no block loads one). */
  readonly segSel: Uint16Array;
  readonly _cpl: number;
  // Written: the lazy flags, the restart point of a fault, the count, the exit request (the trace
  // through traceBlock/traceLoop; a whole pass's record is runInner's).
  fl: number;
  /** EFLAGS exact (the lazy flags built first); written: fl, the lazy state cleared. */
  flags: number;
  lz: number;
  lzSize: number;
  start: number;
  startEsp: number;
  instructions: number;
  bBreak: number;
  // Set before checkSeg (the fault's segment and offset) and execGeneric (its EIP after).
  eaSeg: number;
  eaOff: number;
  _eip: number;
  // Memory beyond the inline TLB hit, and the stack beyond a 32-bit one.
  readLin8(lin: number): number;
  readLin16(lin: number): number;
  readLin32(lin: number): number;
  writeLin8(lin: number, v: number): void;
  writeLin16(lin: number, v: number): void;
  writeLin32(lin: number, v: number): void;
  push32(v: number): void;
  pop32(): number;
  addSp(n: number): void;
  setReg(r: number, size: number, v: number): void;
  checkSeg(sreg: number, off: number, size: number, write: boolean): void;
  codeWritten(o: number, size: number): void;
  // The interpreter's helpers for what is not inline.
  cond(cc: number): boolean;
  cfBit(): number;
  alu(op: number, a: number, b: number, size: number): number;
  alu32(op: number, a: number, b: number): number;
  shift(op: number, a: number, count: number, size: number): number;
  /** DIV / IDIV of the accumulator pair (muldiv-ops.ts' divide): #DE before anything is written; no flag changes. */
  divAcc(a: number, size: number, signed: boolean): void;
  execGeneric(x: number, d: Int32Array, p: number): void;
  /** MOVS CMPS STOS LODS SCAS without REP (D_STRING's payload: the opcode's even byte | size << 8). */
  stringForm(x: number): void;
  /** RDTSC after `retired` instructions of the block (the count it reads is settled only at the exit). */
  rdtscAt(retired: number): void;
  /** CLC STC CMC CLI CLD STD by opcode (CLI: #GP(0) at CPL > IOPL in protected mode). */
  flagOp(op: number): void;
  // The trace's records at a block's rarer exits (the common one writes its record inline), by
  // the function's trace id × 64.
  traceBlock(id: number, count: number): void;
  traceLoop(id: number, m: number, passes: number): void;
}

/** For each member of T, its spelling in generated code: `${prefix}.${member}` (checked by the type). */
export type Spelled<T, P extends string> = { readonly [K in keyof T & string]-?: `${P}.${K}` };

/** BlockHost's members as generated code names them (the block function's parameter `c`). */
export const C: Spelled<BlockHost, 'c'> = {
  reg32: 'c.reg32',
  lzv: 'c.lzv',
  segBase: 'c.segBase',
  segLimit: 'c.segLimit',
  segAttr: 'c.segAttr',
  mmu: 'c.mmu',
  mem32: 'c.mem32',
  u8: 'c.u8',
  codeLines: 'c.codeLines',
  stackSize32: 'c.stackSize32',
  segSel: 'c.segSel',
  _cpl: 'c._cpl',
  fl: 'c.fl',
  flags: 'c.flags',
  lz: 'c.lz',
  lzSize: 'c.lzSize',
  start: 'c.start',
  startEsp: 'c.startEsp',
  instructions: 'c.instructions',
  bBreak: 'c.bBreak',
  eaSeg: 'c.eaSeg',
  eaOff: 'c.eaOff',
  _eip: 'c._eip',
  readLin8: 'c.readLin8',
  readLin16: 'c.readLin16',
  readLin32: 'c.readLin32',
  writeLin8: 'c.writeLin8',
  writeLin16: 'c.writeLin16',
  writeLin32: 'c.writeLin32',
  push32: 'c.push32',
  pop32: 'c.pop32',
  addSp: 'c.addSp',
  setReg: 'c.setReg',
  checkSeg: 'c.checkSeg',
  codeWritten: 'c.codeWritten',
  cond: 'c.cond',
  cfBit: 'c.cfBit',
  alu: 'c.alu',
  alu32: 'c.alu32',
  shift: 'c.shift',
  divAcc: 'c.divAcc',
  execGeneric: 'c.execGeneric',
  stringForm: 'c.stringForm',
  rdtscAt: 'c.rdtscAt',
  flagOp: 'c.flagOp',
  traceBlock: 'c.traceBlock',
  traceLoop: 'c.traceLoop',
};

/** BlockMmu's members as generated code names them (the local `mmu`, captured from `c.mmu`). */
export const MMU: Spelled<BlockMmu, 'mmu'> = {
  flags: 'mmu.flags',
  machine: 'mmu.machine',
  generation: 'mmu.generation',
};

/**
 * What a block function reads of the CPU, by the name its code uses (in this order): the arrays
 * that live as long as the CPU are captured once when the function is made (its compiled-code
 * map belongs to that CPU); the rest is read at every entry.
 */
export const CAPTURED: [string, string][] = [
  ['r', `const r = ${C.reg32};`],
  ['lzv', `const lzv = ${C.lzv};`],
  ['SB', `const SB = ${C.segBase};`],
  ['SL', `const SL = ${C.segLimit};`],
  ['SA', `const SA = ${C.segAttr};`],
  ['mmu', `const mmu = ${C.mmu};`],
  ['TF', `const TF = ${MMU.flags};`],
  ['TM', `const TM = ${MMU.machine};`],
  ['M32', `const M32 = ${C.mem32};`],
  ['U8', `const U8 = ${C.u8};`],
  ['CL', `const CL = ${C.codeLines};`],
];
export const AT_ENTRY: [string, string][] = [
  ['g0', `const g0 = ${MMU.generation};`],
  ...[0, 1, 2, 3, 4, 5].map((s): [string, string] => [
    `F${s}`,
    `const F${s} = SL[${s}] === -1 && (SA[${s}] & 0xe00) === 0x200;`,
  ]),
  ['ss32', `const ss32 = ${C.stackSize32};`],
  ['NR', `const NR = ${C._cpl} === 3 ? 2 : 1;`],
  ['NW', `const NW = ${C._cpl} === 3 ? 8 : 4;`],
];

/**
 * After a write that left the inline TLB hit (a page walk, the p2m's write fault into the
 * hypervisor, a device): the block stops if the MMU's translations moved meanwhile, as the
 * interpreter would reopen its code window.
 */
export const GEN_CHECK = `if (${MMU.generation} !== g0) ${C.bBreak} = 1;`;
