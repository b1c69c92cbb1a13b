// Type-ahead sends a request on every key and keeps only the newest answer:
// no debounce (a debounce adds its delay to every search), and an answer that
// arrives after a newer request was sent is dropped, so what is on screen
// always matches what is in the box.

export interface Latest {
  /** Starts a request: the function it returns tells whether it is still the newest one. */
  next(): () => boolean;
  /** Forgets every request in flight: none of their answers is newest any more. */
  drop(): void;
}

export function latest(): Latest {
  let seq = 0;
  return {
    next() {
      const mine = ++seq;
      return () => mine === seq;
    },
    drop() {
      seq++;
    },
  };
}
