// Builds and checks client messages with the core's own checksum (one extra core instance, no arena), so the
// simulator never carries a second implementation of the hash.
import { H, HEADER_SIZE, Operation, Req, Command, instantiateVsr, type VsrExports } from '../shared/vsr-abi.js';

const SCRATCH = 65536;

export class Codec {
  private core: VsrExports;
  private bytes: Uint8Array;
  private view: DataView;

  constructor(module: WebAssembly.Module, private cluster: bigint, private group: bigint) {
    const memory = new WebAssembly.Memory({ initial: 4, maximum: 4, shared: true });
    this.core = instantiateVsr(module, memory);
    this.bytes = new Uint8Array(memory.buffer);
    this.view = new DataView(memory.buffer);
  }

  request(client: number, session: bigint, request: number, operation: number, body: Uint8Array): Uint8Array {
    const m = SCRATCH;
    const size = HEADER_SIZE + body.length;
    this.bytes.fill(0, m, m + HEADER_SIZE);
    this.bytes.set(body, m + HEADER_SIZE);
    this.view.setBigUint64(m + H.cluster, this.cluster, true);
    this.view.setUint32(m + H.size, size, true);
    this.view.setUint8(m + H.command, Command.Request);
    this.view.setBigUint64(m + Req.client, BigInt(client), true);
    this.view.setBigUint64(m + Req.request, BigInt(request), true);
    this.view.setUint8(m + Req.operation, operation);
    this.view.setBigUint64(m + Req.session, operation === Operation.Register ? 0n : session, true);
    this.view.setBigUint64(m + Req.group, this.group, true);
    this.core.vsrSealMessage(m);
    return this.bytes.slice(m, m + size);
  }

  valid(message: Uint8Array): boolean {
    if (message.length > 65536) return false;
    this.bytes.set(message, SCRATCH);
    return this.core.vsrVerifyMessage(SCRATCH, message.length) !== 0;
  }
}
