/**
 * Paging by a hand-written program (programs/tests.S, "paging"): accessed and dirty bits exactly
 * as the hardware sets them (SDM vol. 3, 4.8), CR0.WP, U/S and R/W from ring 3, #PF error codes
 * and CR2, 4 MiB pages, INVLPG and CR3 reloads, and a REP MOVSB that faults on its second page
 * and restarts exactly.
 */
import { expect, it } from 'vitest';
import { describeCpu } from './rig';
import { pmMachine, SEL, SYM } from './pm-machine';

const PD = 0x20000;
const PT0 = 0x21000;
const PT1 = 0x22000;
const P = 1;
const RW = 2;
const US = 4;
const A = 0x20;
const D = 0x40;
const PS = 0x80;
const PF = 14;

function machine() {
  const m = pmMachine('paging');
  m.setU32(PD + 0, PT0 | P | RW | US);
  m.setU32(PD + 4, PT1 | P | RW | US);
  m.setU32(PD + 8, 0x800000 | PS | P | RW | US);
  for (let i = 0; i < 1024; i++) m.setU32(PT0 + 4 * i, (i << 12) | P | RW | US);
  const pt1 = [
    0x100000 | P | RW | US,
    0x101000 | P | US, // read-only
    0, // not present
    0x103000 | P | RW, // supervisor
    0x104000 | P | RW | US,
    0x105000 | P | RW | US,
    0x108000 | P | RW | US,
    0, // mapped by the #PF handler (FIXUP) during the REP MOVSB
    0x10a000 | P | RW | US,
    0, // not present: the second page of a crossing write
  ];
  pt1.forEach((e, i) => m.setU32(PT1 + 4 * i, e));
  m.setU32(0x104000, 0xaaaa0001);
  m.setU32(0x105000, 0xbbbb0002);
  m.setU32(0x106000, 0xcccc0003);
  for (let i = 0; i < 16; i++) m.memory.u8[0x30000 + i] = i + 1;
  m.setU32(0x105ffc, 0x44332211); // the crossing read: 0x4433 from page 5, 0x6655 from page 6
  m.setU32(0x108000, 0x88776655);
  m.setU32(0x10affc, 0x12345678); // the crossing write must leave 0x1234 here
  m.runToHalt();
  return m;
}

describeCpu('paging: accessed and dirty bits, protection, TLB', () => {
  const m = machine();
  const log = m.log();
  const pf = log.filter((e) => e.vector === PF);

  it('a read sets only A, in the PDE and in the PTE', () => {
    expect(m.rec(0)).toBe(PT1 | P | RW | US | A);
    expect(m.rec(1)).toBe(0x100000 | P | RW | US | A);
  });

  it('a write through a clean TLB entry sets PTE.D (the PDE of a 4 KiB table gets no D)', () => {
    expect(m.rec(2)).toBe(PT1 | P | RW | US | A);
    expect(m.rec(3)).toBe(0x100000 | P | RW | US | A | D);
    expect(m.u32(0x100000)).toBe(0x11111111);
  });

  it('with CR0.WP = 0, ring 0 writes a read-only page (and sets D); with WP = 1 it is #PF(P|W)', () => {
    expect(m.rec(4)).toBe(0x101000 | P | US | A);
    expect(m.rec(5)).toBe(0x101000 | P | US | A | D);
    expect(m.u32(0x101000)).toBe(0x22222222);
    expect([pf[0].error, pf[0].cr2, pf[0].eip]).toEqual([P | RW, 0x401000, SYM.at_wp_write]);
  });

  it('not-present pages: #PF(0) on a read, #PF(W) on a write, CR2 = the linear address', () => {
    expect([pf[1].error, pf[1].cr2]).toEqual([0, 0x402000]);
    expect([pf[2].error, pf[2].cr2]).toEqual([RW, 0x402004]);
  });

  it('a 4 MiB page (CR4.PSE, PDE.PS) maps and gets A and D in the PDE', () => {
    expect(m.rec(6)).toBe(0x800000 | PS | P | RW | US | A | D);
    expect(m.u32(0x800010)).toBe(0x44444444);
  });

  it('INVLPG and a CR3 reload make the CPU use the changed PTE', () => {
    expect(m.rec(7)).toBe(0xaaaa0001);
    expect(m.rec(8)).toBe(0xbbbb0002);
    expect(m.rec(9)).toBe(0xcccc0003);
  });

  it('a REP MOVSB that faults on its second page reports the progress made and restarts exactly', () => {
    const e = pf[3];
    expect([e.error, e.cr2, e.eip]).toEqual([RW, 0x407000, SYM.at_rep_movsb]);
    expect([e.ecx, e.esi, e.edi]).toEqual([8, 0x30008, 0x407000]);
    expect([m.rec(10), m.rec(11), m.rec(12)]).toEqual([0, 0x30010, 0x407008]);
    const copied = [...m.memory.u8.subarray(0x108ff8, 0x109000), ...m.memory.u8.subarray(0x109000, 0x109008)];
    expect(copied).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
  });

  it('a dword read across two present pages reads both; a write whose second page is absent faults and writes nothing', () => {
    expect(m.rec(14)).toBe(0x66554433);
    const e = pf[4];
    expect([e.error, e.cr2, e.eip]).toEqual([RW, 0x409000, SYM.at_cross_write]);
    expect(m.u32(0x10affc)).toBe(0x12345678);
  });

  it('from ring 3: supervisor pages are #PF(U|P) / #PF(U|W|P), a read-only user page #PF(U|W|P), absent #PF(U)', () => {
    const r3 = pf.slice(5);
    expect(r3.map((e) => [e.error, e.cr2])).toEqual([
      [US | P, 0x403000],
      [US | RW | P, 0x403000],
      [US | RW | P, 0x401000],
      [US, 0x402000],
    ]);
    for (const e of r3) expect(e.cs).toBe(SEL.CODE3);
    expect(m.rec(13)).toBe(0xbbbb0002);
  });

  it('nothing else faulted: the run ended with ring 3 HLT (#GP)', () => {
    expect(pf.length).toBe(9);
    expect(log[log.length - 1].vector).toBe(13);
    expect(log.length).toBe(10);
  });
});
