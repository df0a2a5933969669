/**
 * The layout of an oracle image: code and data at fixed linear addresses, identical for the host
 * run (a static 32-bit Linux program that includes the image) and for the emulated run (the same
 * bytes loaded into guest memory). Every vector is a callable stub that loads its input state,
 * executes the instruction under test, and stores its output state to memory:
 *
 *   mov %esp, SAVED_ESP      89 25 <a32>
 *   mov $in_i, %esp          BC <a32>
 *   popal                    61           EDI ESI EBP (ESP skipped) EBX EDX ECX EAX
 *   popfl                    9D
 *   mov $SCRATCH_TOP, %esp   BC <a32>
 *   <instruction>
 *   mov $out_i+36, %esp      BC <a32>
 *   pushfl                   9C
 *   pushal                   60           out_i = EDI ESI EBP ESP EBX EDX ECX EAX EFLAGS
 *   mov SAVED_ESP, %esp      8B 25 <a32>
 *   ret                      C3
 *
 * Offset 0 of the image holds HLT: the emulated run pushes it as the stub's return address.
 * Offset 16 is `run_all`: a CALL to every stub in turn, then RET (the host program calls it).
 */
export const IMAGE_BASE = 0x0040_0000;
export const HALT_OFFSET = 0;
export const RUN_ALL_OFFSET = 16;
/** Bytes of a state block: 8 registers in PUSHAD order + EFLAGS. */
export const STATE_BYTES = 36;
/** PUSHAD order of the 8 registers in a state block, as indices into reg32 (EAX ECX EDX EBX ESP EBP ESI EDI). */
export const PUSHAD_ORDER = [7, 6, 5, 4, 3, 2, 1, 0];
export const SCRATCH_STACK_BYTES = 256;

export interface VectorCase {
  name: string;
  /** Instruction bytes, hex. */
  bytes: string;
  /** Offset of the stub in the image. */
  entry: number;
  /** Registers EAX..EDI and EFLAGS before and after (ESP is the harness's). */
  in: { regs: number[]; flags: number };
  out: { regs: number[]; flags: number };
  /** EFLAGS bits compared (the defined ones, plus DF). */
  defined: number;
  /** Offset in the image of the output state block and of the 64-byte memory slot. */
  outOffset: number;
  slotOffset: number;
  memIn: string;
  memOut: string;
}

export interface VectorFile {
  format: 1;
  group: string;
  host: string;
  seed: number;
  base: number;
  /** The whole image before the run (code + input data), base64. */
  image: string;
  cases: VectorCase[];
}
