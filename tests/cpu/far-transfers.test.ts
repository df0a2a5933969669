/**
 * Far transfers against the SDM's pseudocode (vol. 2: CALL, JMP, RET, IRET; vol. 3, 5.8.5–5.8.6),
 * table-driven: every far CALL/JMP (direct ptr16:16/32 and indirect m16:16/32), RETF, RETF imm16
 * and IRET, in 16- and 32-bit operand size (the code segment's D bit, crossed by 0x66), at the same,
 * an inner and an outer privilege level, to code segments and through 16/32-bit call gates with
 * 0, 1, 5 and 31 parameters, on 16/32-bit (B bit) stack segments, to a task (a TSS named directly
 * or through a task gate: the new task's state, NT by CALL), IRET with NT = 1 back to the task of
 * the TSS's link, and the faulting cases with their error codes. Each case builds its descriptors, enters the caller's ring by IRETD from a
 * ring-0 prologue, runs the one instruction (or CALL through a gate and the callee's RETF imm16:
 * the round trip), and compares CS, EIP, SS, ESP, CPL, EFLAGS, the data segment registers and all
 * four rings' stacks, byte for byte, with what `model()` below — the pseudocode, transcribed —
 * says. Where a stack segment is 16-bit, the ESPs involved (the caller's, the TSS's ESPn, a popped
 * 32-bit ESP) carry a high word, so that a 16-bit stack's pushes, pops and loads are seen to leave
 * it alone. A fault is taken by a ring-0 handler (HLT): its frame and error code are checked the same
 * way.
 */
import { expect, it } from 'vitest';
import type { Cpu } from '../../src/machine/cpu/cpu';
import { describeCpu, le, makeRig, putDescriptor, type Rig } from './rig';
import { gate, segment } from './pm-machine';

const TS = 10;
const NP = 11;
const SS = 12;
const GP = 13;

// ---- the machine's layout --------------------------------------------------------------------

const GDT = 0x1000;
const GDTR = 0x0f00;
const IDTR = 0x0f08;
const IDT = 0x2000;
const TSS = 0x3000;
const SETUP = 0x4000;
/** The memory operand of the indirect forms (offset, then selector). */
const POINTER = 0x4f00;
const CALLER = 0x5000;
/** Where gates and direct transfers lead (and the round trip's RETF imm16). */
const TARGET = 0x6000;
/** Ring-0 handlers, one HLT each, 16 bytes apart by vector. */
const HANDLERS = 0x7000;
/** Stacks: ring r's lies below 0x8f00 + 0x1000·r; all below 64 KiB, so that SP can address them. */
const STACKS = 0x8000;
const STACKS_END = 0xc000;
const stackTop = (ring: number): number => 0x8f00 + 0x1000 * ring;
/** The caller's ESP: its stack holds what the case put there (parameters, a return frame). */
const callerEsp = (ring: number): number => stackTop(ring) - 0x100;
/**
 * The high word of ESP where the stack segment is 16-bit (B = 0): the caller's ESP and the TSS's
 * ESPn carry one, which no push or pop may change and which a 16-bit stack segment never loads.
 */
const CALLER_ESP_HIGH = 0xa5a50000;
const TSS_ESP_HIGH = 0x5a5a0000;
const entryEsp = (ring: number, b32: boolean): number =>
  b32 ? callerEsp(ring) : (CALLER_ESP_HIGH | callerEsp(ring)) >>> 0;
const tssEsp = (ring: number, b32: boolean): number => (b32 ? stackTop(ring) : (TSS_ESP_HIGH | stackTop(ring)) >>> 0);

const SEL_SETUP_CODE = 0x08;
const SEL_TSS = 0x18;

type Descriptor =
  | { kind: 'code'; dpl: number; d32: boolean; conforming: boolean; present: boolean }
  /** expandDownLimit: an expand-down data segment of that limit (else expand-up, 4 GiB). */
  | { kind: 'data'; dpl: number; b32: boolean; writable: boolean; present: boolean; expandDownLimit?: number }
  | { kind: 'gate'; dpl: number; gate32: boolean; params: number; selector: number; offset: number; present: boolean }
  /** A 32-bit TSS at TARGET_TSS whose task runs at `ring` (its CS, SS and data segments of that DPL). */
  | { kind: 'tss'; dpl: number; ring: number; busy: boolean; limit: number; present: boolean }
  | { kind: 'task gate'; dpl: number; selector: number; present: boolean };

/** The GDT's fixed part (index → descriptor); each case adds its own entries from index 40. */
const FIXED = new Map<number, Descriptor>();
const codeIndex = (ring: number, d32: boolean, conforming: boolean): number =>
  4 + ring * 4 + (d32 ? 2 : 0) + (conforming ? 1 : 0);
const stackIndex = (ring: number, b32: boolean): number => 20 + ring * 2 + (b32 ? 1 : 0);
const missingCodeIndex = (ring: number): number => 28 + ring;
const missingStackIndex = (ring: number): number => 32 + ring;
const readOnlyIndex = (ring: number): number => 36 + ring;
/** An expand-down stack of ring r whose lowest valid offset lies 12 bytes below the TSS's ESPn: a 12-byte frame fits, no more. */
const tightStackIndex = (ring: number): number => 42 + ring;
for (let r = 0; r < 4; r++) {
  for (const d32 of [false, true])
    for (const conforming of [false, true])
      FIXED.set(codeIndex(r, d32, conforming), { kind: 'code', dpl: r, d32, conforming, present: true });
  for (const b32 of [false, true])
    FIXED.set(stackIndex(r, b32), { kind: 'data', dpl: r, b32, writable: true, present: true });
  FIXED.set(missingCodeIndex(r), { kind: 'code', dpl: r, d32: true, conforming: false, present: false });
  FIXED.set(missingStackIndex(r), { kind: 'data', dpl: r, b32: true, writable: true, present: false });
  FIXED.set(readOnlyIndex(r), { kind: 'data', dpl: r, b32: true, writable: false, present: true });
  FIXED.set(tightStackIndex(r), {
    kind: 'data',
    dpl: r,
    b32: true,
    writable: true,
    present: true,
    expandDownLimit: stackTop(r) - 13,
  });
}
const GATE_INDEX = 40;
const TSS_INDEX = 41;
const GDT_ENTRIES = 46;
const GATE_SEL = GATE_INDEX * 8;
const TSS_SEL = TSS_INDEX * 8;
/** The task a far CALL/JMP switches to: its TSS, and what the TSS holds. */
const TARGET_TSS = 0x3100;
const TASK_EFLAGS = 0x8d7; // OF SF ZF AF PF CF and bit 1
const taskEsp = (ring: number): number => callerEsp(ring) - 0x40;

