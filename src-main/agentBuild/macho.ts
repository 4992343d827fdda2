// `codesign --remove-signature` for a thin 64-bit Mach-O, so a macOS executable can be built on Linux (where codesign
// does not exist). postject must not inject into a signed binary: the old signature would be left invalid, and macOS kills a
// hardened-runtime binary whose signature does not match. An unsigned x64 binary runs; the MSP signs it with their own
// Developer ID afterwards (README, "Deploying agents").

const MH_MAGIC_64 = 0xfeedfacf;
const LC_SEGMENT_64 = 0x19;
const LC_CODE_SIGNATURE = 0x1d;
const HEADER = 32;

/** Removes LC_CODE_SIGNATURE and the signature bytes at the end of __LINKEDIT; returns the unsigned binary (the input if unsigned). */
export function stripMachoSignature(bin: Buffer): Buffer {
  if (bin.length < HEADER || bin.readUInt32LE(0) !== MH_MAGIC_64) throw new Error('not a thin 64-bit little-endian Mach-O (a universal binary must be thinned first)');
  const ncmds = bin.readUInt32LE(16);
  const sizeofcmds = bin.readUInt32LE(20);
  if (HEADER + sizeofcmds > bin.length) throw new Error('Mach-O load commands run past the end of the file');
  let sig: { at: number; size: number; dataoff: number; datasize: number } | null = null;
  let linkedit: number | null = null;
  let at = HEADER;
  for (let i = 0; i < ncmds; i++) {
    const cmd = bin.readUInt32LE(at);
    const size = bin.readUInt32LE(at + 4);
    if (size < 8 || at + size > HEADER + sizeofcmds) throw new Error(`Mach-O load command ${i} is malformed`);
    if (cmd === LC_CODE_SIGNATURE) sig = { at, size, dataoff: bin.readUInt32LE(at + 8), datasize: bin.readUInt32LE(at + 12) };
    if (cmd === LC_SEGMENT_64 && bin.toString('latin1', at + 8, at + 24).replace(/\0+$/, '') === '__LINKEDIT') linkedit = at;
    at += size;
  }
  if (!sig) return bin;
  if (linkedit === null) throw new Error('signed Mach-O without a __LINKEDIT segment');
  const fileoff = Number(bin.readBigUInt64LE(linkedit + 40));
  const filesize = Number(bin.readBigUInt64LE(linkedit + 48));
  // The signature must be the last thing in the file, at the end of __LINKEDIT: then cutting it off leaves everything else in place.
  if (sig.dataoff + sig.datasize !== bin.length || fileoff + filesize !== bin.length || sig.dataoff < fileoff) {
    throw new Error('the code signature is not at the end of __LINKEDIT and the file; refusing to rewrite this binary');
  }
  const out = Buffer.from(bin.subarray(0, sig.dataoff));
  out.copy(out, sig.at, sig.at + sig.size, HEADER + sizeofcmds);
  out.fill(0, HEADER + sizeofcmds - sig.size, HEADER + sizeofcmds);
  out.writeUInt32LE(ncmds - 1, 16);
  out.writeUInt32LE(sizeofcmds - sig.size, 20);
  out.writeBigUInt64LE(BigInt(sig.dataoff - fileoff), linkedit + 48 - (linkedit > sig.at ? sig.size : 0));
  return out;
}

/** Whether a thin 64-bit Mach-O carries LC_CODE_SIGNATURE. */
export function hasMachoSignature(bin: Buffer): boolean {
  if (bin.readUInt32LE(0) !== MH_MAGIC_64) return false;
  let at = HEADER;
  for (let i = 0, n = bin.readUInt32LE(16); i < n; i++) {
    if (bin.readUInt32LE(at) === LC_CODE_SIGNATURE) return true;
    at += bin.readUInt32LE(at + 4);
  }
  return false;
}
