// The supervisor's tiles (tablet, landscape).
import { ICONS } from '../icons.js';

export const tiles = [
  { id: 'live_board', icon: ICONS.live_board },
  { id: 'review_queue', icon: ICONS.review_queue },
  { id: 'duty_log', icon: ICONS.duty_log, route: '/duty-log' },
  { id: 'devices', icon: ICONS.devices, route: '/devices' },
];