const codeSel = (ring: number, d32: boolean, conforming = false, rpl = ring): number =>
  codeIndex(ring, d32, conforming) * 8 + rpl;
const stackSel = (ring: number, b32: boolean): number => stackIndex(ring, b32) * 8 + ring;

function encode(d: Descriptor): [number, number] {
  const p = d.present ? 0x80 : 0;
  switch (d.kind) {
    case 'code':
      return segment(0, 0xffffffff, p | (d.dpl << 5) | 0x1a | (d.conforming ? 4 : 0), d.d32 ? 4 : 0);
    case 'data':
      if (d.expandDownLimit !== undefined)
        return segment(0, d.expandDownLimit, p | (d.dpl << 5) | 0x14 | (d.writable ? 2 : 0), d.b32 ? 4 : 0);
      return segment(0, 0xffffffff, p | (d.dpl << 5) | 0x10 | (d.writable ? 2 : 0), d.b32 ? 4 : 0);
    case 'gate': {
      const [lo, hi] = gate(d.selector, d.offset, d.gate32 ? 0xc : 0x4, d.dpl);
      return [lo, ((hi & ~0x8000) | (p << 8) | d.params) >>> 0];
    }
    case 'tss':
      return segment(TARGET_TSS, d.limit, p | (d.dpl << 5) | (d.busy ? 0xb : 0x9), 0);
    case 'task gate': {
      const [lo, hi] = gate(d.selector, 0, 0x5, d.dpl);
      return [lo, ((hi & ~0x8000) | (p << 8)) >>> 0];
    }
  }
}

// ---- the cases ------------------------------------------------------------------------------

type Form = 'call' | 'jmp' | 'call m' | 'jmp m' | 'retf' | 'iret' | 'call+retf';

interface Case {
  name: string;
  form: Form;
  /** The caller's ring, code size and stack size. */
  cpl: number;
  code32: boolean;
  stack32: boolean;
  o32: boolean;
  /** CALL/JMP: the selector and offset of the pointer. */
  selector: number;
  offset: number;
  /** The call gate or task gate at GATE_SEL, if any. */
  gate?: Descriptor & { kind: 'gate' | 'task gate' };
  /** The TSS at TSS_SEL, if any. */
  tss?: Descriptor & { kind: 'tss' };
  /** The inner stacks' B bit (TSS.SSn for every ring), or a selector for the TSS's SS of ring `ring`. */
  innerStack32: boolean;
  tssSs?: { ring: number; selector: number };
  /** RETF/IRET: the frame on the caller's stack (EIP, CS, [EFLAGS], then ESP, SS after the imm16). */
  frame?: { eip: number; cs: number; esp?: number; ss?: number };
  /** RETF imm16. */
  imm?: number;
  /** IRET with EFLAGS.NT = 1: the previous-task link of the current TSS. */
  link?: number;
}

const RETURN_EIP = 0x6123;
const IRET_EFLAGS = 0x8d7; // OF SF ZF AF PF CF and bit 1: none that CPL or IOPL guards

