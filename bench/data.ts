/**
 * The pixel bytes every image benchmark trains on (ours and the peers', so
 * both see the same batches): byte i is v²/255 with v = 31·i mod 256, a
 * pattern that varies along rows and between them, with a mean of about a
 * third. A mean away from one half matters for the peers' training check:
 * at 0.5 the best constant output is the initial one, and a convolutional
 * decoder's first steps then leave the loss where it started.
 */
export function benchPixels(count: number): Uint8Array {
  return Uint8Array.from({ length: count }, (_, i) => {
    const v = (i * 31) % 256;
    return Math.floor((v * v) / 255);
  });
}
