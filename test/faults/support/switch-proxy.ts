import { type AddressInfo, connect, createServer, type Server, type Socket } from "node:net";

/**
 * A loopback TCP relay whose behaviour the test switches: `forward` relays both ways;
 * `blackhole` accepts connections and never answers (a target that hangs rather than refuses);
 * `hold` stops relaying what clients send on open connections until `forward` again, as if the
 * network had stalled mid-call.
 */
export class SwitchProxy {
  private server: Server | undefined;
  private readonly pairs = new Set<{ client: Socket; upstream: Socket | undefined }>();
  private mode: "forward" | "blackhole" | "hold" = "forward";
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(mode: "forward" | "blackhole" = "forward"): Promise<this> {
    this.mode = mode;
    this.server = createServer((client) => this.accept(client));
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  /** Bytes clients sent while held, waiting in the relay. */
  get heldBytes(): number {
    let n = 0;
    for (const p of this.pairs) n += p.client.readableLength;
    return n;
  }

  blackhole(): void {
    this.mode = "blackhole";
  }

  hold(): void {
    this.mode = "hold";
    for (const p of this.pairs) {
      if (!p.upstream) continue;
      p.client.unpipe(p.upstream);
      p.client.pause();
    }
  }

  /** Relays again: held bytes go on, and connections accepted by the black hole are dropped. */
  forward(): void {
    this.mode = "forward";
    for (const p of [...this.pairs]) {
      if (p.upstream) p.client.pipe(p.upstream);
      else {
        p.client.destroy();
        this.pairs.delete(p);
      }
    }
  }

  async stop(): Promise<void> {
    for (const p of this.pairs) {
      p.client.destroy();
      p.upstream?.destroy();
    }
    this.pairs.clear();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private accept(client: Socket): void {
    const pair: { client: Socket; upstream: Socket | undefined } = { client, upstream: undefined };
    this.pairs.add(pair);
    const drop = () => {
      client.destroy();
      pair.upstream?.destroy();
      this.pairs.delete(pair);
    };
    client.on("error", drop).on("close", drop);
    if (this.mode === "blackhole") {
      client.pause();
      return;
    }
    const upstream = connect(this.targetPort, this.targetHost);
    pair.upstream = upstream;
    upstream.on("error", drop).on("close", drop);
    upstream.pipe(client);
    if (this.mode === "hold") client.pause();
    else client.pipe(upstream);
  }
}