function* cases(): Generator<Case> {
  const sizes = [false, true];
  const shapes = [
    { code32: false, o32: false },
    { code32: true, o32: true },
    { code32: true, o32: false },
    { code32: false, o32: true },
  ];
  for (const { code32, o32 } of shapes)
    for (const stack32 of sizes)
      for (let cpl = 0; cpl < 4; cpl++) {
        const base = { cpl, code32, stack32, o32, innerStack32: true, offset: TARGET };
        const tag = `cpl ${cpl} code${code32 ? 32 : 16} o${o32 ? 32 : 16} stack${stack32 ? 32 : 16}`;
        for (const form of ['call', 'jmp', 'call m', 'jmp m'] as const) {
          // To code segments: same ring; conforming of DPL 0..CPL; and the #GP/#NP of the checks.
          yield { ...base, form, name: `${form} same-ring code, ${tag}`, selector: codeSel(cpl, true) };
          for (let dpl = 0; dpl <= cpl; dpl++)
            yield {
              ...base,
              form,
              name: `${form} conforming DPL ${dpl}, ${tag}`,
              selector: codeSel(dpl, false, true, 3),
            };
          for (let dpl = 0; dpl < 4; dpl++)
            if (dpl !== cpl)
              yield { ...base, form, name: `${form} non-conforming DPL ${dpl}, ${tag}`, selector: codeSel(dpl, true) };
          if (cpl < 3)
            yield {
              ...base,
              form,
              name: `${form} conforming DPL ${cpl + 1}, ${tag}`,
              selector: codeSel(cpl + 1, true, true),
            };
          if (cpl < 3)
            yield { ...base, form, name: `${form} RPL > CPL, ${tag}`, selector: codeSel(cpl, true, false, 3) };
          yield { ...base, form, name: `${form} null selector, ${tag}`, selector: 0 };
          yield { ...base, form, name: `${form} selector past the GDT, ${tag}`, selector: 0x400 + cpl };
          yield { ...base, form, name: `${form} not-present code, ${tag}`, selector: missingCodeIndex(cpl) * 8 + cpl };
          // Through a call gate.
          for (const gate32 of sizes)
            for (let dpl = 0; dpl <= 3; dpl++)
              for (const params of form === 'call' ? [0, 1, 5, 31] : [2])
                for (const innerStack32 of dpl < cpl && form === 'call' ? sizes : [true]) {
                  const g = {
                    kind: 'gate' as const,
                    dpl: 3,
                    gate32,
                    params,
                    selector: codeSel(dpl, gate32),
                    offset: TARGET + 0x10,
                    present: true,
                  };
                  const where = dpl < cpl ? 'inner' : dpl === cpl ? 'same' : 'outer';
                  const name = `${form} ${gate32 ? 32 : 16}-bit gate, ${params} params, to ${where} DPL ${dpl}, inner stack${innerStack32 ? 32 : 16}, ${tag}`;
                  yield { ...base, form, name, selector: GATE_SEL + 3, gate: g, innerStack32 };
                  // The round trip of the conformance ROM: CALL through the gate, RETF imm16 back.
                  if (form === 'call' && dpl <= cpl)
                    yield {
                      ...base,
                      form: 'call+retf',
                      name: `call+retf ${name.slice(5)}`,
                      selector: GATE_SEL + 3,
                      gate: g,
                      innerStack32,
                    };
                }
          // Gate faults: DPL < CPL, RPL > DPL, not present, to a not-present code segment, and the
          // inner stack of the TSS not present, of the wrong DPL, read-only; with 16- and 32-bit
          // stacks in the TSS (the ring-0 handler's too: from an outer ring the interrupt gate
          // switches to a 16-bit stack with a high word in TSS.ESP0).
          for (const gate32 of sizes)
            for (const innerStack32 of sizes) {
              const faultBase = { ...base, innerStack32 };
              const g = {
                kind: 'gate' as const,
                dpl: 3,
                gate32,
                params: 1,
                selector: codeSel(0, gate32),
                offset: TARGET,
                present: true,
              };
              const gt = `${gate32 ? 32 : 16}-bit gate, TSS stacks ${innerStack32 ? 32 : 16}`;
              if (cpl > 0)
                yield {
                  ...faultBase,
                  form,
                  name: `${form} ${gt} DPL < CPL, ${tag}`,
                  selector: GATE_SEL,
                  gate: { ...g, dpl: cpl - 1 },
                };
              if (cpl < 3)
                yield {
                  ...faultBase,
                  form,
                  name: `${form} ${gt} RPL > DPL, ${tag}`,
                  selector: GATE_SEL + 3,
                  gate: { ...g, dpl: cpl },
                };
              yield {
                ...faultBase,
                form,
                name: `${form} ${gt} not present, ${tag}`,
                selector: GATE_SEL + 3,
                gate: { ...g, present: false },
              };
              yield {
                ...faultBase,
                form,
                name: `${form} ${gt} to not-present code, ${tag}`,
                selector: GATE_SEL + 3,
                gate: { ...g, selector: missingCodeIndex(0) * 8 },
              };
              yield {
                ...faultBase,
                form,
                name: `${form} ${gt} to a null selector, ${tag}`,
                selector: GATE_SEL + 3,
                gate: { ...g, selector: 0 },
              };
              yield {
                ...faultBase,
                form,
                name: `${form} ${gt} to a data segment, ${tag}`,
                selector: GATE_SEL + 3,
                gate: { ...g, selector: stackSel(0, true) },
              };
              if (cpl > 1 && form === 'call') {
                // To ring 1 (ring 0's stack stays good for the handler).
                const g1 = { ...g, selector: codeSel(1, gate32) };
                const s = `${form} ${gt} to ring 1`;
                const bad = (what: string, selector: number): Case => ({
                  ...faultBase,
                  form,
                  name: `${s}, TSS stack ${what}, ${tag}`,
                  selector: GATE_SEL + 3,
                  gate: g1,
                  tssSs: { ring: 1, selector },
                });
                yield bad('not present', missingStackIndex(1) * 8 + 1);
                yield bad('of DPL 2', (stackSel(2, true) & ~3) | 1);
                yield bad('RPL 2', (stackSel(1, true) & ~3) | 2);
                yield bad('read-only', readOnlyIndex(1) * 8 + 1);
                yield bad('null', 0);
                yield bad('a code segment', codeSel(1, true));
                // Expand-down, 12 bytes above its limit: the 16-bit gate's frame (10 bytes) fits,
                // the 32-bit gate's (20) does not: #SS(SS1) before anything is pushed.
                yield bad('with room for 12 bytes', tightStackIndex(1) * 8 + 1);
              }
            }
        }
        // To a task: a TSS named directly or through a task gate, the new task in every ring;
        // the faults of both descriptors.
        for (const form of ['call', 'jmp', 'call m', 'jmp m'] as const) {
          const tss = (ring: number) => ({
            kind: 'tss' as const,
            dpl: 3,
            ring,
            busy: false,
            limit: 0x67,
            present: true,
          });
          const taskGate = { kind: 'task gate' as const, dpl: 3, selector: TSS_SEL, present: true };
          const toTss = (what: string, t: Case['tss'], selector = TSS_SEL + 3): Case => ({
            ...base,
            form,
            name: `${form} TSS ${what}, ${tag}`,
            selector,
            tss: t,
          });
          const viaGate = (what: string, g: Case['gate'], t: Case['tss'] = tss(3), selector = GATE_SEL + 3): Case => ({
            ...base,
            form,
            name: `${form} task gate ${what}, ${tag}`,
            selector,
            gate: g,
            tss: t,
          });
          for (let ring = 0; ring < 4; ring++) {
            yield toTss(`to a ring-${ring} task`, tss(ring));
            yield viaGate(`to a ring-${ring} task`, taskGate, tss(ring));
          }
          if (cpl > 0) yield toTss('DPL < CPL', { ...tss(3), dpl: cpl - 1 }, TSS_SEL + cpl - 1);
          if (cpl < 3) yield toTss('RPL > DPL', { ...tss(3), dpl: cpl });
          yield toTss('busy', { ...tss(3), busy: true });
          yield toTss('not present', { ...tss(3), present: false });
          yield toTss('limit 5FH', { ...tss(3), limit: 0x5f });
          if (cpl > 0) yield viaGate('DPL < CPL', { ...taskGate, dpl: cpl - 1 }, tss(3), GATE_SEL + cpl - 1);
          if (cpl < 3) yield viaGate('RPL > DPL', { ...taskGate, dpl: cpl });
          yield viaGate('not present', { ...taskGate, present: false });
          yield viaGate('to a busy TSS', taskGate, { ...tss(3), busy: true });
          yield viaGate('to a not-present TSS', taskGate, { ...tss(3), present: false });
          yield viaGate('to a TSS of limit 5FH', taskGate, { ...tss(3), limit: 0x5f });
          yield viaGate('to a code segment', { ...taskGate, selector: codeSel(0, true) });
          yield viaGate('to a null selector', { ...taskGate, selector: 0 });
          yield viaGate('to an LDT selector', { ...taskGate, selector: TSS_SEL | 4 });
          yield viaGate('past the GDT', { ...taskGate, selector: 0x400 });
        }
        // IRET with NT = 1: back to the task of the current TSS's link (busy), in every ring, and
        // the link's faults: not busy, null, in the LDT, past the GDT, not present, too short.
        {
          const busy = (ring: number) => ({
            kind: 'tss' as const,
            dpl: 3,
            ring,
            busy: true,
            limit: 0x67,
            present: true,
          });
          const back = (what: string, link: number, t: Case['tss']): Case => ({
            ...base,
            form: 'iret',
            name: `iret NT ${what}, ${tag}`,
            selector: 0,
            link,
            tss: t,
          });
          for (let ring = 0; ring < 4; ring++) yield back(`to a ring-${ring} task`, TSS_SEL, busy(ring));
          yield back('to a TSS not busy', TSS_SEL, { ...busy(3), busy: false });
          yield back('with a null link', 0, busy(3));
          yield back('with a link in the LDT', TSS_SEL | 4, busy(3));
          yield back('with a link past the GDT', 0x400, busy(3));
          yield back('to a TSS not present', TSS_SEL, { ...busy(3), present: false });
          yield back('to a TSS of limit 5FH', TSS_SEL, { ...busy(3), limit: 0x5f });
        }
        // RETF, RETF imm16, IRET: to the same ring and to every outer one, both stack sizes.
        for (const form of ['retf', 'iret'] as const)
          for (const imm of form === 'retf' ? [undefined, 0, 2, 6] : [undefined]) {
            const f = `${form}${imm === undefined ? '' : ` ${imm}`}`;
            for (let ring = cpl; ring < 4; ring++)
              for (const outer32 of ring > cpl ? sizes : [true])
                for (const retCode32 of sizes) {
                  const cs = codeSel(ring, retCode32);
                  // A 32-bit frame's ESP for a 16-bit outer stack has a high word that SS's B bit drops.
                  const esp = outer32 ? callerEsp(ring) - 0x20 : (0x3c3c0000 | (callerEsp(ring) - 0x20)) >>> 0;
                  const frame = { eip: RETURN_EIP, cs, esp, ss: stackSel(ring, outer32) };
                  const where = ring === cpl ? 'same ring' : `outer ring ${ring}, stack${outer32 ? 32 : 16}`;
                  yield {
                    ...base,
                    form,
                    imm,
                    name: `${f} to ${where}, code${retCode32 ? 32 : 16}, ${tag}`,
                    selector: 0,
                    frame,
                  };
                }
            // Faults: to an inner ring, CS null, not present, a data segment, a non-conforming
            // code segment of DPL ≠ RPL; outer SS null, RPL ≠ CS.RPL, DPL ≠ RPL, read-only, not present.
            const ok = { eip: RETURN_EIP, cs: codeSel(cpl, true), esp: 0, ss: 0 };
            const bad = (what: string, frame: Case['frame']) => ({
              ...base,
              form,
              imm,
              name: `${f} ${what}, ${tag}`,
              selector: 0,
              frame,
            });
            if (cpl > 0) yield bad('to an inner ring', { ...ok, cs: codeSel(cpl - 1, true) });
            yield bad('to a null CS', { ...ok, cs: cpl });
            yield bad('to a not-present CS', { ...ok, cs: missingCodeIndex(cpl) * 8 + cpl });
            yield bad('to a data segment', { ...ok, cs: stackSel(cpl, true) });
            if (cpl < 3) yield bad('to code of DPL ≠ RPL', { ...ok, cs: codeSel(cpl, true, false, cpl + 1) });
            if (cpl < 3) {
              const ring = 3;
              const out = { eip: RETURN_EIP, cs: codeSel(ring, true), esp: callerEsp(ring) - 0x20 };
              yield bad('to an outer ring with a null SS', { ...out, ss: ring });
              yield bad('to an outer ring with SS.RPL ≠ CS.RPL', { ...out, ss: (stackSel(3, true) & ~3) | 2 });
              yield bad('to an outer ring with SS.DPL ≠ RPL', { ...out, ss: (stackSel(2, true) & ~3) | 3 });
              yield bad('to an outer ring with SS read-only', { ...out, ss: readOnlyIndex(ring) * 8 + ring });
              yield bad('to an outer ring with SS not present', { ...out, ss: missingStackIndex(ring) * 8 + ring });
              yield bad('to an outer ring with SS a code segment', { ...out, ss: codeSel(ring, true) });
            }
          }
      }
}

