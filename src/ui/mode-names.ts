/** The display modes' names as the page shows them. */
import type { DisplayModeName } from '../ioemu/refresh';

/** One name per display mode, wherever the page shows it (the control, the meter, the chart's marks). */
export const MODE_NAME: Record<DisplayModeName, string> = {
  poll: 'poll',
  dirty: 'dirty',
  'dirty-idle': 'dirty + idle drop',
  trap: 'trap',
};
