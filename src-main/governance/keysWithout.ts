// Keys known to hold no row of one kind (no live grant, no active plan), so that whoami, which asks on every call,
// reads nothing for the usual answer "none". Such a row only appears by an insert (time only ends one): an insert by
// this process says so (added), and one by another process or node moves the store's change counter.
export class KeysWithout {
  private none = new Set<string>();
  private version = -1;
  private generation = 0;
  private readonly changes: () => Promise<number>;
  constructor(changes: () => Promise<number>) {
    this.changes = changes;
  }

  /** read()'s rows for keyId, or none without reading when keyId is known to hold none. */
  async rows<T>(keyId: string, read: () => Promise<T[]>): Promise<T[]> {
    const version = await this.changes();
    if (version !== this.version) {
      this.none.clear();
      this.version = version;
    }
    if (this.none.has(keyId)) return [];
    const generation = this.generation;
    const rows = await read();
    // Remembered only if nothing was inserted here while it read (an asynchronous store's insert may be committing).
    if (rows.length === 0 && generation === this.generation && version === this.version) {
      if (this.none.size >= 4096) this.none.clear();
      this.none.add(keyId);
    }
    return rows;
  }

  /** This process is inserting one for keyId: called at the insert and again once it has committed. */
  added(keyId: string): void {
    this.generation++;
    this.none.delete(keyId);
  }
}