// ---- the SDM's pseudocode, transcribed ---------------------------------------------------------

interface State {
  cs: number;
  eip: number;
  ss: number;
  esp: number;
  cpl: number;
  eflags: number;
  /** ES, DS, FS, GS. */
  data: number[];
}

class Fault {
  constructor(
    readonly vector: number,
    readonly code: number,
  ) {}
}

/**
 * What the instruction does by the SDM (vol. 2, CALL/JMP/RET/IRET "protected mode"), on a copy of
 * the stacks' bytes (`mem`, offset STACKS) and the state before; returns the state after, or the
 * fault it raises (the state and stacks then as before).
 */
function model(c: Case, before: State, gdt: Map<number, Descriptor>, tssStacks: number[][], mem: Uint8Array): State {
  const s: State = { ...before, data: [...before.data] };
  const stack32 = (sel: number): boolean => {
    const d = gdt.get(sel >> 3);
    return d?.kind === 'data' && d.b32;
  };
  let b32 = stack32(s.ss);
  const wr = (at: number, size: number, v: number) => {
    for (let i = 0; i < size; i++) mem[at - STACKS + i] = (v >>> (8 * i)) & 0xff;
  };
  const rd = (at: number, size: number) => {
    let v = 0;
    for (let i = 0; i < size; i++) v |= mem[at - STACKS + i] << (8 * i);
    return v >>> 0;
  };
  const sp = () => (b32 ? s.esp : s.esp & 0xffff);
  const addSp = (n: number) => {
    s.esp = b32 ? (s.esp + n) >>> 0 : ((s.esp & ~0xffff) | ((s.esp + n) & 0xffff)) >>> 0;
  };
  // A selector in a 32-bit slot is zero-extended ("padded with 16 high-order bits", SDM vol. 2, CALL).
  const push = (size: number, v: number) => {
    addSp(-size);
    wr(sp(), size, v);
  };
  const pop = (size: number) => {
    const v = rd(sp(), size);
    addSp(size);
    return v;
  };
  const desc = (sel: number, vector: number): Descriptor => {
    const d = gdt.get(sel >> 3);
    if (!d || sel >> 3 >= GDT_ENTRIES) throw new Fault(vector, sel & 0xfffc);
    return d;
  };
  const osz = c.o32 ? 4 : 2;

  if (c.link !== undefined) {
    // IRET "TASK-RETURN": the link must name a busy TSS in the GDT (#TS(link)), present
    // (#NP(link)), of limit ≥ 67H (vol. 3, 7.3: #TS); then the switch, nothing popped, EFLAGS from
    // the TSS (NT as its image has it).
    const link = c.link;
    if (link & 4) throw new Fault(TS, link & 0xfffc);
    const t = desc(link, TS);
    if (t.kind !== 'tss' || !t.busy) throw new Fault(TS, link & 0xfffc);
    if (!t.present) throw new Fault(NP, link & 0xfffc);
    if (t.limit < 0x67) throw new Fault(TS, link & 0xfffc);
    return newTask(t.ring, TASK_EFLAGS);
  }
  if (c.form === 'retf' || c.form === 'iret') {
    // RET: "RETURN-TO-SAME-PRIVILEGE-LEVEL" / "RETURN-TO-OUTER-PRIVILEGE-LEVEL"; IRET: "PROTECTED-MODE-RETURN".
    const eip = pop(osz);
    const cs = pop(osz) & 0xffff;
    const fl = c.form === 'iret' ? pop(osz) : 0;
    if ((cs & 0xfffc) === 0) throw new Fault(GP, 0);
    const d = desc(cs, GP);
    if ((cs & 3) < s.cpl) throw new Fault(GP, cs & 0xfffc);
    if (d.kind !== 'code') throw new Fault(GP, cs & 0xfffc);
    if (d.conforming ? d.dpl > (cs & 3) : d.dpl !== (cs & 3)) throw new Fault(GP, cs & 0xfffc);
    if (!d.present) throw new Fault(NP, cs & 0xfffc);
    const n = c.imm ?? 0;
    if ((cs & 3) === s.cpl) {
      addSp(n);
    } else {
      // "Release parameters from called procedure's stack", then pop the outer SS:ESP.
      addSp(n);
      const esp = pop(osz);
      const ss = pop(osz) & 0xffff;
      if ((ss & 0xfffc) === 0) throw new Fault(GP, 0);
      const sd = desc(ss, GP);
      if ((ss & 3) !== (cs & 3)) throw new Fault(GP, ss & 0xfffc);
      if (sd.kind !== 'data' || !sd.writable || sd.dpl !== (cs & 3)) throw new Fault(GP, ss & 0xfffc);
      if (!sd.present) throw new Fault(SS, ss & 0xfffc);
      s.cpl = cs & 3;
      s.ss = ss;
      // ESP ← tempESP: a 16-bit stack segment takes SP only (the upper half stays: "espfix").
      b32 = sd.b32;
      s.esp = b32 ? esp : ((s.esp & ~0xffff) | (esp & 0xffff)) >>> 0;
      // "Release parameters from calling procedure's stack" (the outer one).
      addSp(n);
      // Data segments the outer ring may not use become null.
      s.data = s.data.map((sel) => {
        const dd = gdt.get(sel >> 3);
        const conformingCode = dd?.kind === 'code' && dd.conforming;
        return (sel & 0xfffc) !== 0 && !conformingCode && dd !== undefined && dd.dpl < s.cpl ? 0 : sel;
      });
    }
    s.cs = cs;
    s.eip = c.o32 ? eip : eip & 0xffff;
    if (c.form === 'iret') s.eflags = c.o32 ? fl : ((s.eflags & ~0xffff) | fl) >>> 0;
    return s;
  }

  const call = c.form === 'call' || c.form === 'call m' || c.form === 'call+retf';
  const sel = c.selector;
  const offset = c.o32 ? c.offset : c.offset & 0xffff;
  const next = (CALLER + instructionLength(c)) >>> 0;
  if ((sel & 0xfffc) === 0) throw new Fault(GP, 0);
  const d = desc(sel, GP);
  if (d.kind === 'code') {
    if (d.conforming ? d.dpl > s.cpl : (sel & 3) > s.cpl || d.dpl !== s.cpl) throw new Fault(GP, sel & 0xfffc);
    if (!d.present) throw new Fault(NP, sel & 0xfffc);
    if (call) {
      push(osz, s.cs);
      push(osz, next);
    }
    s.cs = (sel & 0xfffc) | s.cpl;
    s.eip = offset;
    return s;
  }
  if (d.kind === 'tss' || d.kind === 'task gate') {
    // CALL/JMP "TASK-GATE" and "TASK-STATE-SEGMENT": the descriptor's DPL against CPL and RPL; a
    // task gate present, naming an available TSS in the GDT; the TSS present, its limit ≥ 67H
    // (vol. 3, 7.3 step 3: #TS); then the switch: every register from the new TSS, EFLAGS.NT set
    // by CALL (the back-link written), CPL = the new CS's RPL. Nothing goes on any stack.
    if (d.dpl < s.cpl || d.dpl < (sel & 3)) throw new Fault(GP, sel & 0xfffc);
    let tssSel = sel;
    let t: Descriptor = d;
    if (d.kind === 'task gate') {
      if (!d.present) throw new Fault(NP, sel & 0xfffc);
      tssSel = d.selector;
      if (tssSel & 4) throw new Fault(GP, tssSel & 0xfffc);
      t = desc(tssSel, GP);
    }
    if (t.kind !== 'tss' || t.busy) throw new Fault(GP, tssSel & 0xfffc);
    if (!t.present) throw new Fault(NP, tssSel & 0xfffc);
    if (t.limit < 0x67) throw new Fault(TS, tssSel & 0xfffc);
    return newTask(t.ring, call ? TASK_EFLAGS | 0x4000 : TASK_EFLAGS);
  }
  if (d.kind !== 'gate') throw new Fault(GP, sel & 0xfffc);
  // CALL/JMP "CALL-GATE".
  if (d.dpl < s.cpl || (sel & 3) > d.dpl) throw new Fault(GP, sel & 0xfffc);
  if (!d.present) throw new Fault(NP, sel & 0xfffc);
  const target = d.selector;
  if ((target & 0xfffc) === 0) throw new Fault(GP, 0);
  const t = desc(target, GP);
  if (t.kind !== 'code' || t.dpl > s.cpl) throw new Fault(GP, target & 0xfffc);
  if (!call && (t.conforming ? t.dpl > s.cpl : t.dpl !== s.cpl)) throw new Fault(GP, target & 0xfffc);
  if (!t.present) throw new Fault(NP, target & 0xfffc);
  const gsz = d.gate32 ? 4 : 2;
  const gateOffset = d.gate32 ? d.offset : d.offset & 0xffff;
  if (call && !t.conforming && t.dpl < s.cpl) {
    // "MORE-PRIVILEGE": SS:ESP of the new level from the TSS, the parameters copied.
    const [newSs, newEsp] = tssStacks[t.dpl];
    if ((newSs & 0xfffc) === 0) throw new Fault(TS, 0);
    const sd = desc(newSs, TS);
    if ((newSs & 3) !== t.dpl) throw new Fault(TS, newSs & 0xfffc);
    if (sd.kind !== 'data' || sd.dpl !== t.dpl || !sd.writable) throw new Fault(TS, newSs & 0xfffc);
    if (!sd.present) throw new Fault(SS, newSs & 0xfffc);
    // "IF new stack does not have room for parameters plus 16 (8) bytes THEN #SS(NewSS)".
    const top = sd.b32 ? newEsp : newEsp & 0xffff;
    if (sd.expandDownLimit !== undefined && top - (4 + d.params) * gsz <= sd.expandDownLimit)
      throw new Fault(SS, newSs & 0xfffc);
    const params: number[] = [];
    for (let i = 0; i < d.params; i++) params.push(rd(((sp() + i * gsz) & (b32 ? 0xffffffff : 0xffff)) >>> 0, gsz));
    const oldSs = s.ss;
    const oldEsp = s.esp;
    s.ss = newSs;
    // A 16-bit stack segment takes SP only, ESP's high word stays the caller's: the B bit of the
    // new SS is the stack-address size of every write to the stack pointer. The SDM's text says
    // "ESP ← NewESP"; QEMU (SET_ESP with the new SS's mask) and Bochs (SP = temp_ESP) write SP,
    // as the processor does on RET/IRET to a 16-bit stack (the high word Linux's espfix hides).
    s.esp = sd.b32 ? newEsp : ((oldEsp & ~0xffff) | (newEsp & 0xffff)) >>> 0;
    b32 = sd.b32;
    s.cpl = t.dpl;
    push(gsz, oldSs);
    push(gsz, oldEsp);
    for (let i = params.length - 1; i >= 0; i--) push(gsz, params[i]);
    push(gsz, before.cs);
    push(gsz, next);
  } else if (call) {
    push(gsz, s.cs);
    push(gsz, next);
  }
  s.cs = (target & 0xfffc) | s.cpl;
  s.eip = gateOffset;
  if (c.form === 'call+retf') {
    // The callee: RETF imm16 in its own operand size (the gate's), releasing the parameters.
    return model({ ...c, form: 'retf', o32: d.gate32, imm: d.params * gsz }, s, gdt, tssStacks, mem);
  }
  return s;
}

