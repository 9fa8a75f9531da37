/**
 * Orders a full refresh that replaces the list. The first batch to get through
 * runs with `first` true (its upload starts with removeAll); batches that come
 * while it is in flight wait, so none of their members is uploaded before the
 * list is emptied (and then wiped by it). If that batch fails, the next one to
 * run becomes the first. Once the list was emptied, batches run freely.
 */
export class ReplaceGate {
  private emptied = false;
  private tail: Promise<void> = Promise.resolve();

  async run<T>(fn: (first: boolean) => Promise<T>): Promise<T> {
    if (this.emptied) return fn(false);
    const previous = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((r) => (release = r));
    await previous;
    try {
      if (this.emptied) return await fn(false);
      const out = await fn(true);
      this.emptied = true;
      return out;
    } finally {
      release();
    }
  }
}
