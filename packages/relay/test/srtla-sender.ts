import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';

/**
 * A minimal bonding sender for tests, written from the SRTLA wire format: it takes an SRT
 * caller's datagrams on a local UDP port and spreads them round-robin over one UDP socket per
 * local source address, after registering those sockets as one connection group.
 */
export interface TestSrtlaSender {
  /** The local port an SRT caller (ffmpeg) publishes to. */
  readonly port: number;
  /** Datagrams sent and received per link, in the order of the source addresses. */
  links(): LinkCounts[];
  /** The link from `source` dies like a modem losing signal: it sends and answers nothing more. */
  drop(source: string): Promise<void>;
  close(): Promise<void>;
}

export interface LinkCounts {
  source: string;
  up: boolean;
  /** SRT datagrams of the caller this link carried. */
  srt: number;
  received: number;
  srtlaAcks: number;
}

interface Link extends LinkCounts {
  socket: dgram.Socket;
  dropped: boolean;
}

const u16 = (type: number, rest: Buffer = Buffer.alloc(0)): Buffer => {
  const head = Buffer.alloc(2);
  head.writeUInt16BE(type);
  return Buffer.concat([head, rest]);
};

export async function startTestSrtlaSender(opts: {
  sources: string[];
  receiver: { host: string; port: number };
}): Promise<TestSrtlaSender> {
  const ownId = randomBytes(256);
  let groupId: Buffer | null = null;
  let caller: { address: string; port: number } | null = null;
  let next = 0;

  const bind = (s: dgram.Socket, address: string) =>
    new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind(0, address, () => {
        s.off('error', reject);
        resolve();
      });
    });

  const local = dgram.createSocket('udp4');
  await bind(local, '127.0.0.1');

  const links: Link[] = [];
  for (const source of opts.sources) {
    const socket = dgram.createSocket('udp4');
    await bind(socket, source);
    links.push({ source, socket, up: false, dropped: false, srt: 0, received: 0, srtlaAcks: 0 });
  }
  const send = (l: Link, b: Buffer) => {
    if (!l.dropped) l.socket.send(b, opts.receiver.port, opts.receiver.host);
  };

  for (const l of links) {
    l.socket.on('message', (msg) => {
      l.received += 1;
      const type = msg.length >= 2 ? msg.readUInt16BE(0) : -1;
      if (type === 0x9201 && msg.length === 258) {
        // The group id must start with the first half of our own id.
        if (!msg.subarray(2, 130).equals(ownId.subarray(0, 128))) return;
        groupId = Buffer.from(msg.subarray(2));
        for (const each of links) send(each, u16(0x9201, groupId));
      } else if (type === 0x9202) l.up = true;
      else if (type === 0x9100) l.srtlaAcks += 1;
      else if (type >= 0x9000 && type <= 0x92ff) return;
      else if (caller) local.send(msg, caller.port, caller.address);
    });
  }

  local.on('message', (msg, rinfo) => {
    caller = { address: rinfo.address, port: rinfo.port };
    const up = links.filter((l) => l.up && !l.dropped);
    if (up.length === 0) return;
    const l = up[next++ % up.length] as Link;
    l.srt += 1;
    send(l, msg);
  });

  send(links[0] as Link, u16(0x9200, ownId));
  // REG1 or REG2 may be lost like any datagram: repeat until registered, then keep links alive.
  const timer = setInterval(() => {
    if (groupId === null) send(links[0] as Link, u16(0x9200, ownId));
    for (const l of links) {
      if (!l.up && groupId !== null) send(l, u16(0x9201, groupId));
      else if (l.up) send(l, u16(0x9000));
    }
  }, 500);

  return {
    port: local.address().port,
    links: () =>
      links.map(({ source, up, srt, received, srtlaAcks }) => ({ source, up, srt, received, srtlaAcks })),
    async drop(source: string) {
      const l = links.find((x) => x.source === source && !x.dropped);
      if (!l) throw new Error(`no live link from ${source}`);
      l.dropped = true;
      l.up = false;
      await new Promise<void>((r) => l.socket.close(() => r()));
    },
    async close() {
      clearInterval(timer);
      const open = [local, ...links.filter((l) => !l.dropped).map((l) => l.socket)];
      await Promise.all(open.map((s) => new Promise<void>((r) => s.close(() => r()))));
    },
  };
}