/** The state a task switch leaves: every register from the TSS at TARGET_TSS, whose task runs at `ring`. */
function newTask(ring: number, eflags: number): State {
  return {
    cs: codeSel(ring, true),
    eip: TARGET,
    ss: stackSel(ring, true),
    esp: taskEsp(ring),
    cpl: ring,
    eflags,
    data: [0, 1, 2, 3].map(() => stackSel(ring, true)),
  };
}

/** The instruction's bytes at CALLER (indirect forms: the pointer at POINTER). */
function instruction(c: Case): number[] {
  const prefix = c.o32 !== c.code32 ? [0x66] : [];
  const ptr = c.o32 ? le(c.offset) : le(c.offset).slice(0, 2);
  const sel = [c.selector & 0xff, c.selector >> 8];
  const modrm = (reg: number) =>
    c.code32 ? [(reg << 3) | 5, ...le(POINTER)] : [(reg << 3) | 6, POINTER & 0xff, POINTER >> 8];
  switch (c.form) {
    case 'call':
    case 'call+retf':
      return [...prefix, 0x9a, ...ptr, ...sel];
    case 'jmp':
      return [...prefix, 0xea, ...ptr, ...sel];
    case 'call m':
      return [...prefix, 0xff, ...modrm(3)];
    case 'jmp m':
      return [...prefix, 0xff, ...modrm(5)];
    case 'retf':
      return c.imm === undefined ? [...prefix, 0xcb] : [...prefix, 0xca, c.imm & 0xff, c.imm >> 8];
    case 'iret':
      return [...prefix, 0xcf];
  }
}
const instructionLength = (c: Case): number => instruction(c).length;

