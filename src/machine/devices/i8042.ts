/**
 * The i8042 keyboard controller (data 0x60, status/command 0x64) with a PS/2 keyboard behind it,
 * and port 0x92 ("fast A20"). The host sends scancode set 2 (what a PS/2 keyboard sends); with
 * the command byte's translate bit on (the default) the controller hands the guest set 1, as a
 * PC's 8042 does. IRQ 1 when output is ready and the command byte enables it. The A20 gate is the
 * output port's bit 1 (and port 0x92 bit 1); resets come from command 0xFE, a pulse of output
 * port bit 0, or port 0x92 bit 0. The keyboard's typematic is off: a held key is one make code
 * until its break (0xF3 sets a rate that is acknowledged and not used), so the host sends no
 * auto-repeats.
 */
import type { AccessSize } from '../bus';
import type { Device, PortRange } from './device';

/** Set 2 → set 1 (the 8042's translation, a hardware fact; codes ≥ 0x80 other than 0x83 pass through). */
const SET2_TO_SET1 = new Uint8Array(256);
// prettier-ignore
SET2_TO_SET1.set([
  0xff, 0x43, 0x41, 0x3f, 0x3d, 0x3b, 0x3c, 0x58, 0x64, 0x44, 0x42, 0x40, 0x3e, 0x0f, 0x29, 0x59,
  0x65, 0x38, 0x2a, 0x70, 0x1d, 0x10, 0x02, 0x5a, 0x66, 0x71, 0x2c, 0x1f, 0x1e, 0x11, 0x03, 0x5b,
  0x67, 0x2e, 0x2d, 0x20, 0x12, 0x05, 0x04, 0x5c, 0x68, 0x39, 0x2f, 0x21, 0x14, 0x13, 0x06, 0x5d,
  0x69, 0x31, 0x30, 0x23, 0x22, 0x15, 0x07, 0x5e, 0x6a, 0x72, 0x32, 0x24, 0x16, 0x08, 0x09, 0x5f,
  0x6b, 0x33, 0x25, 0x17, 0x18, 0x0b, 0x0a, 0x60, 0x6c, 0x34, 0x35, 0x26, 0x27, 0x19, 0x0c, 0x61,
  0x6d, 0x73, 0x28, 0x74, 0x1a, 0x0d, 0x62, 0x6e, 0x3a, 0x36, 0x1c, 0x1b, 0x75, 0x2b, 0x63, 0x76,
  0x55, 0x56, 0x77, 0x78, 0x79, 0x7a, 0x0e, 0x7b, 0x7c, 0x4f, 0x7d, 0x4b, 0x47, 0x7e, 0x7f, 0x6f,
  0x52, 0x53, 0x50, 0x4c, 0x4d, 0x48, 0x01, 0x45, 0x57, 0x4e, 0x51, 0x4a, 0x37, 0x49, 0x46, 0x54,
]);
for (let i = 0x80; i < 256; i++) SET2_TO_SET1[i] = i;
SET2_TO_SET1[0x83] = 0x41;

const STATUS_OBF = 0x01;
const STATUS_SYS = 0x04;
const STATUS_CMD = 0x08;
const STATUS_UNLOCKED = 0x10;
const CB_KBD_IRQ = 0x01;
const CB_SYS = 0x04;
const CB_KBD_DISABLED = 0x10;
const CB_TRANSLATE = 0x40;

export interface I8042Hooks {
  irq1(): void;
  setA20(enabled: boolean): void;
  reset(): void;
}

export class I8042 implements Device {
  readonly name = 'i8042';
  private readonly out: number[] = [];
  private commandByte = CB_KBD_IRQ | CB_SYS | CB_TRANSLATE;
  private status = STATUS_UNLOCKED;
  private pendingController = 0; // a controller command waiting for its data byte
  private pendingKeyboard = 0; // a keyboard command waiting for its parameter
  private outputPort = 0x03; // A20 on, not in reset
  private port92 = 0x02;
  private breakPrefix = false;
  private scanning = true;
  private scancodeSet = 2;

  constructor(private readonly hooks: I8042Hooks) {}

  readonly ports: readonly PortRange[] = [
    {
      first: 0x60,
      count: 1,
      handler: {
        read: () => this.readData(),
        write: (_p: number, _s: AccessSize, v: number) => this.writeData(v & 0xff),
      },
    },
    {
      first: 0x64,
      count: 1,
      handler: {
        read: () => this.status | (this.out.length ? STATUS_OBF : 0),
        write: (_p: number, _s: AccessSize, v: number) => this.writeCommand(v & 0xff),
      },
    },
    {
      // System control port A ("fast A20"): the chipset's, kept here because it ORs into the same A20 gate.
      first: 0x92,
      count: 1,
      handler: {
        read: () => this.port92,
        write: (_p: number, _s: AccessSize, v: number) => {
          const before = this.a20();
          this.port92 = v & 0x03;
          if (this.a20() !== before) this.hooks.setA20(this.a20());
          if (v & 1) this.hooks.reset();
        },
      },
    },
  ];

