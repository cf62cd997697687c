// The site admin's tiles.
import { ICONS } from '../icons.js';

export const tiles = [
  { id: 'sites', icon: ICONS.sites, route: '/admin/sites' },
  { id: 'zones_units', icon: ICONS.zones_units, route: '/admin/zones' },
  { id: 'people', icon: ICONS.people, route: '/admin/people' },
  { id: 'devices', icon: ICONS.devices, route: '/devices' },
  { id: 'duty_log', icon: ICONS.duty_log, route: '/duty-log' },
  { id: 'live_board', icon: ICONS.live_board, route: '/board' },
  { id: 'fire_equipment', icon: ICONS.fire_checks, route: '/equipment' },
  { id: 'gate', icon: ICONS.visitors, route: '/gate' },
  { id: 'labels', icon: ICONS.labels, href: (ctx) => `/api/sites/${ctx.membership.site.id}/labels.pdf` },
];