// ---- running a case -----------------------------------------------------------------------------

/** A byte pattern on the stacks, so that a word written or left alone is seen as such. */
const pattern = (a: number): number => (a * 7 + (a >> 8) * 13 + 0x5a) & 0xff;

function prepare(rig: Rig, c: Case): { gdt: Map<number, Descriptor>; tssStacks: number[][] } {
  const mem = rig.memory.u8;
  mem.fill(0, 0, STACKS_END);
  for (let a = STACKS; a < STACKS_END; a++) mem[a] = pattern(a);
  const gdt = new Map(FIXED);
  if (c.gate) gdt.set(GATE_INDEX, c.gate);
  if (c.tss) {
    gdt.set(TSS_INDEX, c.tss);
    // The new task's state (SDM vol. 3, figure 7-2): EIP, EFLAGS, ESP, the selectors; LDT null.
    const r = c.tss.ring;
    rig.setU32(TARGET_TSS + 0x20, TARGET);
    rig.setU32(TARGET_TSS + 0x24, TASK_EFLAGS);
    rig.setU32(TARGET_TSS + 0x38, taskEsp(r));
    rig.setU32(TARGET_TSS + 0x4c, codeSel(r, true));
    rig.setU32(TARGET_TSS + 0x50, stackSel(r, true));
    for (const at of [0x48, 0x54, 0x58, 0x5c]) rig.setU32(TARGET_TSS + at, stackSel(r, true));
  }
  const put = (addr: number, d: [number, number]) => putDescriptor(rig, addr, d);
  put(GDT + 8, segment(0, 0xffffffff, 0x9a, 4));
  put(GDT + 16, segment(0, 0xffffffff, 0x92, 4));
  put(GDT + 24, segment(TSS, 0x67, 0x89, 0));
  for (const [i, d] of gdt) put(GDT + 8 * i, encode(d));
  rig.load(GDTR, [(GDT_ENTRIES * 8 - 1) & 0xff, (GDT_ENTRIES * 8 - 1) >> 8, ...le(GDT)]);
  for (let v = 0; v < 32; v++) put(IDT + 8 * v, gate(SEL_SETUP_CODE, HANDLERS + 16 * v, 0xe, 0));
  for (let v = 0; v < 32; v++) mem[HANDLERS + 16 * v] = 0xf4; // hlt
  rig.load(IDTR, [32 * 8 - 1, 0, ...le(IDT)]);
  const tssStacks: number[][] = [];
  for (let r = 0; r < 3; r++) {
    let ss = stackSel(r, c.innerStack32);
    if (c.tssSs?.ring === r) ss = c.tssSs.selector;
    const b32 = c.tssSs?.ring === r ? true : c.innerStack32;
    tssStacks.push([ss, tssEsp(r, b32)]);
    rig.setU32(TSS + 4 + 8 * r, tssEsp(r, b32));
    rig.setU32(TSS + 8 + 8 * r, ss);
  }
  // IRET's task return: the current TSS's previous-task link.
  if (c.link !== undefined) rig.setU32(TSS, c.link);
  // The caller's stack: RETF/IRET frames (parameters between the return address and SS:ESP).
  const esp = callerEsp(c.cpl);
  if (c.frame) {
    const osz = c.o32 ? 4 : 2;
    const words = [c.frame.eip, c.frame.cs];
    if (c.form === 'iret') words.push(IRET_EFLAGS);
    let at = esp;
    for (const w of words) {
      for (let i = 0; i < osz; i++) mem[at + i] = (w >>> (8 * i)) & 0xff;
      at += osz;
    }
    at += c.imm ?? 0;
    for (const w of [c.frame.esp ?? 0, c.frame.ss ?? 0]) {
      for (let i = 0; i < osz; i++) mem[at + i] = (w >>> (8 * i)) & 0xff;
      at += osz;
    }
  }
  // The pointer of the indirect forms.
  const ptr = c.o32
    ? [...le(c.offset), c.selector & 0xff, c.selector >> 8]
    : [c.offset & 0xff, (c.offset >> 8) & 0xff, c.selector & 0xff, c.selector >> 8];
  rig.load(POINTER, ptr);
  rig.load(CALLER, instruction(c));
  // The round trip's callee: RETF imm16, in the gate's operand size (its code segment's D bit).
  if (c.gate?.kind === 'gate')
    rig.load(TARGET + 0x10, [0xca, ...[(c.gate.params * (c.gate.gate32 ? 4 : 2)) & 0xff, 0]]);

  // The prologue (ring 0, flat): tables, TR, data segments ES DS FS GS = DPL 0, 3, 1, 2, then
  // IRETD into the caller's ring.
  const code: number[] = [
    ...[0x0f, 0x01, 0x15, ...le(GDTR)],
    ...[0x0f, 0x01, 0x1d, ...le(IDTR)],
    ...[0x66, 0xb8, SEL_TSS, 0, 0x0f, 0x00, 0xd8],
  ];
  [0, 3, 1, 2].forEach((ring, k) =>
    code.push(0x66, 0xb8, stackSel(ring, true), 0, 0x8e, 0xc0 + (k === 0 ? 0 : k + 2) * 8),
  );
  const cs = codeSel(c.cpl, c.code32);
  const ss = stackSel(c.cpl, c.stack32);
  const callerSp = entryEsp(c.cpl, c.stack32);
  // A ring-0 caller: SS:ESP loaded, then JMP FAR (its stack holds the case's frame: no pushes).
  // An outer one: IRETD from ring 0, which on a 16-bit stack segment is a 16-bit ring-0 stack
  // whose ESP has the caller's high word (IRETD to a 16-bit SS loads SP only).
  // The caller's EFLAGS: NT = 1 for IRET's task return (ring 0: PUSHFD, OR, POPFD).
  const eflags = c.link !== undefined ? 0x4002 : 0x2;
  if (c.cpl === 0) {
    if (c.link !== undefined) code.push(0x9c, 0x81, 0x0c, 0x24, ...le(0x4000), 0x9d);
    code.push(0x66, 0xb8, ss, 0, 0x8e, 0xd0, 0xbc, ...le(callerSp), 0xea, ...le(CALLER), cs, 0);
  } else {
    if (!c.stack32)
      code.push(0x66, 0xb8, stackSel(0, false), 0, 0x8e, 0xd0, 0xbc, ...le((CALLER_ESP_HIGH | 0x7f00) >>> 0));
    code.push(0x68, ...le(ss), 0x68, ...le(callerSp), 0x68, ...le(eflags), 0x68, ...le(cs), 0x68, ...le(CALLER), 0xcf);
  }
  rig.load(SETUP, code);
  return { gdt, tssStacks };
}
const SETUP_INSTRUCTIONS = (c: Case): number =>
  4 + 8 + (c.cpl === 0 ? (c.link !== undefined ? 7 : 4) : c.stack32 ? 6 : 9);

