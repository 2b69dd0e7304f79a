import type { Writable } from "node:stream";

/**
 * Buffers lines and writes them in chunks, waiting for the stream to drain when it is full, so a replay of
 * millions of records neither floods memory nor pays a syscall per line.
 */
export class LineWriter {
  #buffer: string[] = [];
  #size = 0;

  constructor(
    private readonly out: Writable,
    private readonly chunkBytes = 64 * 1024,
  ) {}

  /** A promise only when the buffer was full and is being written: most lines cost no promise. */
  line(text: string): Promise<void> | undefined {
    this.#buffer.push(text);
    this.#size += text.length + 1;
    return this.#size >= this.chunkBytes ? this.flush() : undefined;
  }

  async flush(): Promise<void> {
    if (this.#buffer.length === 0) return;
    const chunk = `${this.#buffer.join("\n")}\n`;
    this.#buffer = [];
    this.#size = 0;
    if (!this.out.write(chunk)) await new Promise<void>((resolve) => this.out.once("drain", resolve));
  }
}
