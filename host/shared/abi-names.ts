// Names of a family of the core's constants, indexed by value, made from the constants' own names
// (DROP_REASON_PARK_OVERFLOW = 5 → 'park_overflow' or 'ParkOverflow'): metric labels and log text come from
// assembly/, never from a second list that could fall out of step with it.
export type NameStyle = 'snake' | 'pascal';

export function namesByValue(group: Readonly<Record<string, unknown>>, prefix: string, style: NameStyle): readonly string[] {
  const names: string[] = [];
  const keys: string[] = [];
  for (const [key, value] of Object.entries(group)) {
    if (!key.startsWith(prefix) || typeof value !== 'number') continue;
    if (keys[value] !== undefined) throw new Error(`core ABI: ${prefix}* has two constants of value ${value} (${keys[value]}, ${key})`);
    keys[value] = key;
    names[value] = styled(key.slice(prefix.length), style);
  }
  for (let i = 0; i < names.length; i++) {
    if (names[i] === undefined) throw new Error(`core ABI: ${prefix}* has no constant of value ${i}: names would not index by value`);
  }
  if (names.length === 0) throw new Error(`core ABI: no constant starts with ${prefix}`);
  return Object.freeze(names);
}

function styled(word: string, style: NameStyle): string {
  const lower = word.toLowerCase();
  if (style === 'snake') return lower;
  return lower.split('_').map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('');
}