function state(cpu: Cpu): State {
  return {
    cs: cpu.segSel[1],
    eip: cpu.eip >>> 0,
    ss: cpu.segSel[2],
    esp: cpu.reg32[4] >>> 0,
    cpl: cpu.cpl,
    eflags: cpu.getEflags() >>> 0,
    data: [0, 3, 4, 5].map((s) => cpu.segSel[s]),
  };
}

interface Outcome {
  state: State;
  stacks: Uint8Array;
}

function run(rig: Rig, c: Case): { got: Outcome; want: Outcome } {
  const cpu = rig.cpu;
  const { gdt, tssStacks } = prepare(rig, c);
  cpu.enterProtectedModeFlat(SETUP, { esp: 0x7f00 });
  cpu.run(SETUP_INSTRUCTIONS(c));
  const before = state(cpu);
  const entered =
    before.eip === CALLER &&
    before.cpl === c.cpl &&
    before.cs === codeSel(c.cpl, c.code32) &&
    before.esp === entryEsp(c.cpl, c.stack32);
  if (!entered)
    throw new Error(
      `${c.name}: the prologue did not reach the caller (${JSON.stringify(before)}; frame ${[0, 4, 8, 12].map((k) => rig.u32(before.esp + k).toString(16))})`,
    );
  const mem = rig.memory.u8.slice(STACKS, STACKS_END);
  let want: State;
  try {
    want = model(c, before, gdt, tssStacks, mem);
  } catch (e) {
    if (!(e instanceof Fault)) throw e;
    // The fault is taken at the instruction (state as before) by the ring-0 handler, a 32-bit
    // interrupt gate: on the TSS's ring-0 stack from an outer ring, else on the caller's stack.
    mem.set(rig.memory.u8.subarray(STACKS, STACKS_END));
    want = { ...before, data: [...before.data], cs: SEL_SETUP_CODE, eip: HANDLERS + 16 * e.vector + 1, cpl: 0 };
    // EFLAGS as pushed for a fault: RF = 1 (SDM vol. 3, 17.3.1.1), cleared in the handler.
    const RF = 0x10000;
    const frame = [before.eflags | RF, before.cs, CALLER, e.code];
    const b32 = (gdt.get((before.cpl > 0 ? tssStacks[0][0] : before.ss) >> 3) as { b32: boolean }).b32;
    if (before.cpl > 0) {
      // The interrupt gate's stack switch: SP only into a 16-bit stack, as for a call gate (above).
      want.ss = tssStacks[0][0];
      want.esp = b32 ? tssStacks[0][1] : ((before.esp & ~0xffff) | (tssStacks[0][1] & 0xffff)) >>> 0;
      frame.unshift(before.ss, before.esp);
    }
    for (const w of frame) {
      want.esp = (b32 ? want.esp - 4 : (want.esp & ~0xffff) | ((want.esp - 4) & 0xffff)) >>> 0;
      const at = (b32 ? want.esp : want.esp & 0xffff) - STACKS;
      for (let i = 0; i < 4; i++) mem[at + i] = (w >>> (8 * i)) & 0xff;
    }
    // The interrupt gate clears TF, NT, RF, VM and IF (SDM vol. 3, 6.12.1).
    want.eflags = (before.eflags & ~(0x100 | 0x4000 | RF | 0x20000 | 0x200)) >>> 0;
  }
  const steps = c.form === 'call+retf' ? 2 : 1;
  cpu.run(steps);
  return {
    got: { state: state(cpu), stacks: rig.memory.u8.slice(STACKS, STACKS_END) },
    want: { state: want, stacks: mem },
  };
}