  saveState(): unknown {
    return {
      out: [...this.out],
      ...{ commandByte: this.commandByte, status: this.status, outputPort: this.outputPort, port92: this.port92 },
      ...{ pendingController: this.pendingController, pendingKeyboard: this.pendingKeyboard },
      ...{ breakPrefix: this.breakPrefix, scanning: this.scanning, scancodeSet: this.scancodeSet },
    };
  }

  reset(): void {
    this.out.length = 0;
    this.commandByte = CB_KBD_IRQ | CB_SYS | CB_TRANSLATE;
    this.status = STATUS_UNLOCKED;
    this.pendingController = this.pendingKeyboard = 0;
    this.outputPort = 0x03;
    this.port92 = 0x02;
    this.breakPrefix = false;
    this.scanning = true;
    this.scancodeSet = 2;
  }

  /** The A20 gate: the output port's bit 1 or port 0x92's bit 1 (the chipset ORs them). */
  private a20(): boolean {
    return ((this.outputPort | this.port92) & 2) !== 0;
  }

  /** Host key events, as PS/2 set-2 bytes (make, F0-prefixed break, E0 extensions). */
  sendScancodes(bytes: Iterable<number>): void {
    if (!this.scanning || this.commandByte & CB_KBD_DISABLED) return;
    for (const b of bytes) {
      if (!(this.commandByte & CB_TRANSLATE)) {
        this.push(b);
        continue;
      }
      if (b === 0xf0) {
        this.breakPrefix = true;
        continue;
      }
      const code = SET2_TO_SET1[b & 0xff] | (this.breakPrefix ? 0x80 : 0);
      this.breakPrefix = false;
      this.push(code);
    }
  }

  private push(b: number): void {
    const wasEmpty = this.out.length === 0;
    this.out.push(b & 0xff);
    if (wasEmpty && this.commandByte & CB_KBD_IRQ) this.hooks.irq1();
  }

  private readData(): number {
    const v = this.out.shift() ?? 0;
    if (this.out.length && this.commandByte & CB_KBD_IRQ) this.hooks.irq1();
    return v;
  }

  private writeCommand(c: number): void {
    this.status |= STATUS_CMD;
    switch (c) {
      case 0x20:
        this.push(this.commandByte);
        return;
      case 0x60:
      case 0xd1:
      case 0xd2:
        this.pendingController = c;
        return;
      case 0xaa:
        this.status |= STATUS_SYS;
        this.push(0x55);
        return;
      case 0xab:
      case 0xa9:
        this.push(0x00);
        return;
      case 0xad:
        this.commandByte |= CB_KBD_DISABLED;
        return;
      case 0xae:
        this.commandByte &= ~CB_KBD_DISABLED;
        return;
      case 0xd0:
        this.push(this.outputPort);
        return;
      default:
        // 0xF0–0xFF pulse output-port lines low for a moment: bit 0 low is the CPU reset.
        if (c >= 0xf0 && !(c & 1)) this.hooks.reset();
    }
  }

  private writeData(v: number): void {
    this.status &= ~STATUS_CMD;
    const pc = this.pendingController;
    if (pc) {
      this.pendingController = 0;
      if (pc === 0x60) {
        this.commandByte = v;
        if (v & CB_SYS) this.status |= STATUS_SYS;
      } else if (pc === 0xd1) {
        const before = this.a20();
        this.outputPort = v;
        if (this.a20() !== before) this.hooks.setA20(this.a20());
        if (!(v & 1)) this.hooks.reset();
      } else this.push(v); // 0xD2: as if the keyboard sent it
      return;
    }
    this.keyboardCommand(v);
  }

  /** Bytes to the keyboard itself (its replies go through the translation like any other byte from it). */
  private keyboardCommand(v: number): void {
    const pk = this.pendingKeyboard;
    if (pk) {
      this.pendingKeyboard = 0;
      if (pk === 0xf0 && v === 0) {
        this.push(0xfa);
        this.push(this.commandByte & CB_TRANSLATE ? SET2_TO_SET1[this.scancodeSet] : this.scancodeSet);
        return;
      }
      if (pk === 0xf0 && v >= 1 && v <= 3) this.scancodeSet = v;
      this.push(0xfa);
      return;
    }
    switch (v) {
      case 0xff:
        this.scanning = true;
        this.push(0xfa);
        this.push(0xaa);
        return;
      case 0xf2:
        this.push(0xfa);
        this.push(0xab);
        this.push(this.commandByte & CB_TRANSLATE ? 0x41 : 0x83);
        return;
      case 0xf4:
      case 0xf5:
        this.scanning = v === 0xf4;
        this.push(0xfa);
        return;
      case 0xed:
      case 0xf0:
      case 0xf3:
        this.pendingKeyboard = v;
        this.push(0xfa);
        return;
      case 0xee:
        this.push(0xee);
        return;
      case 0xf6:
        this.push(0xfa);
        return;
      default:
        this.push(0xfe);
    }
  }
}
