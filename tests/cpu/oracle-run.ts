/**
 * Runs the oracle's vectors (tests/cpu/vectors/, made by `npm run oracle`, see tools/oracle/) on a
 * rig: each from the same image bytes the host ran, its output state block and memory slot
 * compared with what the host recorded. EFLAGS bits the SDM leaves undefined for an instruction
 * are not compared (the vector's `defined` mask). oracle.test.ts runs every file so; alu-step
 * runs the ALU group's through step() alone.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { HALT_OFFSET, PUSHAD_ORDER, STATE_BYTES, type VectorCase, type VectorFile } from '../../tools/oracle/image';
import { hex32, makeRig, type Rig } from './rig';

const VECTORS = new URL('./vectors/', import.meta.url);
/** The vector files (alu.json, bcd.json …), sorted. */
export const VECTOR_FILES = readdirSync(VECTORS)
  .filter((f) => f.endsWith('.json'))
  .sort();
/** Where the stub's return address (to the image's HLT) is pushed; below the image. */
const STACK_TOP = 0x0030_0000;
const REG_NAMES = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];

export function readVectors(file: string): VectorFile {
  return JSON.parse(readFileSync(new URL(file, VECTORS), 'utf8')) as VectorFile;
}

function describeMismatch(c: VectorCase, what: string): string {
  const regs = (r: number[]) => r.map((v, i) => `${REG_NAMES[i]}=${hex32(v)}`).join(' ');
  return `${c.name} [${c.bytes}] ${what}\n    in:  ${regs(c.in.regs)} fl=${hex32(c.in.flags)} mem=${c.memIn.slice(0, 48)}`;
}

/**
 * Runs every case of `vf` (on `prepare(rig)`'s rig: a spy, say) and returns the cases that differ
 * from the host, and their forms.
 */
export function runVectors(
  vf: VectorFile,
  prepare?: (rig: Rig) => void,
): { failures: string[]; failedForms: Set<string> } {
  const rig = makeRig(16);
  prepare?.(rig);
  const image = Buffer.from(vf.image, 'base64');
  rig.load(vf.base, image);
  const failures: string[] = [];
  const failedForms = new Set<string>();
  let reloadedAt = 0;
  for (const c of vf.cases) {
    rig.cpu.enterProtectedModeFlat(vf.base + c.entry, { esp: STACK_TOP - 4 });
    rig.cpu.reg32[4] = STACK_TOP - 4;
    rig.setU32(STACK_TOP - 4, vf.base + HALT_OFFSET);
    rig.program(`${vf.group}: ${c.name} [${c.bytes}]`);
    let exit: unknown;
    try {
      exit = rig.cpu.run(10_000);
    } catch (e) {
      failures.push(describeMismatch(c, `host exception: ${(e as Error).message}`));
      failedForms.add(c.name);
      rig.load(vf.base, image);
      reloadedAt = failures.length;
      continue;
    }
    if (!rig.cpu.halted || rig.cpu.eip >>> 0 !== vf.base + HALT_OFFSET + 1) {
      failures.push(describeMismatch(c, `did not return to HLT (exit ${String(exit)}, eip ${hex32(rig.cpu.eip)})`));
      failedForms.add(c.name);
      rig.load(vf.base, image);
      reloadedAt = failures.length;
      continue;
    }
    const at = vf.base + c.outOffset;
    const regs = new Array<number>(8);
    PUSHAD_ORDER.forEach((r, j) => (regs[r] = rig.u32(at + 4 * j)));
    const flags = rig.u32(at + STATE_BYTES - 4);
    const bad: string[] = [];
    regs.forEach((v, i) => {
      if (v !== c.out.regs[i]) bad.push(`${REG_NAMES[i]} ${hex32(v)} (host ${hex32(c.out.regs[i])})`);
    });
    if (((flags ^ c.out.flags) & c.defined) !== 0)
      bad.push(`eflags ${hex32(flags)} (host ${hex32(c.out.flags)}, compared bits ${hex32(c.defined)})`);
    const slot = Buffer.from(
      rig.memory.u8.subarray(vf.base + c.slotOffset, vf.base + c.slotOffset + c.memIn.length / 2),
    );
    if (slot.toString('hex') !== c.memOut) bad.push(`memory ${slot.toString('hex')} (host ${c.memOut})`);
    if (bad.length) {
      failures.push(describeMismatch(c, bad.join('; ')));
      failedForms.add(c.name);
    }
    // A vector that went astray may have written anywhere in the image: start the next one clean.
    if (failures.length > reloadedAt) {
      rig.load(vf.base, image);
      reloadedAt = failures.length;
    }
  }
  return { failures, failedForms };
}