/** The differences, as "field: got ≠ want" and the stack bytes by address. */
function differences(got: Outcome, want: Outcome): string[] {
  const out: string[] = [];
  const hex = (v: number) => '0x' + (v >>> 0).toString(16);
  for (const k of ['cs', 'eip', 'ss', 'esp', 'cpl', 'eflags'] as const)
    if (got.state[k] !== want.state[k]) out.push(`${k}: ${hex(got.state[k])} ≠ ${hex(want.state[k])}`);
  if (got.state.data.join() !== want.state.data.join())
    out.push(`ES DS FS GS: ${got.state.data.map(hex).join(' ')} ≠ ${want.state.data.map(hex).join(' ')}`);
  const bytes: string[] = [];
  for (let i = 0; i < got.stacks.length; i++)
    if (got.stacks[i] !== want.stacks[i])
      bytes.push(`[${hex(STACKS + i)}] ${hex(got.stacks[i])} ≠ ${hex(want.stacks[i])}`);
  if (bytes.length) out.push(`stack bytes (${bytes.length}): ${bytes.slice(0, 8).join(', ')}`);
  return out;
}

const ALL = [...cases()];
const FAMILIES: { title: string; forms: Form[] }[] = [
  { title: 'far CALL ptr16:16/32 to code segments and through call gates', forms: ['call'] },
  { title: 'far CALL m16:16/32', forms: ['call m'] },
  { title: 'far JMP ptr16:16/32 and m16:16/32', forms: ['jmp', 'jmp m'] },
  { title: 'RETF and RETF imm16, to the same and to outer rings', forms: ['retf'] },
  { title: 'IRET to the same and to outer rings', forms: ['iret'] },
  { title: 'CALL through a call gate and the callee’s RETF imm16 back (the round trip)', forms: ['call+retf'] },
];

describeCpu('far transfers against the SDM pseudocode', () => {
  it(`covers ${ALL.length} cases, faulting and not, in every family`, () => {
    for (const f of FAMILIES) expect(ALL.filter((c) => f.forms.includes(c.form)).length).toBeGreaterThan(50);
  });
  for (const family of FAMILIES)
    it(family.title, () => {
      const rig = makeRig(4);
      const failures: string[] = [];
      let faults = 0;
      for (const c of ALL.filter((k) => family.forms.includes(k.form))) {
        const { got, want } = run(rig, c);
        if (want.state.cs === SEL_SETUP_CODE) faults++;
        const diff = differences(got, want);
        if (diff.length) failures.push(`${c.name}:\n    ${diff.join('\n    ')}`);
      }
      if (family.forms[0] !== 'call+retf') expect(faults).toBeGreaterThan(0);
      expect(failures.length, failures.slice(0, 6).join('\n')).toBe(0);
    });
});
