// The guard's tiles (phone, one hand, night rounds).
import { ICONS } from '../icons.js';

export const tiles = [
  { id: 'patrol', icon: ICONS.patrol, route: '/patrol' },
  { id: 'duty_log', icon: ICONS.duty_log, route: '/duty-log' },
  { id: 'visitors', icon: ICONS.visitors, route: '/gate' },
  { id: 'parcels', icon: ICONS.parcels, route: '/parcels' },
  { id: 'incidents', icon: ICONS.incidents, route: '/incidents' },
  // Fire checks begin at the equipment list (what each extinguisher's beacon reports).
  { id: 'fire_checks', icon: ICONS.fire_checks, route: '/equipment' },
];
