/** Random edits of a valid file, for mutation fuzz tests of parsers. */

/**
 * A copy of `base` with 1 to 4 random edits (a random or boundary byte, a
 * character from `alphabet` when given, a bit flip, an inserted or deleted
 * byte), and in 15% of cases a truncation at a random length.
 */
export function mutate(base: Uint8Array, rnd: () => number, alphabet = ''): Uint8Array {
  let b = Array.from(base);
  const special = [0, 1, 2, 3, 4, 5, 8, 0x0d, 0x0e, 0x7f, 0x80, 0xff];
  const edits = 1 + Math.floor(rnd() * 4);
  for (let e = 0; e < edits; e++) {
    const pos = Math.floor(rnd() * b.length);
    const kind = rnd();
    if (kind < 0.35) b[pos] = Math.floor(rnd() * 256);
    else if (kind < 0.55) b[pos] = special[Math.floor(rnd() * special.length)]!;
    else if (kind < 0.7 && alphabet) b[pos] = alphabet.charCodeAt(Math.floor(rnd() * alphabet.length));
    else if (kind < 0.85) b[pos] = b[pos]! ^ (1 << Math.floor(rnd() * 8));
    else if (kind < 0.92) b.splice(pos, 0, Math.floor(rnd() * 256));
    else b.splice(pos, 1);
  }
  if (rnd() < 0.15) b = b.slice(0, Math.floor(rnd() * b.length));
  return Uint8Array.from(b);
}
