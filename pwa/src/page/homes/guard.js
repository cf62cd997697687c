// The guard's tiles (phone, one hand, night rounds).
import { ICONS } from '../icons.js';

export const tiles = [
  { id: 'patrol', icon: ICONS.patrol },
  { id: 'duty_log', icon: ICONS.duty_log, route: '/duty-log' },
  { id: 'visitors', icon: ICONS.visitors },
  { id: 'parcels', icon: ICONS.parcels },
  { id: 'incidents', icon: ICONS.incidents },
  { id: 'fire_checks', icon: ICONS.fire_checks },
];
