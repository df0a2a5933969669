/**
 * bzImages made by the boot tests (linux.test.ts, xz.test.ts): a setup header with the fields the
 * loader reads and a small protected-mode part, optionally with a payload for the loader to unpack.
 */
import { BOOT_CS, BOOT_DS, HDRS_MAGIC, KERNEL_AT } from '../../src/machine/boot/linux';

/**
 * A bzImage made here: a setup header with the fields the loader reads, and a protected-mode part
 * that reloads DS/ES/SS and CS from the loader's GDT (so a bad descriptor would fault) and halts.
 */
export const PM_CODE = [
  ...[0xb8, BOOT_DS, 0, 0, 0], // mov eax, __BOOT_DS
  ...[0x8e, 0xd8, 0x8e, 0xc0, 0x8e, 0xd0], // mov ds, ax; mov es, ax; mov ss, ax
  ...[0xea, 0x12, 0x00, 0x10, 0x00, BOOT_CS, 0x00], // jmp far __BOOT_CS:0x100012
  0xf4, // hlt (at 0x100012)
];
export const HLT_AT = KERNEL_AT + 0x12;

export interface BzOptions {
  protocol?: number;
  setupSects?: number;
  loadflags?: number;
  cmdlineSize?: number;
  initrdAddrMax?: number;
  prefAddress?: number;
  initSize?: number;
  relocatable?: number;
  pmBytes?: number;
  /** A payload (payload_offset 0x100 into the protected-mode part) and the size appended after it. */
  payload?: { bytes: Uint8Array; size: number };
}

export function makeBzImage(o: BzOptions = {}): Uint8Array {
  const setupSects = o.setupSects ?? 4;
  const withPayload = o.payload ? Math.ceil((0x100 + o.payload.bytes.length + 4) / 16) * 16 : 0;
  const pmBytes = Math.max(o.pmBytes ?? 0x1000, withPayload);
  const b = new Uint8Array((setupSects + 1) * 512 + pmBytes);
  const dv = new DataView(b.buffer);
  b[0x1f1] = setupSects;
  dv.setUint32(0x1f4, pmBytes / 16, true); // syssize
  dv.setUint16(0x1fe, 0xaa55, true);
  b[0x200] = 0xeb; // jmp short over the header: it ends at 0x202 + 0x6a = 0x26c
  b[0x201] = 0x6a;
  dv.setUint32(0x202, HDRS_MAGIC, true);
  dv.setUint16(0x206, o.protocol ?? 0x020f, true);
  b[0x211] = o.loadflags ?? 0x01; // LOADED_HIGH
  dv.setUint32(0x214, KERNEL_AT, true); // code32_start
  dv.setUint32(0x22c, o.initrdAddrMax ?? 0x7fffffff, true);
  dv.setUint32(0x230, 0x200000, true); // kernel_alignment
  b[0x234] = o.relocatable ?? 1;
  dv.setUint32(0x238, o.cmdlineSize ?? 2047, true);
  dv.setBigUint64(0x258, BigInt(o.prefAddress ?? 0x200000), true);
  dv.setUint32(0x260, o.initSize ?? 0x400000, true);
  b.set(PM_CODE, (setupSects + 1) * 512);
  if (o.payload) {
    const at = (setupSects + 1) * 512 + 0x100;
    b.set(o.payload.bytes, at);
    dv.setUint32(at + o.payload.bytes.length, o.payload.size, true); // the build's size_append
    dv.setUint32(0x248, 0x100, true); // payload_offset
    dv.setUint32(0x24c, o.payload.bytes.length + 4, true); // payload_length
  }
  return b;
}
