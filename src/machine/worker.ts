/**
 * The worker entry: a thin comlink wrapper over Machine. It checks nothing itself beyond what the
 * Machine checks, and turns any host exception into an EINTERNAL result so none crosses over.
 */
import * as Comlink from 'comlink';
import { err, ErrorCode, ok, type MachineApi, type Result } from '../shared/api';
import { MediumError } from './devices/block-medium';
import { Machine } from './machine';

let machine: Machine | null = null;

function guarded<T>(fn: () => Result<T>): Result<T> {
  try {
    return fn();
  } catch (e) {
    return err(ErrorCode.EINTERNAL, e instanceof Error ? `${e.name}: ${e.message}` : String(e));
  }
}

function withMachine<T>(fn: (m: Machine) => Result<T>): Result<T> {
  return guarded(() => (machine ? fn(machine) : err(ErrorCode.ESTATE, 'no machine: call create() first')));
}

const api: MachineApi = {
  async create(config, image) {
    return guarded(() => {
      const made = Machine.create(config, image);
      if (!made.ok) return made;
      machine?.destroy();
      machine = made.value;
      machine.listenForHypercalls();
      return ok(machine.handles);
    });
  },
  start: () => withMachine((m) => m.start()),
  pause: () => withMachine((m) => m.pause()),
  reset: () => withMachine((m) => m.reset()),
  sendScancodes: (bytes) => withMachine((m) => m.sendScancodes(bytes)),
  serialWrite: (text) => withMachine((m) => m.serialWrite(text)),
  serialRead: () => withMachine((m) => m.serialRead()),
  stats: () => withMachine((m) => ok(m.statsSnapshot())),
  trackDirtyVram: (firstPfn, nr, client) =>
    withMachine((m) => {
      const r = m.trackDirtyVram(firstPfn, nr, client);
      return r.ok ? Comlink.transfer(r, [r.value.buffer]) : r;
    }),
  setIdleDrop: (on, client) => withMachine((m) => m.setIdleDrop(on, client)),
  setTrapWrites: (on, client) => withMachine((m) => m.setTrapWrites(on, client)),
  hdaImage: () =>
    withMachine((m) => {
      let d;
      try {
        d = m.hdaImage();
      } catch (e) {
        // A disk read by ranges whose server failed the unread part: said, not a bug of ours.
        if (e instanceof MediumError)
          return err(ErrorCode.EBADIMAGE, `the disk image could not be read whole: ${e.message}`);
        throw e;
      }
      return d ? Comlink.transfer(ok(d), [d.image]) : ok(null);
    }),
  hdaState: () => withMachine((m) => ok(m.hdaState())),
  changeCdrom: (image) => withMachine((m) => m.changeCdrom(image)),
  lastFault: () => withMachine((m) => ok(m.lastFault())),
  ping: () => performance.now(),
};

Comlink.expose(api);
