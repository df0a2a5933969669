import { describe, expect, it } from 'vitest';
import { GuestWorkload } from '../../src/ui/guest-workload';
import { readViewState, type ViewState } from '../../src/ui/view-state';

function page() {
  let view: ViewState = readViewState('?workload=clock&res=1024x768x32');
  const lines: string[] = [];
  const w = new GuestWorkload(
    () => view,
    (patch) => (view = { ...view, ...patch }),
    (line) => lines.push(line),
    () => {},
    () => false,
  );
  return { w, lines, view: () => view };
}

describe("the guest's workload, asked for and followed on COM1", () => {
  it('asks the toy guest for a workload or a clock period with its commands, and the view says so', () => {
    const p = page();
    p.w.choose('plasma');
    p.w.tick(5);
    expect(p.lines).toEqual(['workload plasma\n', 'tick 5\n']);
    expect(p.view()).toMatchObject({ workload: 'plasma', tick: 5 });
  });

  it('follows the workload and video mode hvmos announces (its keys, a command typed in the console)', () => {
    const p = page();
    p.w.output('', 'hvmos: workload scroll\nhvmos: mode 800x600x16\n');
    expect(p.view()).toMatchObject({ workload: 'scroll', res: '800x600x16' });
    expect(p.lines).toEqual([]); // following is not asking
  });

  it('ignores an announced workload or mode the page does not know', () => {
    const p = page();
    p.w.output('', 'hvmos: workload frobnicate\nhvmos: mode 800x600x12\n');
    expect(p.view()).toMatchObject({ workload: 'clock', res: '1024x768x32' });
  });
});
